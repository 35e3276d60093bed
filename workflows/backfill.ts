/**
 * `backfillPipeline`: runs a pipeline for every date of a range through a sliding window — a new
 * date starts as soon as any running one ends, never waiting for a batch. Each date is the child
 * `<pipeline>/<ds>` (see date-run.ts). Pause, resume, set-concurrency and cancel by signal (or
 * cancel the workflow); progress by query and in the UI's current details. Thousands of dates:
 * the state is compact and carried across continue-as-new.
 */
import {
  CancellationScope,
  CancelledFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { SluiceActivities } from '../activities';
import {
  datesDone,
  type BackfillInput,
  type BackfillProgress,
  type BackfillReport,
  type BackfillState,
  type CarriedDate,
  type DateOutcome,
} from '../common/backfill-types';
import { BACKFILL_LIMITS, ERROR_TYPES, MEMO_KEYS } from '../common/constants';
import { planBackfill } from '../common/backfill-plan';
import { runWorkflowId } from '../common/naming';
import { failureOutcome } from '../common/outcomes';
import { awaitRun, listDateRuns, runDate } from './date-run';
import { runPriority } from '../common/pools';
import { AUTO_UPGRADE, versioned } from './versioning';
import { notifyBackfillEnd } from './notify';

export { planBackfill };

import {
  cancelSignal,
  pauseSignal,
  progressQuery,
  reportQuery,
  resumeSignal,
  setConcurrencySignal,
} from '../common/messages';

// The backfill's messages are defined once (common/messages.ts); exported here as before.
export { cancelSignal, pauseSignal, progressQuery, reportQuery, resumeSignal, setConcurrencySignal };

/**
 * Replay guards (backfills last days: histories recorded by earlier code must replay unchanged).
 * CARRY_RUNNING: dates are started with ParentClosePolicy.ABANDON and carried, still running,
 * across continue-as-new. CANCEL_SIGNAL_REQUESTS_CANCEL: the cancel signal also requests the
 * workflow's own cancellation.
 */
export const PATCHES = {
  carryRunning: 'sluice-backfill-carry-running-dates',
  /** A cancelled backfill keeps its report in its memo: readable without a worker to answer the query. */
  reportMemo: 'sluice-backfill-report-memo',
  cancelSignalRequestsCancel: 'sluice-backfill-cancel-signal-requests-cancel',
  /** Continue-as-new after a quiet hand-over (see `handOver`), not in the middle of the window's events. */
  quietHandover: 'sluice-backfill-quiet-handover',
} as const;

/**
 * The hand-over before continue-as-new: continue as new once no date of this run has ended for
 * this long, and within this bound whatever happens.
 */
const HANDOVER = { quietMs: 300, maxMs: 60_000 } as const;

const { requestCancel } = proxyActivities<SluiceActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 10 },
  summary: 'request the cancellation of this backfill',
});

const { startDateRun } = proxyActivities<SluiceActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
  summary: 'start a date before continue-as-new',
});

/** A date in the window. */
interface RunningDate extends CarriedDate {
  /** Whether its run is known yet: the start of a run of ours resolved, or it was found running elsewhere. */
  known: boolean;
  /** Its run outlives a continue-as-new: started with ABANDON, or already carried. */
  carriable: boolean;
  /** Carried from an earlier run of this backfill: awaited by activity, cancelled by this workflow. */
  carried: boolean;
  /**
   * Started by an activity during the hand-over before continue-as-new, not as a child (resolves
   * once its start is done; false if it failed): its end sends this run no event. Not awaited
   * here; the next run carries it.
   */
  handedOver?: Promise<boolean>;
  done?: Promise<void>;
}

function clampConcurrency(n: number): number {
  return Math.max(1, Math.min(BACKFILL_LIMITS.maxConcurrency, Math.floor(n)));
}

