/**
 * backfillPipeline and scheduledPipeline on the real dev server with a real worker. The stage
 * activity is mocked (these tests are about the window, the plan, steering and continue-as-new);
 * the visibility activities are the real ones.
 */
import { Context } from '@temporalio/activity';
import { type WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { createRunActivities, type StartDateRunRequest, type StartedDateRun } from '../../activities/runs';
import type { BackfillOnly, BackfillOptions, BackfillProgress, BackfillReport } from '../../common/backfill-types';
import { ERROR_TYPES } from '../../common/constants';
import { addDays, dateRange, localDate } from '../../common/dates';
import { definePipeline, type PipelineDefinition } from '../../common/pipeline';
import type { StageInput, StageResult, StopOutcome, StopRunJobsInput } from '../../common/run-types';
import { backfillProgress, startBackfill, steer, waitForBackfill } from '../../client/backfills';
import { listRuns } from '../../client/run-list';
import { startRun } from '../../client/runs';
import { createDailySchedule } from '../../client/schedules';
import { runWorkflowId } from '../../common/naming';
import { cancelSignal } from '../../workflows/backfill';
import { uniqueName } from '../support/aws';
import { temporalTestContext, waitFor, type TestContext } from '../support/temporal';
import { testPoolActivities } from '../support/pools';

interface Span {
  ds: string;
  /** The stage's idempotency key, which ends in the run's generation (`/g<n>`). */
  key: string;
  start: number;
  end: number;
}

let ctx: TestContext;
const spans = new Map<string, Span[]>();
const behaviour = new Map<string, (input: StageInput) => Promise<StageResult>>();
/** Wraps the real `startDateRun` for a pipeline (the hand-over's starts before continue-as-new). */
const startHook = new Map<
  string,
  (req: StartDateRunRequest, real: (req: StartDateRunRequest) => Promise<StartedDateRun>) => Promise<StartedDateRun>
>();
const runActivities = createRunActivities();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  ctx = await temporalTestContext('wf-backfill');
  await ctx.startWorker({
    workerOptions: {
      activities: {
        ...testPoolActivities(),
        ...runActivities,
        async startDateRun(req: StartDateRunRequest): Promise<StartedDateRun> {
          const hook = startHook.get(req.input.pipeline.name);
          return hook ? hook(req, runActivities.startDateRun) : runActivities.startDateRun(req);
        },
        async runStage(input: StageInput): Promise<StageResult> {
          const start = Date.now();
          try {
            const fn = behaviour.get(input.pipeline);
            return fn ? await fn(input) : { summary: 'ok' };
          } finally {
            const list = spans.get(input.pipeline) ?? [];
            list.push({ ds: input.ds, key: input.idempotencyKey, start, end: Date.now() });
            spans.set(input.pipeline, list);
          }
        },
        async stopStageJob(): Promise<string> {
          return 'nothing to stop';
        },
        async stopRunJobs(input: StopRunJobsInput): Promise<StopOutcome[]> {
          return input.stages.map((t) => ({
            stageId: t.stageId,
            result: 'none' as const,
            message: 'no job had been started',
          }));
        },
      },
    },
  });
});

afterAll(async () => {
  await ctx?.close();
});

function onePipeline(prefix: string, heartbeat = '10s'): PipelineDefinition {
  return definePipeline({
    name: uniqueName(prefix),
    defaults: { retry: { maximumAttempts: 1 }, timeout: { heartbeat } },
    stages: [{ id: 'only', kind: 'glue.job', params: { JobName: 'j' } }],
  });
}

const opts = (from: string, to: string, extra: Partial<BackfillOptions> = {}): BackfillOptions => ({
  from,
  to,
  concurrency: 2,
  only: 'missing',
  order: 'oldest',
  ...extra,
});
const ranDates = (p: PipelineDefinition) => (spans.get(p.name) ?? []).map((s) => s.ds);

async function visibleRuns(p: PipelineDefinition, n: number): Promise<void> {
  await waitFor(`${n} runs of ${p.name} in visibility`, async () => {
    const { count } = await ctx.client.workflow.count(
      `SluicePipeline = "${p.name}" AND WorkflowType = "runPipeline" AND ExecutionStatus != "Running"`,
    );
    return count >= n;
  });
}

