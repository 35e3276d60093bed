/**
 * forEach fan-out end to end: the CLI, real workers (one killed with -9), Temporal, and Glue and
 * S3 over HTTP to the local endpoint. Exactly one Glue run per item across a crash; a cancel stops
 * every running item's job; an S3 prefix fanned out in batches.
 */
import { GetJobRunsCommand } from '@aws-sdk/client-glue';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { readRunStatus } from '../../client/runs';
import { awsClients, createBucket, createGlueJob, uniqueName } from '../support/aws';
import { pipelineDir, sluice, spawnWorker } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, cliEnv, waitFor } from '../support/temporal';

const ctx = fileContext('e2e-fanout');
const env = cliEnv(ctx);
const { file } = pipelineDir('sluice-fanout-');
const DS = '2024-03-01';

async function glueRuns(job: string): Promise<{ id: string; state: string; args: Record<string, string> }[]> {
  const out = await awsClients().glue.send(new GetJobRunsCommand({ JobName: job, MaxResults: 200 }));
  return (out.JobRuns ?? []).map((r) => ({ id: r.Id ?? '', state: r.JobRunState ?? '', args: r.Arguments ?? {} }));
}

function gluePipeline(name: string, job: string, items: number, concurrency: number): string {
  return file(
    name,
    `name: ${name}
defaults:
  poll: { initial: 200ms, max: 1s }
  timeout: { heartbeat: 2s }
  retry: { initialInterval: 200ms }
stages:
  - id: transform
    kind: glue.job
    forEach:
      items: [${Array.from({ length: items }, (_, i) => `part-${i}`).join(', ')}]
      concurrency: ${concurrency}
    params:
      JobName: ${job}
      Arguments: { "--part": "{{ item }}", "--day": "{{ ds }}" }
`,
  );
}

test('a worker killed with -9 in the middle of a 50-item Glue fan-out: exactly 50 Glue runs, one per item', async () => {
  const name = uniqueName('fan-crash');
  const job = await createGlueJob(uniqueName('job'), 100);
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 1500, outcome: 'SUCCEEDED' });
  const doomed = await spawnWorker(env);
  const res = await sluice(['run', '-p', gluePipeline(name, job, 50, 10), '-d', DS], env);
  expect(res.code).toBe(0);
  await waitFor(
    'about 15 Glue runs to start',
    async () => (await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })) >= 15,
    60_000,
  );
  const exited = new Promise((r) => doomed.once('exit', r));
  doomed.kill('SIGKILL');
  await exited;
  await ctx.startWorker();
  const handle = ctx.client.workflow.getHandle(`${name}/${DS}`);
  await handle.result();

  const runs = await glueRuns(job);
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(50);
  expect(runs).toHaveLength(50);
  expect(new Set(runs.map((r) => r.args['--part'])).size).toBe(50);
  expect(runs.every((r) => r.state === 'SUCCEEDED')).toBe(true);
  const status = await sluice(['status', name, DS, '--json'], env);
  const stage = (JSON.parse(status.stdout) as { stages: { result?: { output?: unknown } }[] }).stages[0];
  expect(stage?.result?.output).toMatchObject({ items: 50, succeeded: 50, failed: 0 });
}, 180_000);

test('sluice cancel during a fan-out stops every running item’s Glue run and starts no more', async () => {
  const name = uniqueName('fan-cancel');
  const job = await createGlueJob(uniqueName('job'), 100);
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 600_000, outcome: 'SUCCEEDED' });
  await ctx.startWorker();
  const res = await sluice(['run', '-p', gluePipeline(name, job, 20, 5), '-d', DS], env);
  expect(res.code).toBe(0);
  await waitFor(
    '5 Glue runs running',
    async () => (await glueRuns(job)).filter((r) => r.state === 'RUNNING').length >= 5,
    60_000,
  );
  const cancel = await sluice(['cancel', name, DS], env, 60_000);
  expect(cancel.code).toBe(0);
  const runs = await glueRuns(job);
  expect(runs).toHaveLength(5);
  expect(runs.map((r) => r.state)).toEqual(Array(5).fill('STOPPED'));
  const status = await readRunStatus(ctx.client.workflow, `${name}/${DS}`);
  expect(status?.status).toBe('cancelled');
  expect(status?.stages[0]).toMatchObject({ state: 'cancelled', result: { output: { items: 20, cancelled: 5 } } });
}, 120_000);

test('forEach.s3 in batches: the keys under the prefix, {{ item }} a list of up to `batch` keys', async () => {
  const name = uniqueName('fan-s3');
  const [bucket, job] = [await createBucket(), await createGlueJob(uniqueName('job'), 10)];
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 200, outcome: 'SUCCEEDED' });
  const keys = Array.from({ length: 7 }, (_, i) => `raw/dt=${DS}/part-${i}.gz`);
  for (const Key of [...keys, `raw/dt=2024-03-02/other.gz`, `raw/dt=${DS}/`])
    await awsClients().s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: '' }));
  await ctx.startWorker();
  const res = await sluice(
    [
      'run',
      '--wait',
      '-d',
      DS,
      '-p',
      file(
        name,
        `name: ${name}
defaults: { poll: { initial: 200ms, max: 1s } }
stages:
  - id: decompress
    kind: glue.job
    forEach:
      s3: { Bucket: ${bucket}, Prefix: "raw/dt={{ ds }}/" }
      batch: 3
    params: { JobName: ${job}, Arguments: { "--keys": "keys={{ item }}", "--n": "{{ item_index }}" } }
  - id: report
    kind: glue.job
    dependsOn: [decompress]
    params: { JobName: ${job}, Arguments: { "--parts": "{{ stages.decompress.output.succeeded }}" } }
`,
      ),
    ],
    env,
  );
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  expect(res.stdout).toMatch(/✔ decompress \(glue\.job\) succeeded: 3 of 3 items succeeded/);
  const runs = await glueRuns(job);
  const batchesSeen = runs
    .filter((r) => r.args['--keys'])
    .sort((a, b) => Number(a.args['--n']) - Number(b.args['--n']))
    .map((r) => JSON.parse((r.args['--keys'] as string).slice('keys='.length)) as string[]);
  expect(batchesSeen).toEqual([keys.slice(0, 3), keys.slice(3, 6), keys.slice(6)]);
  expect(runs.find((r) => r.args['--parts'])?.args['--parts']).toBe('3');
});