// On a versioned worker: AUTO_UPGRADE (moves to the current build at its next workflow task; see workflows/versioning.ts).
versioned(AUTO_UPGRADE, backfillPipeline);
export async function backfillPipeline(input: BackfillInput): Promise<BackfillReport> {
  const { pipeline } = input;
  // The dates' turn at pools: below the pipeline's scheduled and manual runs, shared evenly with other backfills.
  const turn = {
    priority: runPriority({
      ...(input.priority !== undefined ? { explicit: input.priority } : {}),
      ...(pipeline.priority !== undefined ? { pipeline: pipeline.priority } : {}),
      backfill: true,
    }),
    fairnessKey: workflowInfo().workflowId,
  };
  // Carried across continue-as-new, or empty until the plan is read from visibility (below): queries
  // and signals are answered from the start. Dates carried still running join the window below.
  const { running: carried = [], ...carriedState } = input.carry ?? { running: [] };
  let st: BackfillState = input.carry
    ? (carriedState as BackfillState)
    : {
        queue: [],
        generations: [],
        skipped: [],
        next: 0,
        succeeded: [],
        failed: [],
        cancelled: [],
        concurrency: clampConcurrency(input.concurrency),
        paused: false,
        segment: 1,
        startedAt: new Date().toISOString(),
      };
  const running = new Map<string, RunningDate>();
  let cancelling = false;
  let finished = false;
  const work = new CancellationScope();
  const total = (): number => st.queue.length + st.skipped.length;

  const progress = (): BackfillProgress => ({
    pipeline: pipeline.name,
    from: input.from,
    to: input.to,
    only: input.only,
    order: input.order,
    concurrency: st.concurrency,
    total: total(),
    counts: {
      pending: st.queue.length - st.next,
      running: running.size,
      succeeded: st.succeeded.length,
      failed: st.failed.length,
      skipped: st.skipped.length,
      cancelled: st.cancelled.length,
    },
    running: [...running.keys()],
    failed: st.failed,
    paused: st.paused,
    cancelling,
    segment: st.segment,
    startedAt: st.startedAt,
  });
  const report = (): BackfillReport => ({
    pipeline: pipeline.name,
    from: input.from,
    to: input.to,
    succeeded: st.succeeded,
    failed: st.failed,
    skipped: st.skipped,
    cancelled: st.cancelled,
    status: !finished ? 'running' : cancelling ? 'cancelled' : st.failed.length ? 'failed' : 'succeeded',
  });
  const showProgress = (): void => {
    const p = progress();
    const c = p.counts;
    setCurrentDetails(
      [
        `**${datesDone(c)} / ${p.total} dates done** — ${c.running} running, ${c.pending} pending${st.paused ? ' (paused)' : ''}${cancelling ? ' (cancelling)' : ''}`,
        `succeeded ${c.succeeded} · failed ${c.failed} · skipped ${c.skipped} · cancelled ${c.cancelled} · concurrency ${st.concurrency}`,
        ...(p.running.length
          ? [`running: ${p.running.slice(0, 20).join(', ')}${p.running.length > 20 ? ', …' : ''}`]
          : []),
        ...st.failed.slice(-10).map((f) => `✘ ${f.ds}${f.stage ? ` (${f.stage})` : ''}: ${f.message}`),
      ].join('\n'),
    );
  };

  // The runs carried from an earlier run of this backfill are not its children any more, and those
  // its hand-over started never were: the cancellation of `work` does not reach them, so they are
  // cancelled by ID and run ID (and their awaitRun sees them end). Dates found running elsewhere are not ours and are never cancelled.
  const cancelRequests: Promise<void>[] = [];
  // A run that ended meanwhile has nothing to cancel ("not found").
  const cancelRun = (ds: string, runId: string): Promise<void> =>
    CancellationScope.nonCancellable(() =>
      getExternalWorkflowHandle(runWorkflowId(pipeline.name, ds), runId).cancel(),
    ).catch(() => undefined);
  let carriedCancelled = false;
  const cancelCarried = (): void => {
    if (carriedCancelled) return;
    carriedCancelled = true;
    for (const r of running.values()) {
      if ((!r.carried && !r.handedOver) || !r.ours || !r.runId) continue;
      cancelRequests.push(cancelRun(r.ds, r.runId));
    }
  };
  let cancelRequested = false;
  CancellationScope.current().cancelRequested.catch(() => {
    cancelRequested = true;
    cancelling = true;
    cancelCarried();
  });
  // Set by the cancel signal: resolves true once Temporal recorded the cancellation request.
  let selfCancel: Promise<boolean> | undefined;

  setHandler(progressQuery, progress);
  setHandler(reportQuery, report);
  setHandler(pauseSignal, () => {
    st.paused = true;
    showProgress();
  });
  setHandler(resumeSignal, () => {
    st.paused = false;
    showProgress();
  });
  setHandler(setConcurrencySignal, (n: number) => {
    st.concurrency = clampConcurrency(n);
    showProgress();
  });
  setHandler(cancelSignal, () => {
    cancelling = true;
    work.cancel();
    cancelCarried();
    // A workflow ends CANCELED only if Temporal was asked to cancel it, and it cannot ask for
    // itself (the server answers "not found"): an activity asks, so a cancel by signal ends like
    // `sluice backfill cancel`. Histories recorded before replay without it (and end FAILED).
    if (!selfCancel && !cancelRequested && patched(PATCHES.cancelSignalRequestsCancel)) {
      const { workflowId, runId } = workflowInfo();
      selfCancel = CancellationScope.nonCancellable(() => requestCancel(workflowId, runId)).then(
        () => true,
        () => false,
      );
    }
  });

  if (!input.carry) st = { ...st, ...planBackfill(input, await listDateRuns(pipeline.name, input.from, input.to)) };

  const eventBudget = input.continueAsNewAfterEvents;
  const shouldContinueAsNew = (): boolean =>
    workflowInfo().continueAsNewSuggested || (eventBudget !== undefined && workflowInfo().historyLength >= eventBudget);

  const record = (ds: string, outcome: DateOutcome): void => {
    if (outcome.ok) st.succeeded.push(ds);
    else if (outcome.cancelled) st.cancelled.push(ds);
    else
      st.failed.push({
        ds,
        message: outcome.message.slice(0, 500),
        ...(outcome.stage ? { stage: outcome.stage } : {}),
      });
  };
  const track = (entry: RunningDate, outcome: Promise<DateOutcome>): void => {
    entry.done = outcome
      // A wait that was itself cancelled (a date running elsewhere) still records the date.
      .then(
        (o) => record(entry.ds, o),
        (err: unknown) => record(entry.ds, failureOutcome(err)),
      )
      .finally(() => {
        running.delete(entry.ds);
        noteChange();
        showProgress();
      });
    running.set(entry.ds, entry);
  };
  /** The window's events, counted and timed (workflow time): a child's start confirmed, a date's end learned. */
  let changes = 0;
  let lastChange = 0;
  const noteChange = (): void => {
    changes++;
    lastChange = Date.now();
  };

  const start = (ds: string, generation: number): void => {
    // Runs started by this code outlive a continue-as-new (ABANDON), so the window stays full
    // across it; a history recorded before has no marker here and replays its REQUEST_CANCEL starts.
    const carriable = patched(PATCHES.carryRunning);
    const entry: RunningDate = { ds, generation, ours: true, known: false, carriable, carried: false };
    const onStarted = (r: { ours: true; runId: string } | { ours: false }): void => {
      noteChange();
      entry.known = true;
      entry.ours = r.ours;
      if (r.ours) entry.runId = r.runId;
    };
    const params = input.params ? { params: input.params } : {};
    track(entry, runDate(pipeline, ds, generation, { abandon: carriable, onStarted, turn, ...params }));
  };
  const launch = (index: number): void => start(st.queue[index] as string, st.generations[index] ?? 0);

  /** A date carried from the previous run of this backfill joins the window. */
  const adopt = (c: CarriedDate): void => {
    // Its start was not confirmed when that run continued as new: Temporal never starts a child
    // whose parent closed first (checked on the dev server), so start it now. (Had the server
    // started it in that instant, this start finds it running and awaits it as not ours.)
    if (c.ours && !c.runId) return start(c.ds, c.generation);
    const entry: RunningDate = { ...c, known: true, carriable: true, carried: true };
    const workflowId = runWorkflowId(pipeline.name, c.ds);
    // Ours: awaited to its end even when the backfill is cancelled (cancelCarried cancels it, and
    // its stages stop their AWS jobs first). Not ours: a cancellable wait, the run is left alone.
    track(entry, c.ours ? CancellationScope.nonCancellable(() => awaitRun(workflowId, c.runId)) : awaitRun(workflowId));
  };

  /**
   * The hand-over before continue-as-new. Continuing as new while the window's runs keep sending
   * this run events (a child started, a child ended, a carried run's wait done) races them: the
   * server refuses the continue-as-new (UnhandledCommand), the worker evicts the run and replays
   * its whole history, again while events keep coming, until the window has drained — seconds per
   * continue-as-new with no date started. So: no more children. A slot that frees is filled by a
   * date started through an activity, as a run of its own whose end sends no event here (the next
   * run awaits it, carried). Once every child's start is confirmed, no child or carried date has
   * ended for `HANDOVER.quietMs` (those left are slow: carried too) and no start is in flight, the
   * continue-as-new meets no event. (Awaiting the handed-over runs here too was measured worse: the
   * busier history slowed the server's confirmations of the children's starts, so the hand-over
   * lasted up to its bound.)
   */
  let starting = 0;
  const handOff = (index: number): void => {
    const ds = st.queue[index] as string;
    const generation = st.generations[index] ?? 0;
    const entry: RunningDate = { ds, generation, ours: true, known: false, carriable: true, carried: false };
    const { workflowId, runId, taskQueue } = workflowInfo();
    const request = {
      input: { pipeline, ds, generation, ...(input.params ? { params: input.params } : {}), ...turn },
      taskQueue,
      startedBy: `${workflowId}/${runId}/${ds}/g${generation}`,
    };
    starting++;
    entry.handedOver = CancellationScope.nonCancellable(() => startDateRun(request))
      .then(
        (r): boolean => {
          entry.known = true;
          entry.ours = r.ours;
          if (r.ours) entry.runId = r.runId;
          // Cancelled while it started: cancelCarried has passed it by.
          if (cancelling && r.ours) cancelRequests.push(cancelRun(ds, r.runId));
          return true;
        },
        (err: unknown): boolean => {
          running.delete(ds);
          record(ds, failureOutcome(err));
          return false;
        },
      )
      .finally(() => {
        starting--;
        showProgress();
      });
    running.set(ds, entry);
  };
  const handOver = async (): Promise<void> => {
    const began = Date.now();
    const canLaunch = (): boolean => !st.paused && running.size < st.concurrency && st.next < st.queue.length;
    for (;;) {
      while (canLaunch()) handOff(st.next++);
      showProgress();
      const eventful = [...running.values()].filter((r) => !r.handedOver);
      const quietFor = Date.now() - Math.max(lastChange, began);
      const quiet = eventful.every((r) => r.known) && (!eventful.length || quietFor >= HANDOVER.quietMs);
      if (!starting && (quiet || Date.now() - began >= HANDOVER.maxMs)) return;
      const seen = { changes, starting };
      await condition(
        () => changes !== seen.changes || starting !== seen.starting || canLaunch(),
        Math.max(1, HANDOVER.quietMs - quietFor),
      );
    }
  };
  /**
   * Cancelled during the hand-over: the runs of ours it started are awaited to their end, like
   * carried ones (cancelCarried cancels them); one found running elsewhere is left alone.
   */
  const awaitHandedOver = (): void => {
    for (const r of [...running.values()]) {
      const started = r.handedOver;
      if (!started || r.done) continue;
      r.done = CancellationScope.nonCancellable(async () => {
        // A start that failed was recorded as the date's failure.
        if (!(await started)) return;
        const outcome: DateOutcome = r.ours
          ? await awaitRun(runWorkflowId(pipeline.name, r.ds), r.runId).catch(failureOutcome)
          : { ok: false, cancelled: true, message: 'the run was cancelled' };
        running.delete(r.ds);
        record(r.ds, outcome);
      });
    }
  };

  let draining = false;
  let carrying = false;
  showProgress();
  try {
    await work.run(async () => {
      for (const c of carried) adopt(c);
      showProgress();
      while (st.next < st.queue.length) {
        await condition(() => !st.paused && running.size < st.concurrency);
        if (shouldContinueAsNew()) {
          if (patched(PATCHES.carryRunning)) {
            // Carry the running dates, and those whose start is not confirmed yet (the next run
            // starts them: waiting for the server to confirm a window full of starts drains it).
            // Wait only for runs started before this code (REQUEST_CANCEL: continue-as-new would cancel them).
            await condition(() => [...running.values()].every((r) => !r.known || r.carriable || !r.ours));
            if (patched(PATCHES.quietHandover)) await handOver();
            carrying = true;
          } else draining = true;
          break;
        }
        launch(st.next++);
        showProgress();
      }
      if (!carrying) await condition(() => running.size === 0);
    });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelling = true;
  }
  if (cancelling) {
    cancelCarried();
    awaitHandedOver();
  }
  if (cancelling || !carrying) {
    // Cancelled or draining: the children are cancelling (their stages stop their AWS jobs); wait for all.
    await CancellationScope.nonCancellable(() =>
      Promise.all([...running.values()].map((r) => r.done as Promise<void>)),
    );
  }

  if (cancelling) {
    st.cancelled.push(...st.queue.slice(st.next));
    st.next = st.queue.length;
  } else if (carrying) {
    const still: CarriedDate[] = [...running.values()].map((r) => ({
      ds: r.ds,
      generation: r.generation,
      ours: r.ours,
      ...(r.runId ? { runId: r.runId } : {}),
    }));
    await continueAsNew<typeof backfillPipeline>({
      ...input,
      carry: { ...st, segment: st.segment + 1, running: still },
    });
  } else if (draining) {
    await continueAsNew<typeof backfillPipeline>({ ...input, carry: { ...st, segment: st.segment + 1 } });
  }
  await CancellationScope.nonCancellable(async () => {
    await Promise.all(cancelRequests);
    // Cancelled by signal: end CANCELED once Temporal has recorded the request we made.
    if (selfCancel && (await selfCancel)) await condition(() => cancelRequested);
  });
  finished = true;
  showProgress();
  const final = report();
  // Only with notify: (an await of nothing would still reorder the close against other commands).
  if (pipeline.notify?.length) await notifyBackfillEnd(pipeline, final);
  if (cancelling && patched(PATCHES.reportMemo)) upsertMemo({ [MEMO_KEYS.backfillReport]: final });
  if (cancelling)
    throw new CancelledFailure(
      `backfill cancelled: ${st.succeeded.length} succeeded, ${st.failed.length} failed, ${st.cancelled.length} cancelled`,
    );
  if (st.failed.length) {
    const first = st.failed.slice(0, 3).map((f) => `${f.ds}${f.stage ? ` (${f.stage})` : ''}`);
    throw ApplicationFailure.create({
      message: `${st.failed.length} of ${total()} dates failed: ${first.join(', ')}${st.failed.length > 3 ? ', …' : ''}`,
      type: ERROR_TYPES.backfillFailed,
      nonRetryable: true,
      details: [final],
    });
  }
  return final;
}
