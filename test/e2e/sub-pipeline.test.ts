/**
 * Sub-pipelines (`kind: pipeline.run`) end to end through the CLI, real workers and Glue over HTTP
 * to the local endpoint: a worker killed with -9 while sub-runs' stages run, and sub-runs read
 * with `sluice status`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetJobRunsCommand } from '@aws-sdk/client-glue';
import { readRunStatus } from '../../client/runs';
import { awsClients, createGlueJob, uniqueName } from '../support/aws';
import { sluice, spawnWorker } from '../support/cli';
import { gateway } from '../support/gateway';
import { temporalTestContext, waitFor, type TestContext } from '../support/temporal';

const DS = '2024-03-01';
let ctx: TestContext;
let env: NodeJS.ProcessEnv;
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-sub-'));

beforeAll(async () => {
  ctx = await temporalTestContext('e2e-sub');
  env = { SLUICE_TASK_QUEUE: ctx.settings.taskQueue };
});

afterAll(async () => {
  await ctx?.close();
});

async function glueRuns(job: string): Promise<{ state: string; args: Record<string, string> }[]> {
  const out = await awsClients().glue.send(new GetJobRunsCommand({ JobName: job, MaxResults: 200 }));
  return (out.JobRuns ?? []).map((r) => ({ state: r.JobRunState ?? '', args: r.Arguments ?? {} }));
}

/**
 * A parent with one sub-run (`orders`) and a sub-run per table (`tables`, forEach), each running
 * load-table: extract (Glue `extractJob`) then load (Glue `loadJob`).
 */
function pipelines(extractJob: string, loadJob: string): { name: string; sub: string; file: string } {
  const name = uniqueName('sub-parent');
  const sub = uniqueName('load-table');
  const fast = `defaults:
  poll: { initial: 200ms, max: 1s }
  timeout: { heartbeat: 2s }
  retry: { initialInterval: 200ms }`;
  writeFileSync(
    path.join(dir, `${sub}.yaml`),
    `name: ${sub}
${fast}
params:
  table: { type: string }
stages:
  - id: extract
    kind: glue.job
    params: { JobName: ${extractJob}, Arguments: { "--table": "{{ params.table }}" } }
  - id: load
    kind: glue.job
    dependsOn: [extract]
    params: { JobName: ${loadJob}, Arguments: { "--table": "{{ params.table }}" } }
`,
  );
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
${fast}
stages:
  - id: orders
    kind: pipeline.run
    params: { pipeline: ./${sub}.yaml, params: { table: orders } }
  - id: tables
    kind: pipeline.run
    forEach: { items: [customers, payments], concurrency: 2 }
    params: { pipeline: ./${sub}.yaml, params: { table: "{{ item }}" } }
`,
  );
  return { name, sub, file };
}

test('a worker killed with -9 mid-stage of sub-runs: another worker takes over, parent and sub-runs succeed with one Glue run per stage', async () => {
  const [extractJob, loadJob] = [
    await createGlueJob(uniqueName('extract'), 10),
    await createGlueJob(uniqueName('load'), 10),
  ];
  await gateway.setScenario({ service: 'glue', match: extractJob, durationMs: 3000, outcome: 'SUCCEEDED' });
  await gateway.setScenario({ service: 'glue', match: loadJob, durationMs: 1000, outcome: 'SUCCEEDED' });
  const { name, file } = pipelines(extractJob, loadJob);
  const doomed = await spawnWorker(env);
  const res = await sluice(['run', '-p', file, '-d', DS], env);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  // Every sub-run's extract has started and is being polled when the worker dies.
  await waitFor(
    'the three extract runs to be polled',
    async () =>
      (await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: extractJob })) >= 3 &&
      (await gateway.calls({ service: 'glue', operation: 'GetJobRun', resource: extractJob })) >= 3,
    60_000,
  );
  const exited = new Promise((r) => doomed.once('exit', r));
  doomed.kill('SIGKILL');
  await exited;
  await ctx.startWorker();
  await ctx.client.workflow.getHandle(`${name}/${DS}`).result();

  const status = await readRunStatus(ctx.client.workflow, `${name}/${DS}`);
  expect(status?.status).toBe('succeeded');
  expect(status?.stages.map((s) => [s.id, s.state])).toEqual([
    ['orders', 'succeeded'],
    ['tables', 'succeeded'],
  ]);
  let reattached = 0;
  for (const id of [`${name}/${DS}/orders`, `${name}/${DS}/tables[0]`, `${name}/${DS}/tables[1]`]) {
    const subRun = await readRunStatus(ctx.client.workflow, id);
    expect(subRun?.stages.map((s) => s.state)).toEqual(['succeeded', 'succeeded']);
    if (subRun?.stages[0]?.result?.reattached) reattached++;
  }
  // The crash hit running stages: the new worker reattached to their Glue runs instead of starting others.
  expect(reattached).toBeGreaterThanOrEqual(1);
  for (const job of [extractJob, loadJob]) {
    expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(3);
    const runs = await glueRuns(job);
    expect(runs.map((r) => r.args['--table']).sort()).toEqual(['customers', 'orders', 'payments']);
    expect(runs.every((r) => r.state === 'SUCCEEDED')).toBe(true);
  }
}, 180_000);
