/**
 * Pools in their awkward windows, end to end (real worker, real server, Glue over HTTP on the local
 * gateway): two backfills sharing one job, a daily run started while a backfill holds the pool, a
 * backfill cancelled while its dates wait, a holder terminated (no cleanup code runs), and a worker
 * killed with -9 while its stage holds the slot. In none of them may a slot stay held.
 */
import { GetJobRunsCommand } from '@aws-sdk/client-glue';
import { startBackfill, steer, waitForBackfill } from '../../client/backfills';
import { describePool, setPoolSlots } from '../../client/pools';
import { queryStatus, startRun, waitForRun } from '../../client/runs';
import { definePipeline, type PipelineDefinition } from '../../common/pipeline';
import {
  POOL_ASK_UPDATE,
  POOL_GIVE_BACK_UPDATE,
  POOL_SIGNALS,
  poolWorkflowId,
  type PoolView,
} from '../../common/pools';
import { awsClients, createGlueJob, glueRunPeak, glueRunStates, uniqueName } from '../support/aws';
import { spawnWorker } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, waitFor, temporalTestContext } from '../support/temporal';
import { fastDefaults } from '../support/timing';

const ctx = fileContext('e2e-pool-win');

const fast = fastDefaults({
  poll: { max: '500ms' },
  timeout: { heartbeat: '2s' },
  retry: { initialInterval: '200ms' },
});

function gluePipeline(prefix: string, job: string, pool?: string): PipelineDefinition {
  return definePipeline({
    name: uniqueName(prefix),
    defaults: fast,
    stages: [
      {
        id: 'transform',
        kind: 'glue.job',
        params: { JobName: job, Arguments: { '--ds': '{{ ds }}' } },
        ...(pool ? { pool } : {}),
      },
    ],
  });
}

/** The job's runs in the order AWS started them: their `--ds` and state. */
async function startOrder(job: string): Promise<{ ds: string; state: string }[]> {
  const out = await awsClients().glue.send(new GetJobRunsCommand({ JobName: job, MaxResults: 200 }));
  return (out.JobRuns ?? [])
    .sort((a, b) => a.StartedOn!.getTime() - b.StartedOn!.getTime())
    .map((r) => ({ ds: r.Arguments?.['--ds'] ?? '', state: r.JobRunState! }));
}

const glueRuns = async (job: string) =>
  (await awsClients().glue.send(new GetJobRunsCommand({ JobName: job, MaxResults: 10 }))).JobRuns ?? [];

const pool = (name: string): Promise<PoolView | undefined> => describePool(ctx.client, ctx.settings, name);

async function poolDrained(name: string): Promise<PoolView> {
  let last: PoolView | undefined;
  try {
    // Within one sweep of the pool's holders (15 s) at most, and a margin for a loaded machine.
    return await waitFor(
      `pool ${name} to hold and queue nothing`,
      async () => {
        last = await pool(name);
        return last && last.held === 0 && last.waiting === 0 ? last : undefined;
      },
      60_000,
    );
  } catch (err) {
    throw new Error(`${String(err)}; the pool: ${JSON.stringify(last)}`);
  }
}

/** The states of the job's runs once its one run has ended: a cancel started one job, and stopped it. */
const onlyRunEnded = (job: string): Promise<string[]> =>
  waitFor('the held job to be stopped', async () => {
    const states = await glueRunStates(job);
    return states.length === 1 && states[0] !== 'RUNNING' && states[0] !== 'STOPPING' ? states : undefined;
  });

/** A pool of one slot set by hand, and one Glue job per duration (3 runs allowed: only the pool limits them). */
async function poolOfOne<D extends number[]>(
  prefix: string,
  ...durationsMs: D
): Promise<{ name: string; jobs: { [K in keyof D]: string } }> {
  const name = uniqueName(prefix);
  await setPoolSlots(ctx.client, ctx.settings, name, 1);
  const jobs: string[] = [];
  for (const durationMs of durationsMs) {
    const job = await createGlueJob(undefined, 3);
    await gateway.setScenario({ service: 'glue', match: job, durationMs });
    jobs.push(job);
  }
  return { name, jobs: jobs as { [K in keyof D]: string } };
}

