/**
 * Creates, on the local endpoint, what the demo pipeline expects to exist in an AWS account: the
 * bucket, the Glue job, and (the local gateway emulates the control plane only, no data is
 * transformed) how long the Glue run takes and what the Athena check returns. Idempotent.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateJobCommand } from '@aws-sdk/client-glue';
import { createAwsClients, destroyAwsClients } from '../../activities/aws-clients';

const ROOT = path.resolve(__dirname, '..', '..');
const GATEWAY = process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566';

function alreadyThere(err: unknown): boolean {
  const name = (err as { name?: string }).name ?? '';
  return ['BucketAlreadyOwnedByYou', 'BucketAlreadyExists', 'AlreadyExistsException', 'IdempotentParameterMismatchException'].includes(name);
}

async function ignoreExisting(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!alreadyThere(err)) throw err;
  }
}

async function scenario(body: unknown): Promise<void> {
  const res = await fetch(`${GATEWAY}/_sluice/scenarios`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`gateway refused scenario: ${res.status} ${await res.text()}`);
}

async function main(): Promise<void> {
  const aws = createAwsClients();
  await ignoreExisting(aws.s3.send(new CreateBucketCommand({ Bucket: 'sluice-demo-lake' })));
  await ignoreExisting(
    aws.glue.send(
      new CreateJobCommand({
        Name: 'sales-daily-etl',
        Role: 'arn:aws:iam::123456789012:role/sluice-demo-glue',
        Command: { Name: 'glueetl', ScriptLocation: 's3://sluice-demo-lake/scripts/sales_daily_etl.py', PythonVersion: '3' },
        GlueVersion: '4.0',
        ExecutionProperty: { MaxConcurrentRuns: 3 },
      }),
    ),
  );
  // What the check query would return once Glue had curated the demo file.
  const rows = readFileSync(path.join(ROOT, 'examples/demo/data/orders.csv'), 'utf8').trim().split('\n').slice(1);
  const revenue = rows.reduce((sum, line) => sum + Number(line.split(',')[2]), 0);
  await scenario({ service: 'glue', match: 'sales-daily-etl', durationMs: 4000, outcome: 'SUCCEEDED' });
  await scenario({ service: 'athena', match: 'FROM curated.orders', durationMs: 1500, outcome: 'SUCCEEDED', result: { columns: ['orders', 'revenue'], rows: [[String(rows.length), revenue.toFixed(2)]] } });
  destroyAwsClients(aws);
  console.log('demo fixtures ready: bucket sluice-demo-lake, Glue job sales-daily-etl');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
