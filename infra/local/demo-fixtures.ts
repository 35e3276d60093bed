/**
 * Creates, on the local endpoint, what the demo pipeline expects to exist in an AWS account (the
 * bucket, the Glue job and crawler, the Firehose stream, the EMR Serverless application, the
 * QuickSight data set, the Step Functions state machine), tells the gateway how long each job
 * runs and what the queries return (the local stack emulates the control plane: no data is
 * transformed), and writes examples/demo/pipeline.local.yaml with the ids AWS generated.
 * Idempotent: run it as often as you like.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateCrawlerCommand, CreateJobCommand } from '@aws-sdk/client-glue';
import { CreateApplicationCommand, ListApplicationsCommand } from '@aws-sdk/client-emr-serverless';
import { CreateDeliveryStreamCommand } from '@aws-sdk/client-firehose';
import { CreateDataSetCommand } from '@aws-sdk/client-quicksight';
import { CreateStateMachineCommand } from '@aws-sdk/client-sfn';
import { createAwsClients } from '../../activities/aws-clients';

const ROOT = path.resolve(__dirname, '..', '..');
const DEMO = path.join(ROOT, 'examples', 'demo');
const GATEWAY = process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566';
const ACCOUNT = '123456789012';

const EXISTS = new Set([
  'BucketAlreadyOwnedByYou',
  'BucketAlreadyExists',
  'AlreadyExistsException',
  'ResourceInUseException',
  'ResourceExistsException',
  'StateMachineAlreadyExists',
  'ConflictException',
]);

async function ignoreExisting(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!EXISTS.has((err as { name?: string }).name ?? '')) throw err;
  }
}

async function scenario(body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${GATEWAY}/_sluice/scenarios`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`gateway refused scenario ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
}

async function main(): Promise<void> {
  const aws = createAwsClients();
  await ignoreExisting(aws.s3.send(new CreateBucketCommand({ Bucket: 'sluice-demo-lake' })));
  await ignoreExisting(
    aws.firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: 'sluice-demo-clicks',
        ExtendedS3DestinationConfiguration: {
          BucketARN: 'arn:aws:s3:::sluice-demo-lake',
          RoleARN: `arn:aws:iam::${ACCOUNT}:role/sluice-demo-firehose`,
          Prefix: 'raw/clicks/',
        },
      }),
    ),
  );
  await ignoreExisting(
    aws.glue.send(
      new CreateJobCommand({
        Name: 'sales-daily-etl',
        Role: `arn:aws:iam::${ACCOUNT}:role/sluice-demo-glue`,
        Command: {
          Name: 'glueetl',
          ScriptLocation: 's3://sluice-demo-lake/scripts/sales_daily_etl.py',
          PythonVersion: '3',
        },
        GlueVersion: '4.0',
        ExecutionProperty: { MaxConcurrentRuns: 10 },
      }),
    ),
  );
  await ignoreExisting(
    aws.glue.send(
      new CreateCrawlerCommand({
        Name: 'sluice-demo-raw',
        Role: `arn:aws:iam::${ACCOUNT}:role/sluice-demo-glue`,
        DatabaseName: 'raw',
        Targets: { S3Targets: [{ Path: 's3://sluice-demo-lake/raw/' }] },
      }),
    ),
  );
  const apps = await aws.emrServerless.send(new ListApplicationsCommand({}));
  const applicationId =
    apps.applications?.find((a) => a.name === 'sluice-demo-spark')?.id ??
    (
      await aws.emrServerless.send(
        new CreateApplicationCommand({ name: 'sluice-demo-spark', releaseLabel: 'emr-7.0.0', type: 'SPARK' }),
      )
    ).applicationId;
  if (!applicationId) throw new Error('EMR Serverless returned no application id');
  await ignoreExisting(
    aws.quicksight.send(
      new CreateDataSetCommand({
        AwsAccountId: ACCOUNT,
        DataSetId: 'sluice-demo-daily-sales',
        Name: 'Daily sales',
        ImportMode: 'SPICE',
        PhysicalTableMap: {},
      }),
    ),
  );
  await ignoreExisting(
    aws.sfn.send(
      new CreateStateMachineCommand({
        name: 'sluice-demo-publish',
        definition: JSON.stringify({ StartAt: 'Publish', States: { Publish: { Type: 'Pass', End: true } } }),
        roleArn: `arn:aws:iam::${ACCOUNT}:role/sluice-demo-sfn`,
      }),
    ),
  );

  // What the jobs do on the local stack: how long they run, and what the quality gate reads
  // (computed from the demo's order file, as the curated table would hold it).
  const orders = readFileSync(path.join(DEMO, 'data', 'orders.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  const revenue = orders.reduce((sum, line) => sum + Number(line.split(',')[2]), 0);
  await scenario({ service: 'glue-crawler', match: 'sluice-demo-raw', durationMs: 2000 });
  await scenario({ service: 'glue', match: 'sales-daily-etl', durationMs: 3000 });
  await scenario({ service: 'emr-serverless', match: 'sales-daily-enrich', durationMs: 3000 });
  await scenario({
    service: 'athena',
    match: 'FROM curated.orders',
    durationMs: 1000,
    result: { columns: ['orders', 'revenue'], rows: [[String(orders.length), revenue.toFixed(2)]] },
  });
  await scenario({ service: 'redshift-data', match: 'sales.daily_orders', durationMs: 1500 });
  await scenario({ service: 'quicksight', match: 'sluice-demo-daily-sales', durationMs: 1500 });
  await scenario({ service: 'sfn', match: 'sluice-demo-publish', durationMs: 1000 });

  const template = readFileSync(path.join(DEMO, 'pipeline.yaml'), 'utf8');
  writeFileSync(
    path.join(DEMO, 'pipeline.local.yaml'),
    template.replaceAll('${EMR_SERVERLESS_APPLICATION_ID}', applicationId),
  );
  aws.destroy();
  console.log(
    `demo fixtures ready (EMR Serverless application ${applicationId}); pipeline: examples/demo/pipeline.local.yaml`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