test('sliding window: with concurrency 2 and one slow date, the other dates keep flowing', async () => {
  const p = onePipeline('window');
  // The slow date ends once the seven others have (or after 60 s): had the window waited for it,
  // they could not end first. Not a fixed 5 s, which a loaded machine could outrun.
  const othersDone = () => (spans.get(p.name) ?? []).filter((x) => x.ds !== '2024-03-01').length;
  behaviour.set(p.name, async (i) => {
    if (i.ds !== '2024-03-01') return (await sleep(300), { summary: 'done' });
    for (const until = Date.now() + 60_000; othersDone() < 7 && Date.now() < until;) await sleep(100);
    return { summary: 'done' };
  });
  const started = await startBackfill(ctx.client, ctx.settings, p, opts('2024-03-01', '2024-03-08'));
  const outcome = await waitForBackfill(started.handle);
  expect(outcome.status).toBe('succeeded');
  expect(outcome.report?.succeeded).toHaveLength(8);
  const all = spans.get(p.name) ?? [];
  const slow = all.find((s) => s.ds === '2024-03-01') as Span;
  // Every other date started and ended while the slow one was still running: no batch waited for it.
  expect(
    all
      .filter((s) => s.ds !== '2024-03-01' && s.end <= slow.end)
      .map((s) => s.ds)
      .sort(),
  ).toEqual(dateRange('2024-03-02', '2024-03-08'));
  // Never more than two at once.
  const maxOverlap = Math.max(...all.map((s) => all.filter((o) => o.start <= s.start && s.start < o.end).length));
  expect(maxOverlap).toBeLessThanOrEqual(2);
});

test('a failed date does not stop the others; the report names it; --only failed reruns just it; missing and all choose as documented', async () => {
  const p = onePipeline('only');
  let failing = true;
  behaviour.set(p.name, async (i) => {
    if (failing && i.ds === '2024-03-02') {
      throw ApplicationFailure.create({
        message: 'Glue job jr_9 ended FAILED: bad row',
        type: ERROR_TYPES.jobFailed,
        nonRetryable: true,
      });
    }
    return { summary: 'ok' };
  });
  const first = await waitForBackfill(
    (await startBackfill(ctx.client, ctx.settings, p, opts('2024-03-01', '2024-03-04'))).handle,
  );
  expect(first.status).toBe('failed');
  expect(first.message).toBe('1 of 4 dates failed: 2024-03-02 (only)');
  expect(first.report?.succeeded.sort()).toEqual(['2024-03-01', '2024-03-03', '2024-03-04']);
  expect(first.report?.failed).toEqual([
    { ds: '2024-03-02', stage: 'only', message: 'Stage "only" (glue.job) failed: Glue job jr_9 ended FAILED: bad row' },
  ]);
  await visibleRuns(p, 4);

  failing = false;
  spans.delete(p.name);
  const retry = await waitForBackfill(
    (await startBackfill(ctx.client, ctx.settings, p, opts('2024-03-01', '2024-03-05', { only: 'failed' }))).handle,
  );
  expect(retry.status).toBe('succeeded');
  expect(ranDates(p)).toEqual(['2024-03-02']);
  expect(retry.report?.skipped).toEqual(
    expect.arrayContaining([
      { ds: '2024-03-01', reason: 'last run succeeded, not failed' },
      { ds: '2024-03-05', reason: 'never ran' },
    ]),
  );
  await visibleRuns(p, 5);

  spans.delete(p.name);
  const missing = await waitForBackfill(
    (await startBackfill(ctx.client, ctx.settings, p, opts('2024-03-01', '2024-03-05', { only: 'missing' }))).handle,
  );
  expect(ranDates(p)).toEqual(['2024-03-05']);
  expect(missing.report?.skipped.map((s) => s.reason)).toEqual(Array(4).fill('already succeeded'));
  await visibleRuns(p, 6);

  spans.delete(p.name);
  const all = await waitForBackfill(
    (
      await startBackfill(
        ctx.client,
        ctx.settings,
        p,
        opts('2024-03-01', '2024-03-05', { only: 'all', order: 'newest', concurrency: 1 }),
      )
    ).handle,
  );
  expect(all.report?.succeeded).toEqual(['2024-03-05', '2024-03-04', '2024-03-03', '2024-03-02', '2024-03-01']);
  expect(ranDates(p)).toEqual(['2024-03-05', '2024-03-04', '2024-03-03', '2024-03-02', '2024-03-01']);
});

