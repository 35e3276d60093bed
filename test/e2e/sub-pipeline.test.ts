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
import { fileContext, cliEnv, waitFor } from '../support/temporal';

const DS = '2024-03-01';
const ctx = fileContext('e2e-sub');
const env = cliEnv(ctx);
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-sub-'));

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

test('sluice status shows a run’s sub-runs, and a sub-run by --stage or by its workflow ID; sluice runs lists them by date', async () => {
  const [extractJob, loadJob] = [await createGlueJob(), await createGlueJob()];
  await gateway.setScenario({ service: 'glue', match: extractJob, durationMs: 200, outcome: 'SUCCEEDED' });
  await gateway.setScenario({ service: 'glue', match: loadJob, durationMs: 200, outcome: 'SUCCEEDED' });
  const { name, sub, file } = pipelines(extractJob, loadJob);
  await ctx.startWorker();
  const res = await sluice(['run', '-p', file, '-d', DS, '--wait'], env);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const run = `${name}/${DS}`;

  // The parent lists each sub-run under its stage (visibility may lag a moment behind the close).
  const parent = await waitFor(
    'the three sub-runs listed as succeeded',
    async () => {
      const out = await sluice(['status', name, DS], env);
      return (out.stdout.match(/↳ .*: succeeded/g) ?? []).length === 3 ? out : undefined;
    },
    30_000,
    500,
  );
  expect(parent.code).toBe(0);
  const lines = parent.stdout.split('\n');
  const at = (s: string) => lines.findIndex((l) => l.includes(s));
  expect(lines[at('orders (pipeline.run) succeeded') + 1]).toBe(`      ↳ orders: succeeded (${sub}, ${run}/orders)`);
  expect(lines.slice(at('tables (pipeline.run) succeeded') + 1, at('tables (pipeline.run) succeeded') + 3)).toEqual([
    `      ↳ tables[0]: succeeded (${sub}, ${run}/tables[0])`,
    `      ↳ tables[1]: succeeded (${sub}, ${run}/tables[1])`,
  ]);
  expect(parent.stdout).toContain(`A sub-run's stages: sluice status ${name} ${DS} --stage orders`);
  const json = JSON.parse((await sluice(['status', name, DS, '--json'], env)).stdout) as {
    subRuns: { stage: string; workflowId: string; pipeline: string; status: string }[];
  };
  expect(json.subRuns.map((r) => [r.stage, r.workflowId, r.pipeline, r.status])).toEqual([
    ['orders', `${run}/orders`, sub, 'Succeeded'],
    ['tables[0]', `${run}/tables[0]`, sub, 'Succeeded'],
    ['tables[1]', `${run}/tables[1]`, sub, 'Succeeded'],
  ]);

  // One sub-run: by its stage and item, or by the workflow ID the parent printed.
  const item = await sluice(['status', name, DS, '--stage', 'tables[1]'], env);
  expect(item.stderr).toBe('');
  expect(item.code).toBe(0);
  expect(item.stdout).toContain(`${run}/tables[1]: succeeded (generation 0)`);
  expect(item.stdout).toContain(`sub-run of ${run} (stage tables[1]), pipeline ${sub}`);
  expect(item.stdout).toContain('params: table=payments');
  expect(item.stdout).toMatch(/✔ extract \(glue\.job\) succeeded/);
  expect(item.stdout).toMatch(/✔ load \(glue\.job\) succeeded/);
  const byId = await sluice(['status', `${run}/orders`, '--json'], env);
  expect(byId.code).toBe(0);
  expect(JSON.parse(byId.stdout)).toMatchObject({
    pipeline: sub,
    ds: DS,
    status: 'succeeded',
    params: { table: 'orders' },
    stages: [
      { id: 'extract', state: 'succeeded' },
      { id: 'load', state: 'succeeded' },
    ],
  });

  // The sub-pipeline's runs, by date (not the date read off the parent's workflow ID).
  const runs = JSON.parse((await sluice(['runs', '--pipeline', sub, '--json'], env)).stdout) as {
    ds: string;
    workflowId: string;
  }[];
  expect(runs.map((r) => [r.ds, r.workflowId]).sort()).toEqual([
    [DS, `${run}/orders`],
    [DS, `${run}/tables[0]`],
    [DS, `${run}/tables[1]`],
  ]);

  // Bad input: exit 2 with the fix, before (or instead of) reading anything.
  const missing = await sluice(['status', name, DS, '--stage', 'tables[7]'], env);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain(`no sub-run ${run}/tables[7] was found`);
  expect(missing.stderr).toContain(`sluice status ${name} ${DS}\` lists the sub-runs`);
  const bad = await sluice(['status', name, DS, '--stage', 'tables[one]'], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--stage must name a pipeline.run stage');
  const both = await sluice(['status', `${run}/orders`, DS], env);
  expect(both.code).toBe(2);
  expect(both.stderr).toContain(`sluice status ${run}/orders\` alone`);
});
