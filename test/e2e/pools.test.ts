/**
 * Pools end to end: the real worker and server, Glue over HTTP on the local gateway, which refuses
 * StartJobRun past a job's MaxConcurrentRuns as AWS does (ConcurrentRunsExceededException).
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createAwsClients } from '../../activities/aws-clients';
import { createPoolActivities, releaseSlotFromActivity } from '../../activities/pools';
import { backfillProgress, startBackfill, waitForBackfill } from '../../client/backfills';
import { describePool, setPoolSlots } from '../../client/pools';
import { startRun, waitForRun } from '../../client/runs';
import { definePipeline, type PipelineDefinition } from '../../common/pipeline';
import {
  POOL_ASK_UPDATE,
  POOL_GIVE_BACK_UPDATE,
  POOL_SIGNALS,
  poolWorkflowId,
  type PoolAnswer,
  type PoolRequest,
} from '../../common/pools';
import { WATCH_WORKFLOW_TYPE } from '../../common/stage-events';
import { createGlueJob, glueRunPeak, uniqueName } from '../support/aws';
import { gateway } from '../support/gateway';
import { fileContext, waitFor } from '../support/temporal';

const ctx = fileContext('e2e-pools', { worker: {} });

function gluePipeline(prefix: string, job: string): PipelineDefinition {
  return definePipeline({
    name: uniqueName(prefix),
    defaults: { poll: { initial: '200ms', max: '500ms' }, timeout: { heartbeat: '5s' } },
    stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job, Arguments: { '--ds': '{{ ds }}' } } }],
  });
}

test('a backfill at concurrency 10 over a Glue job allowing 2 runs: every date succeeds, never more than 2 at AWS, few starts refused', async () => {
  const job = await createGlueJob(undefined, 2);
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 4000 });
  const pipeline = gluePipeline('pool-bf', job);
  const t0 = Date.now();
  const started = await startBackfill(ctx.client, ctx.settings, pipeline, {
    from: '2024-01-01',
    to: '2024-01-20',
    concurrency: 10,
    only: 'all',
    order: 'oldest',
  });
  const outcome = await waitForBackfill(started.handle);
  const wallMs = Date.now() - t0;
  expect(outcome.status).toBe('succeeded');
  const progress = await backfillProgress(started.handle);
  expect(progress.counts).toMatchObject({ succeeded: 20, failed: 0 });
  const { runs, peak } = await glueRunPeak(job);
  expect(runs).toBe(20);
  expect(peak).toBeLessThanOrEqual(2);
  const starts = await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job });
  // The pool learned the job's 2 from GetJob: at most a few starts can be refused (here none).
  expect(starts - 20).toBeLessThanOrEqual(1);
  // The limit's own time is 20 × 4 s ÷ 2 = 40 s; a generous bound, the bench (bench:pools) measures it.
  expect(wallMs).toBeLessThan(3 * 40_000);
  // Each stage's activity gave its slot back by update, none by the release signal: a signal that
  // meets the pool's continue-as-new makes Temporal refuse it (the pool stalls replaying its history).
  const pool = ctx.client.workflow.getHandle(poolWorkflowId(ctx.settings.taskQueue, `glue:${job}`));
  expect(await updateNames(pool)).toEqual(expect.arrayContaining([POOL_GIVE_BACK_UPDATE]));
  expect((await updateNames(pool)).filter((n) => n === POOL_GIVE_BACK_UPDATE)).toHaveLength(20);
  expect(await signalNames(pool)).not.toContain(POOL_SIGNALS.release);
}, 240_000);

test("a forEach stage's items hold slots of their job's pool: 6 items at concurrency 6 over a job allowing 2, never more than 2 at AWS, none refused", async () => {
  const job = await createGlueJob(undefined, 2);
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 1500 });
  const pipeline = definePipeline({
    name: uniqueName('pool-each'),
    defaults: { poll: { initial: '200ms', max: '500ms' }, timeout: { heartbeat: '5s' } },
    stages: [
      {
        id: 'each',
        kind: 'glue.job',
        forEach: { items: ['a', 'b', 'c', 'd', 'e', 'f'], concurrency: 6 },
        params: { JobName: job, Arguments: { '--part': '{{ item }}' } },
      },
    ],
  });
  const run = await startRun(ctx.client, ctx.settings, pipeline, '2024-01-01', { generation: 0 });
  // The items hold the slots as items of the stage, asked from the fan-out's chunk workflow.
  const holders = await waitFor('items holding the pool', async () => {
    const v = await describePool(ctx.client, ctx.settings, `glue:${job}`);
    return v && v.held === 2 && v.waiting > 0 ? v.holders : undefined;
  });
  expect(holders.every((h) => /^each\[[0-5]\]$/.test(h.stage) && h.workflowId.includes('/chunk-'))).toBe(true);
  const outcome = await waitForRun(run.handle);
  if (!outcome.ok) throw new Error(outcome.message);
  const { runs, peak } = await glueRunPeak(job);
  expect(runs).toBe(6);
  expect(peak).toBeLessThanOrEqual(2);
  // Without the pool, 6 starts at once meet the job's 2: here every start was accepted first time.
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(6);
  const view = await describePool(ctx.client, ctx.settings, `glue:${job}`);
  expect(view).toMatchObject({ slots: 2, stats: { granted: 6 } });
}, 120_000);

/** The names of the signals in a workflow's history, in order. */
async function signalNames(handle: {
  fetchHistory(): Promise<{
    events?: { workflowExecutionSignaledEventAttributes?: { signalName?: string | null } | null }[] | null;
  }>;
}): Promise<(string | null | undefined)[]> {
  return ((await handle.fetchHistory()).events ?? []).flatMap((e) =>
    e.workflowExecutionSignaledEventAttributes ? [e.workflowExecutionSignaledEventAttributes.signalName] : [],
  );
}