describe('a range includes its last date: every --only mode, with a succeeded and a failed date at either end', () => {
  // After the setup backfill each date has one run: 06-01 succeeded, 06-02 failed, 06-03 failed,
  // 06-04 succeeded. The reruns cover [06-01, 06-02] (succeeded first, failed last) and
  // [06-03, 06-04] (failed first, succeeded last); every date ran once, so a rerun is generation 1.
  const expected: Record<BackfillOnly, { ran: [string[], string[]]; skipped: [string[], string[]] }> = {
    missing: {
      ran: [['2024-06-02/g1'], ['2024-06-03/g1']],
      skipped: [['2024-06-01: already succeeded'], ['2024-06-04: already succeeded']],
    },
    failed: {
      ran: [['2024-06-02/g1'], ['2024-06-03/g1']],
      skipped: [['2024-06-01: last run succeeded, not failed'], ['2024-06-04: last run succeeded, not failed']],
    },
    all: {
      ran: [
        ['2024-06-01/g1', '2024-06-02/g1'],
        ['2024-06-03/g1', '2024-06-04/g1'],
      ],
      skipped: [[], []],
    },
  };
  const ranWithGeneration = (p: PipelineDefinition) =>
    (spans.get(p.name) ?? []).map((s) => `${s.ds}/${s.key.split('/').pop() ?? ''}`).sort();

  test.each(['missing', 'failed', 'all'] as const)('--only %s', async (only) => {
    const p = onePipeline(`ends-${only}`);
    let failing = true;
    behaviour.set(p.name, async (i) => {
      if (failing && (i.ds === '2024-06-02' || i.ds === '2024-06-03')) {
        throw ApplicationFailure.create({
          message: 'Glue job jr_1 ended FAILED: bad row',
          type: ERROR_TYPES.jobFailed,
          nonRetryable: true,
        });
      }
      return { summary: 'ok' };
    });
    const setup = await waitForBackfill(
      (await startBackfill(ctx.client, ctx.settings, p, opts('2024-06-01', '2024-06-04', { only: 'all' }))).handle,
    );
    expect(setup.report?.failed.map((f) => f.ds).sort()).toEqual(['2024-06-02', '2024-06-03']);
    await visibleRuns(p, 4);

    // `sluice runs --from --to` uses the same query: both ends are listed.
    expect(
      (await listRuns(ctx.client, ctx.settings, { pipeline: p.name, from: '2024-06-01', to: '2024-06-02' })).map(
        (r) => `${r.ds} ${r.status}`,
      ),
    ).toEqual(['2024-06-01 Succeeded', '2024-06-02 Failed']);
    expect((await listRuns(ctx.client, ctx.settings, { pipeline: p.name, to: '2024-06-04' })).map((r) => r.ds)).toEqual(
      ['2024-06-01', '2024-06-02', '2024-06-03', '2024-06-04'],
    );

    failing = false;
    for (const [i, [from, to]] of (
      [
        ['2024-06-01', '2024-06-02'],
        ['2024-06-03', '2024-06-04'],
      ] as const
    ).entries()) {
      spans.delete(p.name);
      const outcome = await waitForBackfill(
        (await startBackfill(ctx.client, ctx.settings, p, opts(from, to, { only }))).handle,
      );
      expect(outcome.status).toBe('succeeded');
      expect(ranWithGeneration(p)).toEqual(expected[only].ran[i]);
      expect(outcome.report?.skipped.map((s) => `${s.ds}: ${s.reason}`)).toEqual(expected[only].skipped[i]);
    }
  });
});

test('a leap-day range runs every calendar day, February 29 included', async () => {
  const p = onePipeline('leap');
  const outcome = await waitForBackfill(
    (await startBackfill(ctx.client, ctx.settings, p, opts('2024-02-27', '2024-03-01', { concurrency: 4 }))).handle,
  );
  expect(outcome.report?.succeeded.sort()).toEqual(['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01']);
  expect(dateRange('2023-02-27', '2023-03-01')).toEqual(['2023-02-27', '2023-02-28', '2023-03-01']);
});