/** A run of a one-stage Glue pipeline on `pool`, for 2024-01-01. */
const runOn = (prefix: string, job: string, pool: string) =>
  startRun(ctx.client, ctx.settings, gluePipeline(prefix, job, pool), '2024-01-01', { generation: 0 });

/** Cancels the run and checks what a cancel while waiting must leave: the one grant, its job stopped, nothing held. */
async function cancelledWithOneGrant(
  handle: Awaited<ReturnType<typeof runOn>>['handle'],
  name: string,
  job: string,
): Promise<void> {
  await handle.cancel();
  expect((await waitForRun(handle)).ok).toBe(false);
  expect((await poolDrained(name)).stats.granted).toBe(1);
  expect(await onlyRunEnded(job)).toEqual(['STOPPED']);
}

async function expectSucceeded(...handles: Awaited<ReturnType<typeof runOn>>['handle'][]): Promise<void> {
  for (const h of handles) {
    const outcome = await waitForRun(h);
    if (!outcome.ok) throw new Error(outcome.message);
  }
}

describe('with a worker in this process', () => {
  beforeAll(async () => {
    await ctx.startWorker();
  });

  test('two backfills over one Glue job (2 runs allowed) share its pool fairly: all succeed, never more than 2 at AWS, interleaved', async () => {
    const job = await createGlueJob(undefined, 2);
    await gateway.setScenario({ service: 'glue', match: job, durationMs: 1500 });
    const a = gluePipeline('pool-fair-a', job);
    const b = gluePipeline('pool-fair-b', job);
    const range = { from: '2024-01-01', to: '2024-01-06', concurrency: 5, only: 'all', order: 'oldest' } as const;
    const first = await startBackfill(ctx.client, ctx.settings, a, range);
    await waitFor('the first backfill to hold the pool', async () => ((await pool(`glue:${job}`))?.held ?? 0) >= 2);
    const second = await startBackfill(ctx.client, ctx.settings, b, range);
    const [oa, ob] = await Promise.all([waitForBackfill(first.handle), waitForBackfill(second.handle)]);
    expect([oa.status, ob.status]).toEqual(['succeeded', 'succeeded']);
    expect((await glueRunPeak(job)).peak).toBeLessThanOrEqual(2);
    const order = await startOrder(job);
    expect(order).toHaveLength(12);
    expect(order.every((r) => r.state === 'SUCCEEDED')).toBe(true);
    // Fairness: once the second backfill asks, the pool grants it before the first's next dates, so
    // the first cannot take all of the first 6 grants (first come, first served would give it them).
    // Both use the same dates: tell them apart by each run's own grant time.
    const granted = async (p: PipelineDefinition): Promise<number[]> => {
      const times: number[] = [];
      for (let d = 1; d <= 6; d++) {
        const st = (await ctx.client.workflow.getHandle(`${p.name}/2024-01-0${d}`).result()) as {
          stages: { pool?: { grantedAt?: string } }[];
        };
        times.push(Date.parse(st.stages[0]?.pool?.grantedAt ?? ''));
      }
      return times;
    };
    const [ta, tb] = await Promise.all([granted(a), granted(b)]);
    const sixth = [...ta, ...tb].sort((x, y) => x - y)[5]!;
    expect(tb.filter((t) => t <= sixth).length).toBeGreaterThanOrEqual(2);
    await poolDrained(`glue:${job}`);
  }, 120_000);

  test("a daily run started while a 200-date backfill holds a pool of 1 starts its stage before that backfill's next dates", async () => {
    const name = uniqueName('pool-prio');
    await setPoolSlots(ctx.client, ctx.settings, name, 1);
    const job = await createGlueJob(undefined, 5);
    // Jobs of 3 s: the daily run's ask reaches the pool within one job even on a loaded machine.
    await gateway.setScenario({ service: 'glue', match: job, durationMs: 3000 });
    const pipeline = gluePipeline('pool-prio', job, name);
    const bf = await startBackfill(ctx.client, ctx.settings, pipeline, {
      from: '2024-01-01',
      to: '2024-07-18',
      concurrency: 4,
      only: 'all',
      order: 'oldest',
    });
    await waitFor('the backfill to hold the pool and queue behind it', async () => {
      const v = await pool(name);
      return v && v.held === 1 && v.waiting >= 3;
    });
    const daily = await startRun(ctx.client, ctx.settings, pipeline, '2024-12-01', { generation: 0 });
    const outcome = await waitForRun(daily.handle);
    if (!outcome.ok) throw new Error(outcome.message);
    const order = (await startOrder(job)).map((r) => r.ds);
    // At most the holder and one date granted in the instant the run asked went before it; the
    // backfill's next dates (priority 4) waited behind the daily run (priority 3).
    expect(order.indexOf('2024-12-01')).toBeGreaterThanOrEqual(1);
    expect(order.indexOf('2024-12-01')).toBeLessThanOrEqual(2);
    const v = await pool(name);
    expect(v?.waiters.every((w) => w.priority === 4 && w.fairnessKey === bf.workflowId)).toBe(true);
    await steer.cancel(bf.handle);
    expect((await waitForBackfill(bf.handle)).status).toBe('cancelled');
    expect((await poolDrained(name)).slots).toBe(1);
  }, 120_000);

  test('a backfill cancelled while its dates wait on a pool: its holder stops its job, nothing stays held or queued', async () => {
    const name = uniqueName('pool-cancel');
    await setPoolSlots(ctx.client, ctx.settings, name, 1);
    const job = await createGlueJob(undefined, 5);
    await gateway.setScenario({ service: 'glue', match: job, durationMs: 60_000 });
    const pipeline = gluePipeline('pool-cancel', job, name);
    const bf = await startBackfill(ctx.client, ctx.settings, pipeline, {
      from: '2024-01-01',
      to: '2024-01-03',
      concurrency: 3,
      only: 'all',
      order: 'oldest',
    });
    await waitFor('one date holding the pool, two waiting', async () => {
      const v = await pool(name);
      return v && v.held === 1 && v.waiting === 2 && (await glueRunStates(job)).includes('RUNNING');
    });
    await steer.cancel(bf.handle);
    expect((await waitForBackfill(bf.handle)).status).toBe('cancelled');
    const v = await poolDrained(name);
    expect(v.stats.granted).toBe(1);
    expect(await onlyRunEnded(job)).toEqual(['STOPPED']);
  }, 120_000);

  test("a forEach stage cancelled while its items wait for the pool: the holding item's job is stopped, the waiting ones never start, no slot stays held", async () => {
    const {
      name,
      jobs: [job],
    } = await poolOfOne('pool-each-cancel', 60_000);
    const pipeline = definePipeline({
      name: uniqueName('pool-each-cancel'),
      defaults: fast,
      stages: [
        {
          id: 'each',
          kind: 'glue.job',
          forEach: { items: ['a', 'b', 'c'], concurrency: 3 },
          params: { JobName: job, Arguments: { '--part': '{{ item }}' } },
          pool: name,
        },
      ],
    });
    const run = await startRun(ctx.client, ctx.settings, pipeline, '2024-01-01', { generation: 0 });
    await waitFor('one item holding the pool, two waiting', async () => {
      const v = await pool(name);
      return v && v.held === 1 && v.waiting === 2 && (await glueRunStates(job)).includes('RUNNING');
    });
    // The chunk says its items wait for the pool, apart from the one running.
    const chunk = ctx.client.workflow.getHandle(`${run.handle.workflowId}/each/g0/chunk-0`);
    const details = await waitFor('the chunk to show its waiting items', async () => {
      const meta = await chunk.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      return meta.currentDetails?.includes(`2 waiting for pool ${name}`) && meta.currentDetails;
    });
    expect(details).toContain('1 running');
    await cancelledWithOneGrant(run.handle, name, job);
  }, 120_000);

  test('a run cancelled while one of its stages holds a pool of 1 and another waits for it: the waiting stage withdraws first, so the slot the stop frees is never granted to it', async () => {
    const {
      name,
      jobs: [job],
    } = await poolOfOne('pool-two-cancel', 60_000);
    const stage = (id: string) => ({
      id,
      kind: 'glue.job' as const,
      params: { JobName: job, Arguments: { '--side': id } },
      pool: name,
    });
    const pipeline = definePipeline({
      name: uniqueName('pool-two-cancel'),
      defaults: fast,
      stages: [stage('left'), stage('right')],
    });
    const run = await startRun(ctx.client, ctx.settings, pipeline, '2024-01-01', { generation: 0 });
    await waitFor('one stage holding the pool, the other waiting', async () => {
      const v = await pool(name);
      return v && v.held === 1 && v.waiting === 1 && (await glueRunStates(job)).includes('RUNNING');
    });
    // Without the withdrawal first, the stop freed the slot and the pool granted it to the waiting stage.
    await cancelledWithOneGrant(run.handle, name, job);
    const states = (await queryStatus(run.handle))?.stages.map((s) => s.state).sort();
    expect(states).toEqual(['cancelled', 'cancelled']);
  }, 120_000);

  test('sluice pool set takes effect at once for stages already waiting: raised from 1 to 3, the two waiting start', async () => {
    const name = uniqueName('pool-raise');
    await setPoolSlots(ctx.client, ctx.settings, name, 1);
    const job = await createGlueJob(undefined, 5);
    await gateway.setScenario({ service: 'glue', match: job, durationMs: 60_000 });
    const bf = await startBackfill(ctx.client, ctx.settings, gluePipeline('pool-raise', job, name), {
      from: '2024-01-01',
      to: '2024-01-03',
      concurrency: 3,
      only: 'all',
      order: 'oldest',
    });
    await waitFor('one holding, two waiting', async () => {
      const v = await pool(name);
      return v?.held === 1 && v.waiting === 2;
    });
    await setPoolSlots(ctx.client, ctx.settings, name, 3);
    const v = await waitFor('all three holding', async () => {
      const p = await pool(name);
      return p?.held === 3 && p.waiting === 0 ? p : undefined;
    });
    expect(v).toMatchObject({ slots: 3, source: 'sluice pool set' });
    await waitFor(
      'three runs at AWS',
      async () => (await glueRunStates(job)).filter((st) => st === 'RUNNING').length === 3,
    );
    await steer.cancel(bf.handle);
    expect((await waitForBackfill(bf.handle)).status).toBe('cancelled');
    await poolDrained(name);
  }, 120_000);

  test('a holder terminated (no cleanup runs) gives its slot back: the pool finds its run closed and grants the next', async () => {
    const {
      name,
      jobs: [slow, quick],
    } = await poolOfOne('pool-term', 120_000, 500);
    const holder = await runOn('pool-term-a', slow, name);
    await waitFor('the first run to hold the pool', async () => (await pool(name))?.held === 1);
    const waiter = await runOn('pool-term-b', quick, name);
    await waitFor('the second run to wait', async () => (await pool(name))?.waiting === 1);
    // What people see of the waiting stage: in the run's UI details and its status (`sluice status`,
    // --json), with the pool's counts once it has waited a few seconds; not counted as running.
    const details = await waitFor('the waiting line with counts', async () => {
      const meta = await waiter.handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      return meta.currentDetails?.includes(`waiting for pool ${name} (1/1 held)`) && meta.currentDetails;
    });
    expect(details).toContain('⧗');
    const waiting = (await queryStatus(waiter.handle))?.stages[0];
    expect(waiting?.pool).toMatchObject({ name, slots: 1, held: 1 });
    expect(waiting?.pool?.grantedAt).toBeUndefined();
    expect(waiting?.pool?.requestedAt).toBeDefined();
    await holder.handle.terminate('test: a holder that dies without cleanup');
    await expectSucceeded(waiter.handle);
    const v = await poolDrained(name);
    expect(v.stats.reclaimed).toBe(1);
    expect(v.stats.granted).toBe(2);
  }, 120_000);

  test('a free slot comes in the answer to the ask (no grant signal, no extra workflow task); a stage that waits hears its grant by signal', async () => {
    const {
      name,
      jobs: [first, second],
    } = await poolOfOne('pool-answer', 3_000, 300);
    const a = await runOn('pool-answer-a', first, name);
    await waitFor('the first run to hold the pool', async () => (await pool(name))?.held === 1);
    const b = await runOn('pool-answer-b', second, name);
    await expectSucceeded(a.handle, b.handle);
    const signals = async (h: (typeof a)['handle']): Promise<string[]> =>
      ((await h.fetchHistory()).events ?? []).flatMap((e) =>
        e.workflowExecutionSignaledEventAttributes ? [e.workflowExecutionSignaledEventAttributes.signalName ?? ''] : [],
      );
    // The pool had its slot free for the first: granted in the answer, nothing signalled back.
    expect(await signals(a.handle)).not.toContain(POOL_SIGNALS.granted);
    // The second waited for the first's job: its grant came by signal once the slot was given back.
    expect(await signals(b.handle)).toContain(POOL_SIGNALS.granted);
    const poolEvents = (
      await ctx.client.workflow.getHandle(poolWorkflowId(ctx.settings.taskQueue, name)).fetchHistory()
    ).events;
    const updates = (poolEvents ?? []).flatMap((e) =>
      e.workflowExecutionUpdateAcceptedEventAttributes
        ? [e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input?.name]
        : [],
    );
    // Two asks, and each stage's activity gave its slot back by update.
    expect(updates.filter((n) => n === POOL_ASK_UPDATE)).toHaveLength(2);
    expect(updates.filter((n) => n === POOL_GIVE_BACK_UPDATE)).toHaveLength(2);
    const v = await poolDrained(name);
    expect(v.stats).toMatchObject({ granted: 2, reclaimed: 0 });
    // One at a time: the second's job started after the first's had ended.
    const [ra, rb] = await Promise.all([glueRuns(first), glueRuns(second)]);
    expect(rb[0]!.StartedOn!.getTime()).toBeGreaterThanOrEqual(ra[0]!.CompletedOn!.getTime());
  }, 120_000);

  test('a waiter terminated before its turn: its grant cannot be delivered, so the slot goes to the next waiter', async () => {
    const {
      name,
      jobs: [first, quick],
    } = await poolOfOne('pool-gone', 4_000, 300);
    const holder = await runOn('pool-gone-a', first, name);
    await waitFor('the first run to hold the pool', async () => (await pool(name))?.held === 1);
    const gone = await runOn('pool-gone-b', quick, name);
    await waitFor('the second run to wait', async () => (await pool(name))?.waiting === 1);
    const next = await runOn('pool-gone-c', quick, name);
    await waitFor('the third run to wait', async () => (await pool(name))?.waiting === 2);
    await gone.handle.terminate('test: a waiter that dies before its grant');
    await expectSucceeded(holder.handle, next.handle);
    const v = await poolDrained(name);
    // Granted to the first, to the terminated run (undeliverable: reclaimed), then to the third.
    expect(v.stats).toMatchObject({ granted: 3, reclaimed: 1 });
    expect(await glueRunStates(quick)).toEqual(['SUCCEEDED']);
  }, 120_000);
});