/** The names of the updates a workflow accepted, in order. */
async function updateNames(handle: {
  fetchHistory(): Promise<{
    events?:
      | {
          workflowExecutionUpdateAcceptedEventAttributes?: {
            acceptedRequest?: { input?: { name?: string | null } | null } | null;
          } | null;
        }[]
      | null;
  }>;
}): Promise<(string | null | undefined)[]> {
  return ((await handle.fetchHistory()).events ?? []).flatMap((e) =>
    e.workflowExecutionUpdateAcceptedEventAttributes
      ? [e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input?.name]
      : [],
  );
}

/** The ask of a stage `transform` of a run that is not there (the tests look at the pool's side only). */
function transformAsk(name: string): PoolRequest {
  return {
    id: `${name}/run/transform`,
    workflowId: `${name}-run`,
    runId: 'run',
    pipeline: name,
    ds: '2024-01-01',
    stage: 'transform',
    priority: 3,
    fairnessKey: name,
    requestedAt: Date.now(),
  };
}

test('a pool that cannot take the ask or the give-back as an update (a worker of an older release) is told by signal, and the stage waits for its grant', async () => {
  const name = uniqueName('pool-old');
  const workflowId = poolWorkflowId(ctx.settings.taskQueue, name);
  // A workflow with no handler for the ask's update stands where the pool runs: the update is rejected.
  const standIn = await ctx.client.workflow.start(WATCH_WORKFLOW_TYPE, {
    workflowId,
    taskQueue: ctx.settings.taskQueue,
    args: [{ key: `glue.job/jr_${name}`, stage: 'stand-in for an older pool' }],
  });
  try {
    const env = new MockActivityEnvironment({ taskQueue: ctx.settings.taskQueue }, { client: ctx.client });
    const request = transformAsk(name);
    const answer = await env.run(createPoolActivities(createAwsClients()).askPool, { name, request });
    expect(answer).toEqual({ queued: true });
    expect(await signalNames(standIn)).toEqual([POOL_SIGNALS.acquire]);
    // Nor the give-back as an update: the slot goes back by the release signal.
    expect(await env.run(releaseSlotFromActivity, { pool: name, id: request.id })).toBe(true);
    expect(await signalNames(standIn)).toEqual([POOL_SIGNALS.acquire, POOL_SIGNALS.release]);
  } finally {
    await standIn.terminate('test done');
  }
});