test('pause stops new dates, resume and set-concurrency start them again', async () => {
  const p = onePipeline('steer');
  behaviour.set(p.name, async () => (await sleep(800), { summary: 'ok' }));
  const started = await startBackfill(
    ctx.client,
    ctx.settings,
    p,
    opts('2024-04-01', '2024-04-08', { concurrency: 1 }),
  );
  await waitFor(
    'the first date to run',
    async () => (await backfillProgress(started.handle).catch(() => undefined))?.counts.running === 1,
  );
  await steer.pause(started.handle);
  const paused = await waitFor('the running date to finish while paused', async () => {
    const pr = await backfillProgress(started.handle);
    return pr.paused && pr.counts.running === 0 ? pr : undefined;
  });
  const doneWhilePaused = paused.counts.succeeded;
  await sleep(1500);
  const still = await backfillProgress(started.handle);
  expect(still.counts.succeeded).toBe(doneWhilePaused);
  expect(still.counts.pending).toBe(8 - doneWhilePaused);

  await steer.setConcurrency(started.handle, 3);
  await steer.resume(started.handle);
  const busiest = await waitFor('three dates at once', async () => {
    const pr = await backfillProgress(started.handle);
    return pr.counts.running === 3 ? pr : undefined;
  });
  expect(busiest.concurrency).toBe(3);
  expect((await waitForBackfill(started.handle)).report?.succeeded).toHaveLength(8);
});

test('thousands of dates fit: the backfill continues as new and keeps its progress', async () => {
  const p = onePipeline('can');
  const started = await startBackfill(
    ctx.client,
    ctx.settings,
    p,
    opts('2024-01-01', '2024-01-30', { concurrency: 5 }),
    { continueAsNewAfterEvents: 60 },
  );
  const outcome = await waitForBackfill(started.handle);
  expect(outcome.status).toBe('succeeded');
  const report = outcome.report as BackfillReport;
  expect(report.succeeded.sort()).toEqual(dateRange('2024-01-01', '2024-01-30'));
  const firstRun = await ctx.client.workflow.getHandle(started.workflowId, started.runId).describe();
  expect(firstRun.status.name).toBe('CONTINUED_AS_NEW');
  const last: BackfillProgress = await backfillProgress(started.handle);
  expect(last.segment).toBeGreaterThan(1);
  expect(last.counts.succeeded).toBe(30);
});

/** A stage that runs until `until()` holds (or the stage is cancelled), heartbeating so a cancel reaches it. */
async function holdUntil(until: () => boolean): Promise<StageResult> {
  const c = Context.current();
  while (!until()) {
    c.heartbeat();
    await c.sleep(100);
  }
  return { summary: 'released' };
}

/** The dates whose run the given backfill run started (its StartChildWorkflowExecutionInitiated events). */
async function datesStartedBy(p: PipelineDefinition, workflowId: string, runId: string): Promise<string[]> {
  const history = await ctx.client.workflow.getHandle(workflowId, runId).fetchHistory();
  return (history.events ?? []).flatMap((e) =>
    (e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? '').split(`${p.name}/`).slice(1),
  );
}