test('a worker killed with -9 while its stage holds the pool of a Glue job (1 run allowed): both dates run once each, one at a time, and the slot comes back', async () => {
  const job = await createGlueJob(undefined, 1);
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 5000 });
  const pipeline = gluePipeline('pool-kill', job);
  const crashCtx = await temporalTestContext('e2e-pool-kill');
  try {
    const doomed = await spawnWorker({ SLUICE_TASK_QUEUE: crashCtx.settings.taskQueue });
    const runs = await Promise.all(
      ['2024-01-01', '2024-01-02'].map((ds) =>
        startRun(crashCtx.client, crashCtx.settings, pipeline, ds, { generation: 0 }),
      ),
    );
    const poolName = `glue:${job}`;
    await waitFor('one date to hold the pool and poll its run, the other to wait', async () => {
      const v = await describePool(crashCtx.client, crashCtx.settings, poolName);
      return (
        v?.held === 1 &&
        v.waiting === 1 &&
        (await gateway.calls({ service: 'glue', operation: 'GetJobRun', resource: job })) >= 2
      );
    });
    const exited = new Promise((r) => doomed.once('exit', r));
    doomed.kill('SIGKILL');
    await exited;
    await crashCtx.startWorker();
    for (const r of runs) {
      const outcome = await waitForRun(r.handle);
      if (!outcome.ok) throw new Error(outcome.message);
    }
    expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(2);
    expect(await glueRunStates(job)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect((await glueRunPeak(job)).peak).toBe(1);
    const v = await waitFor('the pool to hold nothing', async () => {
      const p = await describePool(crashCtx.client, crashCtx.settings, poolName);
      return p && p.held === 0 && p.waiting === 0 ? p : undefined;
    });
    expect(v.stats.granted).toBe(2);
  } finally {
    await crashCtx.close();
  }
}, 120_000);
