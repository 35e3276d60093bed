/**
 * The pipeline language end to end through the CLI (bin/sluice.js), the real worker and the local
 * AWS endpoint: run parameters, a query's output passed into a Glue job's arguments, conditions,
 * a none_failed stage after a skipped one; bad params refused before anything starts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetJobRunCommand } from '@aws-sdk/client-glue';
import { awsClients, createBucket, createGlueJob, uniqueName } from '../support/aws';
import { sluice } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, cliEnv } from '../support/temporal';

const ctx = fileContext('e2e-language', { worker: {} });
const env = cliEnv(ctx);
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-language-'));

async function setup() {
  const name = uniqueName('lang');
  const [bucket, job, rebuild] = [await createBucket(), await createGlueJob(), await createGlueJob()];
  const table = uniqueName('orders');
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 300 });
  await gateway.setScenario({
    service: 'athena',
    match: table,
    durationMs: 200,
    result: { columns: ['n', 'region'], rows: [['42', 'eu']] },
  });
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
defaults:
  poll: { initial: 200ms, max: 1s }
params:
  region: { type: string, default: us-east-1, enum: [us-east-1, eu-west-1] }
  full_refresh: { type: boolean, default: false }
  prefix: { type: string, default: curated }
stages:
  - id: count
    kind: athena.query
    params: { QueryString: "SELECT count(*) AS n, region FROM ${table} WHERE region = '{{ params.region }}'" }
  - id: transform
    kind: glue.job
    dependsOn: [count]
    if: "{{ stages.count.output.firstValue }} > 0"
    params:
      JobName: ${job}
      Arguments:
        "--rows": "{{ stages.count.output.rows[0].n }}"
        "--region": "{{ params.region }}"
        "--query": "{{ stages.count.output.queryExecutionId }}"
  - id: rebuild
    kind: glue.job
    if: "{{ params.full_refresh }} == true"
    params: { JobName: ${rebuild} }
  - id: publish
    kind: s3.put
    dependsOn: [transform, rebuild]
    trigger: none_failed
    params: { Bucket: ${bucket}, Key: "{{ params.prefix }}/{{ ds }}/run.txt", Body: "{{ stages.transform.output.jobRunId }}" }
`,
  );
  return { name, bucket, job, rebuild, file };
}

test('run --param: the query’s output reaches the Glue job, false conditions skip, status shows the params', async () => {
  const { name, bucket, job, rebuild, file } = await setup();
  const res = await sluice(['run', '-p', file, '-d', '2024-03-01', '--param', 'region=eu-west-1', '--wait'], env);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  expect(res.stdout).toMatch(/✔ transform \(glue\.job\) succeeded/);
  expect(res.stdout).toContain(
    '– rebuild (glue.job) skipped: condition false: {{ params.full_refresh }} == true (value false)',
  );
  expect(res.stdout).toMatch(/✔ publish \(s3\.put\) succeeded/);

  const status = await sluice(['status', name, '2024-03-01', '--json'], env);
  const run = JSON.parse(status.stdout) as {
    params: Record<string, unknown>;
    stages: { id: string; jobId?: string; result?: { output?: Record<string, unknown> } }[];
  };
  expect(run.params).toEqual({ region: 'eu-west-1', full_refresh: false, prefix: 'curated' });
  const byId = Object.fromEntries(run.stages.map((s) => [s.id, s]));
  const jobRunId = byId.transform?.jobId as string;
  const queryId = byId.count?.jobId as string;

  // The Glue run was started with the rendered arguments: the query's value, the param, the query id.
  const glueRun = await awsClients().glue.send(new GetJobRunCommand({ JobName: job, RunId: jobRunId }));
  expect(glueRun.JobRun?.Arguments).toMatchObject({ '--rows': '42', '--region': 'eu-west-1', '--query': queryId });
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: rebuild })).toBe(0);
  const object = await awsClients().s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: 'curated/2024-03-01/run.txt' }),
  );
  expect(await object.Body?.transformToString()).toBe(jobRunId);

  const text = await sluice(['status', name, '2024-03-01'], env);
  expect(text.stdout).toContain('params: region=eu-west-1 full_refresh=false prefix=curated');
});

test('bad --param values exit 2 with every problem, the value received and the fix, and start nothing', async () => {
  const { name, file } = await setup();
  const res = await sluice(
    [
      'run',
      '-p',
      file,
      '-d',
      '2024-03-01',
      '--param',
      'region=ap-south-1',
      '--param',
      'full_refresh=yes',
      '--param',
      'regoin=x',
    ],
    env,
  );
  expect(res.code).toBe(2);
  expect(res.stderr).toContain(`the run parameters of ${name} is not a valid pipeline (3 problems)`);
  expect(res.stderr).toContain('--param full_refresh: expected true or false (received "yes")');
  expect(res.stderr).toContain('--param regoin: the pipeline declares no parameter of this name (received "x")');
  expect(res.stderr).toContain('Fix: did you mean region?');
  expect(res.stderr).toContain('--param region: expected one of "us-east-1", "eu-west-1" (received "ap-south-1")');
  expect((await ctx.client.workflow.count(`WorkflowId = "${name}/2024-03-01"`)).count).toBe(0);
});

test('backfill --param: every date runs with the params', async () => {
  const { name, file } = await setup();
  const res = await sluice(
    [
      'backfill',
      '-p',
      file,
      '--from',
      '2024-03-01',
      '--to',
      '2024-03-02',
      '--param',
      'prefix=gold',
      '--wait',
      '--json',
    ],
    env,
    120_000,
  );
  expect(res.code).toBe(0);
  for (const ds of ['2024-03-01', '2024-03-02']) {
    const status = await sluice(['status', name, ds, '--json'], env);
    expect((JSON.parse(status.stdout) as { params: unknown }).params).toEqual({
      region: 'us-east-1',
      full_refresh: false,
      prefix: 'gold',
    });
  }
});