test('continue-as-new does not drain the window: dates keep starting while a slow date runs across it, each runs once', async () => {
  const p = onePipeline('carry');
  const slow = '2024-06-02';
  let release = false;
  behaviour.set(p.name, async (i) =>
    i.ds === slow ? holdUntil(() => release) : (await sleep(100), { summary: 'ok' }),
  );
  const dates = dateRange('2024-06-01', '2024-06-20');
  const started = await startBackfill(
    ctx.client,
    ctx.settings,
    p,
    opts('2024-06-01', '2024-06-20', { concurrency: 3 }),
    { continueAsNewAfterEvents: 40 },
  );
  // The slow date is held until every other date has run: the old drain at continue-as-new
  // (waiting for the slowest running date) would never get there.
  await waitFor(
    'every other date to finish while the slow one runs',
    async () => {
      const pr = await backfillProgress(started.handle).catch(() => undefined);
      return pr?.counts.succeeded === dates.length - 1 && pr.running.join() === slow;
    },
    60_000,
  );
  release = true;
  const outcome = await waitForBackfill(started.handle);
  expect(outcome.status).toBe('succeeded');
  expect(outcome.report?.succeeded.slice().sort()).toEqual(dates);
  expect(outcome.report?.cancelled).toEqual([]);

  // Every date ran exactly once, never more than 3 at once (carried dates count in the window).
  const all = spans.get(p.name) ?? [];
  expect(all.map((s) => s.ds).sort()).toEqual(dates);
  const maxOverlap = Math.max(...all.map((s) => all.filter((o) => o.start <= s.start && s.start < o.end).length));
  expect(maxOverlap).toBeLessThanOrEqual(3);

  // The first run continued as new while the slow date it started was running; the dates started
  // by later runs all started before the slow date ended.
  const firstRun = await ctx.client.workflow.getHandle(started.workflowId, started.runId).describe();
  expect(firstRun.status.name).toBe('CONTINUED_AS_NEW');
  const inFirst = await datesStartedBy(p, started.workflowId, started.runId);
  expect(inFirst).toContain(slow);
  const later = dates.filter((ds) => !inFirst.includes(ds));
  expect(later.length).toBeGreaterThan(0);
  const slowSpan = all.find((s) => s.ds === slow) as Span;
  for (const ds of later) expect((all.find((s) => s.ds === ds) as Span).start).toBeLessThan(slowSpan.end);
  const slowRun = await ctx.client.workflow.getHandle(runWorkflowId(p.name, slow)).describe();
  expect(slowRun.status.name).toBe('COMPLETED');
  expect(slowRun.parentExecution?.runId).toBe(started.runId);
  expect((await backfillProgress(started.handle)).segment).toBeGreaterThan(1);
});

test('cancelling across continue-as-new cancels the carried date, leaves a date running elsewhere alone, and ends CANCELLED with its report', async () => {
  const p = onePipeline('carry-cancel', '2s');
  const hung = '2024-07-02';
  const elsewhere = '2024-07-03';
  behaviour.set(p.name, async (i) =>
    i.ds === hung || i.ds === elsewhere ? holdUntil(() => false) : (await sleep(100), { summary: 'ok' }),
  );
  // A run of one date started outside the backfill (as `sluice run` would): not the backfill's to cancel.
  const other = await startRun(ctx.client, ctx.settings, p, elsewhere);
  const started = await startBackfill(
    ctx.client,
    ctx.settings,
    p,
    opts('2024-07-01', '2024-07-12', { concurrency: 3, only: 'all' }),
    { continueAsNewAfterEvents: 30 },
  );
  await waitFor(
    'a later run of the backfill, the two held dates carried into it',
    async () => {
      const pr = await backfillProgress(started.handle).catch(() => undefined);
      return (
        pr !== undefined &&
        pr.segment > 1 &&
        pr.running.includes(hung) &&
        pr.running.includes(elsewhere) &&
        pr.counts.succeeded >= 3
      );
    },
    60_000,
  );
  expect((await ctx.client.workflow.getHandle(started.workflowId, started.runId).describe()).status.name).toBe(
    'CONTINUED_AS_NEW',
  );
  expect(await datesStartedBy(p, started.workflowId, started.runId)).toContain(hung);

  await steer.cancel(started.handle);
  const outcome = await waitForBackfill(started.handle);
  expect(outcome.status).toBe('cancelled');
  expect((await started.handle.describe()).status.name).toBe('CANCELLED');
  const hungRun = await ctx.client.workflow.getHandle(runWorkflowId(p.name, hung)).describe();
  expect(hungRun.status.name).toBe('CANCELLED');
  expect(hungRun.parentExecution?.runId).toBe(started.runId);
  expect((await ctx.client.workflow.getHandle(other.workflowId).describe()).status.name).toBe('RUNNING');
  // The report is there for a cancelled backfill too: what ran, and what was cancelled.
  const report = outcome.report as BackfillReport;
  expect(report.status).toBe('cancelled');
  expect(report.cancelled).toEqual(expect.arrayContaining([hung, elsewhere]));
  expect([...report.succeeded, ...report.cancelled].sort()).toEqual(dateRange('2024-07-01', '2024-07-12'));
  // ... and kept in its memo, readable with no worker to answer a query.
  expect((await started.handle.describe()).memo?.sluiceBackfillReport).toEqual(report);
  await ctx.client.workflow.getHandle(other.workflowId).cancel();
});