test('a pool that does not answer in time (no worker serves it) is asked, and given the slot back, by signal: each within its deadline, the acquire and release signals in its history', async () => {
  const name = uniqueName('pool-slow');
  // A queue no worker polls: the pool is started but cannot take the update.
  const taskQueue = uniqueName('no-worker');
  const env = new MockActivityEnvironment({ taskQueue }, { client: ctx.client });
  const request = transformAsk(name);
  const t0 = Date.now();
  const answer = await env.run(createPoolActivities(createAwsClients()).askPool, { name, request });
  const tookMs = Date.now() - t0;
  const pool = ctx.client.workflow.getHandle(poolWorkflowId(taskQueue, name));
  try {
    expect(answer).toEqual({ queued: true });
    // Bounded by the ask's deadline (2 s), where an unanswered update would hold the stage's workflow task.
    expect(tookMs).toBeLessThan(10_000);
    expect(await signalNames(pool)).toEqual([POOL_SIGNALS.acquire]);
    // The stage's activity gives the slot back: the update goes unanswered, the release signal is sent.
    const t1 = Date.now();
    expect(await env.run(releaseSlotFromActivity, { pool: name, id: request.id })).toBe(true);
    expect(Date.now() - t1).toBeLessThan(10_000);
    expect(await signalNames(pool)).toEqual([POOL_SIGNALS.acquire, POOL_SIGNALS.release]);
  } finally {
    await pool.terminate('test done');
  }
});

test('a pool that continues as new carries its holders, waiters and counts: none lost, none granted twice, the waiter granted by the next run', async () => {
  const name = uniqueName('pool-can');
  await setPoolSlots(ctx.client, ctx.settings, name, 2);
  const poolId = poolWorkflowId(ctx.settings.taskQueue, name);
  const pool = ctx.client.workflow.getHandle(poolId);
  const firstRunId = (await pool.describe()).runId;
  // The asking "runs": one open workflow (the pool checks its holders' runs are open, and signals them).
  const asker = await ctx.client.workflow.start(WATCH_WORKFLOW_TYPE, {
    workflowId: `${name}-asker`,
    taskQueue: ctx.settings.taskQueue,
    args: [{ key: `glue.job/jr_${name}`, stage: 'stands in for the runs that ask' }],
  });
  const request = (id: string): PoolRequest => ({
    id: `${asker.workflowId}/${asker.firstExecutionRunId}/${id}`,
    workflowId: asker.workflowId,
    runId: asker.firstExecutionRunId,
    pipeline: name,
    ds: '2024-01-01',
    stage: id,
    priority: 3,
    fairnessKey: name,
    requestedAt: Date.now(),
  });
  const ask = (id: string) => pool.executeUpdate<PoolAnswer, [PoolRequest]>(POOL_ASK_UPDATE, { args: [request(id)] });
  /** Granted in the answer, or queued (the give-back before it not yet handled; the first task of a new run) and granted just after. */
  const askHeld = async (stage: string): Promise<void> => {
    if ('queued' in (await ask(stage)))
      await waitFor(`${stage} granted`, async () =>
        (await describePool(ctx.client, ctx.settings, name))?.holders.some((h) => h.stage === stage),
      );
  };
  try {
    expect(await ask('holder')).toHaveProperty('granted');
    // Enough asks and give-backs for the pool's history to pass its length and continue as new.
    const cycles = 150;
    for (let i = 0; i < cycles; i++) {
      await askHeld(`cycle-${i}`);
      await pool.signal(POOL_SIGNALS.release, { id: request(`cycle-${i}`).id });
    }
    await askHeld('second');
    expect(await ask('waiter')).toEqual({ queued: true });
    const carried = await waitFor('the pool to have continued as new', async () => {
      const d = await pool.describe();
      return d.runId !== firstRunId ? await describePool(ctx.client, ctx.settings, name) : undefined;
    });
    expect(carried?.holders.map((h) => h.stage).sort()).toEqual(['holder', 'second']);
    expect(carried?.waiters.map((w) => w.stage)).toEqual(['waiter']);
    expect(carried).toMatchObject({ slots: 2, source: 'sluice pool set', held: 2, waiting: 1 });
    expect(carried?.stats.granted).toBe(cycles + 2);
    // A holder's give-back reaches the new run, which grants the carried waiter.
    await pool.signal(POOL_SIGNALS.release, { id: request('holder').id });
    const after = await waitFor('the waiter granted', async () => {
      const v = await describePool(ctx.client, ctx.settings, name);
      return v?.waiting === 0 ? v : undefined;
    });
    expect(after?.holders.map((h) => h.stage).sort()).toEqual(['second', 'waiter']);
    expect(after?.stats.granted).toBe(cycles + 3);
  } finally {
    await asker.terminate('test done');
  }
}, 180_000);
