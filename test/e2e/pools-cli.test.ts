/**
 * `sluice pool set|list|describe|delete` and the pools of a pipeline through the CLI, as a data
 * engineer uses them (the real worker, server and gateway), with the bad input each refuses
 * (exit 2, nothing started), and `backfill --dry-run` bounding its wall time by a pool.
 */
import { createGlueJob, uniqueName } from '../support/aws';
import { pipelineDir, sluice } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, cliEnv } from '../support/temporal';

const ctx = fileContext('e2e-pools-cli', { worker: {} });
const env = cliEnv(ctx);
const { file } = pipelineDir('sluice-pools-cli-');

const fast = 'defaults: { poll: { initial: 200ms, max: 500ms }, retry: { maximumAttempts: 1 } }';

function gluePipeline(name: string, job: string, pool?: string): string {
  return file(
    name,
    `name: ${name}
${fast}
stages:
  - { id: transform, kind: glue.job, params: { JobName: ${job} }${pool ? `, pool: ${pool}` : ''} }
`,
  );
}

test('set, list, describe and delete a pool, in text and --json', async () => {
  const name = uniqueName('warehouse');
  const set = await sluice(['pool', 'set', name, '--slots', '3', '--json'], env);
  expect(set.stderr).toBe('');
  expect(set.code).toBe(0);
  expect(JSON.parse(set.stdout)).toEqual({ name, slots: 3 });

  const list = await sluice(['pool', 'list', '--json'], env);
  expect(list.code).toBe(0);
  const pools = JSON.parse(list.stdout) as { name: string; slots: number; source: string; held: number }[];
  expect(pools.find((p) => p.name === name)).toMatchObject({ slots: 3, source: 'sluice pool set', held: 0 });

  const text = await sluice(['pool', 'describe', name], env);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain(`${name}: 0/3 held, 0 waiting`);

  // A set takes effect at once: the next describe says 5.
  expect((await sluice(['pool', 'set', name, '--slots', '5'], env)).code).toBe(0);
  const described = JSON.parse((await sluice(['pool', 'describe', name, '--json'], env)).stdout) as { slots: number };
  expect(described.slots).toBe(5);

  const del = await sluice(['pool', 'delete', name, '--json'], env);
  expect(del.code).toBe(0);
  // Idle and set by nobody any more: the pool ends, and describing it says so with exit 2.
  let gone = await sluice(['pool', 'describe', name], env);
  for (let i = 0; i < 50 && gone.code !== 2; i++) gone = await sluice(['pool', 'describe', name], env);
  expect(gone.code).toBe(2);
  expect(gone.stderr).toContain(`no pool "${name}"`);
  expect(gone.stderr).toContain('sluice pool set');
});

test.each([
  ['0', 'expected a whole number of slots from 1 to 10000 (received "0")'],
  ['-1', 'expected a whole number of slots from 1 to 10000 (received "-1")'],
  ['abc', 'expected a whole number of slots from 1 to 10000 (received "abc")'],
  ['2.5', 'expected a whole number of slots from 1 to 10000 (received "2.5")'],
])('pool set --slots %s: exit 2, says the range, sets nothing', async (slots, message) => {
  const name = uniqueName('bad-slots');
  const res = await sluice(['pool', 'set', name, '--slots', slots], env);
  expect(res.code).toBe(2);
  expect(res.stderr).toContain(message);
  expect((await sluice(['pool', 'describe', name], env)).code).toBe(2);
});

test('a pool named in a pipeline that does not exist: validate and run exit 2 naming the pools that do, nothing starts', async () => {
  const job = await createGlueJob();
  const existing = uniqueName('known');
  expect((await sluice(['pool', 'set', existing, '--slots', '1'], env)).code).toBe(0);
  const name = uniqueName('typo');
  const f = gluePipeline(name, job, 'warehous');
  const validate = await sluice(['validate', '-p', f], env);
  expect(validate.code).toBe(2);
  expect(validate.stderr).toContain('stage transform: pool "warehous" does not exist');
  expect(validate.stderr).toContain(existing);
  expect(validate.stderr).toContain('sluice pool set warehous --slots N');
  const run = await sluice(['run', '-p', f, '-d', '2024-03-01'], env);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('pool "warehous" does not exist');
  const backfill = await sluice(['backfill', '-p', f, '--from', '2024-03-01', '--to', '2024-03-02'], env);
  expect(backfill.code).toBe(2);
  // Nothing started: no run of the pipeline exists.
  const list = await ctx.client.workflow.count(`SluicePipeline = '${name}'`);
  expect(list.count).toBe(0);
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(0);
});

test('pool on a kind that holds none, and a bad --priority: exit 2 with what to do', async () => {
  const name = uniqueName('nopool');
  const f = file(
    name,
    `name: ${name}
stages:
  - { id: landed, kind: s3.wait, params: { Bucket: b, Key: k }, pool: warehouse }
`,
  );
  const res = await sluice(['validate', '-p', f], env);
  expect(res.code).toBe(2);
  expect(res.stderr).toMatch(/pool.*s3\.wait/);
  const job = await createGlueJob();
  const prio = await sluice(
    ['run', '-p', gluePipeline(uniqueName('prio'), job), '-d', '2024-03-01', '--priority', '7'],
    env,
  );
  expect(prio.code).toBe(2);
  expect(prio.stderr).toContain('--priority: expected a whole number from 1 (first) to 5 (last) (received "7")');
});

test('backfill --dry-run bounds its wall time by a pool of fewer slots than the concurrency', async () => {
  const job = await createGlueJob(undefined, 5);
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 1000 });
  const poolName = uniqueName('narrow');
  expect((await sluice(['pool', 'set', poolName, '--slots', '1'], env)).code).toBe(0);
  const f = gluePipeline(uniqueName('planned'), job, poolName);
  const first = await sluice(['run', '-p', f, '-d', '2024-03-01', '--wait', '--json'], env);
  expect(first.code).toBe(0);
  const plan = await sluice(
    ['backfill', '-p', f, '--from', '2024-03-02', '--to', '2024-03-11', '--concurrency', '5', '--dry-run', '--json'],
    env,
  );
  expect(plan.code).toBe(0);
  const d = JSON.parse(plan.stdout) as {
    run: unknown[];
    estimate: {
      stages: { medianSeconds: number }[];
      wallSeconds: number;
      pools: { pool: string; slots: number }[];
      limitedBy: { pool: string; slots: number };
    };
  };
  expect(d.run).toHaveLength(10);
  expect(d.estimate.pools).toEqual([{ stage: 'transform', pool: poolName, slots: 1, source: 'sluice pool set' }]);
  expect(d.estimate.limitedBy).toEqual({ stage: 'transform', pool: poolName, slots: 1 });
  // 10 dates one at a time: 10 × the stage's median, not 2 waves of 5.
  expect(d.estimate.wallSeconds).toBeCloseTo(10 * d.estimate.stages[0]!.medianSeconds, 5);
  const text = await sluice(
    ['backfill', '-p', f, '--from', '2024-03-02', '--to', '2024-03-11', '--concurrency', '5', '--dry-run'],
    env,
  );
  expect(text.stdout).toContain(`bound by pool ${poolName} (1 slot) of stage transform`);
  expect(text.stdout).toContain(`pool ${poolName} (stage transform): 1 slot`);
});