/** The dates the given backfill run handed over before continuing as new (its startDateRun activities). */
async function datesHandedOverBy(workflowId: string, runId: string): Promise<string[]> {
  const history = await ctx.client.workflow.getHandle(workflowId, runId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const a = e.activityTaskScheduledEventAttributes;
    const data = a?.activityType?.name === 'startDateRun' ? a.input?.payloads?.[0]?.data : undefined;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as StartDateRunRequest).input.ds] : [];
  });
}

/** Every run of the backfill, oldest first. */
async function backfillRuns(workflowId: string): Promise<string[]> {
  const runs: { runId: string; start: number }[] = [];
  for await (const wf of ctx.client.workflow.list({ query: `WorkflowId = "${workflowId}"` }))
    runs.push({ runId: wf.runId, start: wf.startTime.getTime() });
  return runs.sort((a, b) => a.start - b.start).map((r) => r.runId);
}

test('the hand-over before continue-as-new: freed slots are filled by runs of their own, each started once (a retried start included), and the continue-as-new meets no event', async () => {
  const p = onePipeline('handover');
  behaviour.set(p.name, async () => (await sleep(100), { summary: 'ok' }));
  // The first start's answer is lost after the run started (a worker dying right then): the retry
  // must find that run by its memo, not start the date again (ALLOW_DUPLICATE would).
  let lost = 0;
  startHook.set(p.name, async (req, real) => {
    const r = await real(req);
    if (lost++ === 0) throw ApplicationFailure.create({ message: 'answer lost', type: 'Lost' });
    return r;
  });
  const dates = dateRange('2024-09-01', '2024-09-30');
  const started = await startBackfill(
    ctx.client,
    ctx.settings,
    p,
    opts('2024-09-01', '2024-09-30', { concurrency: 3, only: 'all' }),
    { continueAsNewAfterEvents: 60 },
  );
  const outcome = await waitForBackfill(started.handle);
  expect(outcome.status).toBe('succeeded');
  expect(outcome.report?.succeeded.slice().sort()).toEqual(dates);
  // Every date ran exactly once, the retried start's included, and never more than 3 at once.
  const all = spans.get(p.name) ?? [];
  expect(all.map((s) => s.ds).sort()).toEqual(dates);
  const maxOverlap = Math.max(...all.map((s) => all.filter((o) => o.start <= s.start && s.start < o.end).length));
  expect(maxOverlap).toBeLessThanOrEqual(3);
  expect(lost).toBeGreaterThan(1);

  const runs = await backfillRuns(started.workflowId);
  expect(runs.length).toBeGreaterThan(1);
  const handedOver = (await Promise.all(runs.map((r) => datesHandedOverBy(started.workflowId, r)))).flat();
  expect(handedOver.length).toBeGreaterThan(0);
  for (const ds of handedOver) {
    // A run of its own (no parent), marked as started by this backfill.
    const run = await ctx.client.workflow.getHandle(runWorkflowId(p.name, ds)).describe();
    expect(run.parentExecution).toBeUndefined();
    expect(String(run.memo?.sluiceStartedBy)).toContain(`${started.workflowId}/`);
  }
  // No run of the backfill had its continue-as-new refused for events that arrived meanwhile.
  for (const r of runs) {
    const events = (await ctx.client.workflow.getHandle(started.workflowId, r).fetchHistory()).events ?? [];
    expect(
      events.filter((e) => e.workflowTaskFailedEventAttributes).map((e) => e.workflowTaskFailedEventAttributes?.cause),
    ).toEqual([]);
  }
});

test('cancelled during the hand-over: the date whose start was in flight is cancelled once it started, and the backfill ends CANCELLED', async () => {
  const p = onePipeline('handover-cancel', '2s');
  behaviour.set(p.name, async () => holdUntil(() => false));
  let gate = false;
  const startsSeen: string[] = [];
  startHook.set(p.name, async (req, real) => {
    startsSeen.push(req.input.ds);
    for (const until = Date.now() + 60_000; !gate && Date.now() < until;) await sleep(50);
    return real(req);
  });
  // Continue-as-new is due at once: the first run hands its three slots over, starts held in flight.
  const started = await startBackfill(
    ctx.client,
    ctx.settings,
    p,
    opts('2024-10-01', '2024-10-05', { concurrency: 3, only: 'all' }),
    { continueAsNewAfterEvents: 1 },
  );
  await waitFor('a start of the hand-over in flight', async () => startsSeen.length > 0, 60_000);
  const ds = startsSeen[0] as string;
  await started.handle.cancel();
  gate = true;
  const outcome = await waitForBackfill(started.handle);
  expect(outcome.status).toBe('cancelled');
  expect((await started.handle.describe()).status.name).toBe('CANCELLED');
  const run = await ctx.client.workflow.getHandle(runWorkflowId(p.name, ds)).describe();
  expect(run.status.name).toBe('CANCELLED');
  expect(run.parentExecution).toBeUndefined();
  expect(outcome.report?.cancelled).toContain(ds);
  // Nothing runs on: every date the backfill started is cancelled.
  for (const d of dateRange('2024-10-01', '2024-10-05')) {
    const h = ctx.client.workflow.getHandle(runWorkflowId(p.name, d));
    const st = await h.describe().then(
      (x) => x.status.name,
      () => 'NEVER',
    );
    expect(['CANCELLED', 'NEVER']).toContain(st);
  }
});

test('the cancel signal of older clients still cancels every running date, and the backfill ends CANCELLED', async () => {
  const p = onePipeline('sig-cancel', '2s');
  behaviour.set(p.name, async () => holdUntil(() => false));
  const started = await startBackfill(ctx.client, ctx.settings, p, opts('2024-08-01', '2024-08-04'));
  await waitFor(
    'two dates running',
    async () => (await backfillProgress(started.handle).catch(() => undefined))?.counts.running === 2,
  );
  await started.handle.signal(cancelSignal);
  const outcome = await waitForBackfill(started.handle);
  expect(outcome.status).toBe('cancelled');
  expect((await started.handle.describe()).status.name).toBe('CANCELLED');
  expect(outcome.report?.cancelled.slice().sort()).toEqual(dateRange('2024-08-01', '2024-08-04'));
  for (const ds of ['2024-08-01', '2024-08-02'])
    expect((await ctx.client.workflow.getHandle(runWorkflowId(p.name, ds)).describe()).status.name).toBe('CANCELLED');
});

test('a triggered daily schedule runs <pipeline>/<day before, in the schedule’s zone>', async () => {
  const p = onePipeline('sched');
  const zone = 'Pacific/Kiritimati'; // UTC+14: its date is often not UTC's, so the zone really matters
  const expected = [addDays(localDate(Date.now(), zone), -1)];
  const handle = await createDailySchedule(ctx.client, ctx.settings, p, {
    at: '02:00',
    timezone: zone,
    id: uniqueName('sched'),
  });
  try {
    await handle.trigger();
    expected.push(addDays(localDate(Date.now(), zone), -1)); // in case midnight passed in between
    const ds = await waitFor('the scheduled run to finish', async () => {
      for (const d of new Set(expected)) {
        const res = await ctx.client.workflow
          .getHandle(`${p.name}/${d}`)
          .describe()
          .catch(() => undefined);
        if (res?.status.name === 'COMPLETED') return d;
      }
      return undefined;
    });
    expect(ranDates(p)).toEqual([ds]);
    const run = await ctx.client.workflow.getHandle(`${p.name}/${ds}`).describe();
    expect(run.searchAttributes.SluicePipeline).toEqual([p.name]);
    expect(run.searchAttributes.SluiceStatus).toEqual(['Succeeded']);
    expect(await run.staticSummary()).toBe(`Pipeline ${p.name} for ${ds} (1 stage)`);
  } finally {
    await handle.delete();
  }
});

test('a backfill whose dates all failed fails with BackfillFailedError', async () => {
  const p = onePipeline('allfail');
  behaviour.set(p.name, async () => {
    throw ApplicationFailure.create({
      message: 'AccessDeniedException: no',
      type: ERROR_TYPES.awsRequest,
      nonRetryable: true,
    });
  });
  const started = await startBackfill(ctx.client, ctx.settings, p, opts('2024-05-01', '2024-05-02'));
  const err: unknown = await started.handle.result().catch((e: unknown) => e);
  expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe(ERROR_TYPES.backfillFailed);
});
