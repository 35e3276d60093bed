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
  defineQuery,
  defineSignal,
  isCancellation,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { BackfillInput, BackfillProgress, BackfillReport, BackfillState, DateRuns } from '../common/backfill-types';
import { BACKFILL_LIMITS, ERROR_TYPES, QUERY_NAMES, RUN_STATUS, SIGNAL_NAMES } from '../common/constants';
import { dateRange } from '../common/dates';
import { listDateRuns, runDate } from './date-run';

export const progressQuery = defineQuery<BackfillProgress>(QUERY_NAMES.progress);
export const pauseSignal = defineSignal(SIGNAL_NAMES.pause);
export const resumeSignal = defineSignal(SIGNAL_NAMES.resume);
export const setConcurrencySignal = defineSignal<[number]>(SIGNAL_NAMES.setConcurrency);
export const cancelSignal = defineSignal(SIGNAL_NAMES.cancel);

/** Which dates the backfill runs, in order, with their rerun generation; the rest are skipped with a reason. */
export function planBackfill(input: Pick<BackfillInput, 'from' | 'to' | 'only' | 'order'>, known: Record<string, DateRuns>): Pick<BackfillState, 'queue' | 'generations' | 'skipped'> {
  const dates = dateRange(input.from, input.to);
  if (input.order === 'newest') dates.reverse();
  const queue: string[] = [];
  const generations: number[] = [];
  const skipped: BackfillState['skipped'] = [];
  for (const ds of dates) {
    const k = known[ds];
    let skip: string | undefined;
    if (input.only === 'missing' && k?.everSucceeded) skip = 'already succeeded';
    if (input.only === 'failed' && k?.last !== RUN_STATUS.failed) skip = k ? `last run ${k.last.toLowerCase()}, not failed` : 'never ran';
    if (skip) skipped.push({ ds, reason: skip });
    else {
      queue.push(ds);
      generations.push(k?.runs ?? 0);
    }
  }
  return { queue, generations, skipped };
}

function clampConcurrency(n: number): number {
  return Math.max(1, Math.min(BACKFILL_LIMITS.maxConcurrency, Math.floor(n)));
}

export async function backfillPipeline(input: BackfillInput): Promise<BackfillReport> {
  const { pipeline } = input;
  // Carried across continue-as-new, or empty until the plan is read from visibility (below): queries
  // and signals are answered from the start.
  let st: BackfillState = input.carry ?? {
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
  const running = new Map<string, Promise<void>>();
  let cancelling = false;
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
  const showProgress = (): void => {
    const p = progress();
    const c = p.counts;
    setCurrentDetails(
      [
        `**${c.succeeded + c.failed + c.skipped + c.cancelled} / ${p.total} dates done** — ${c.running} running, ${c.pending} pending${st.paused ? ' (paused)' : ''}${cancelling ? ' (cancelling)' : ''}`,
        `succeeded ${c.succeeded} · failed ${c.failed} · skipped ${c.skipped} · cancelled ${c.cancelled} · concurrency ${st.concurrency}`,
        ...(p.running.length ? [`running: ${p.running.slice(0, 20).join(', ')}${p.running.length > 20 ? ', …' : ''}`] : []),
        ...st.failed.slice(-10).map((f) => `✘ ${f.ds}${f.stage ? ` (${f.stage})` : ''}: ${f.message}`),
      ].join('\n'),
    );
  };

  setHandler(progressQuery, progress);
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
  });

  if (!input.carry) st = { ...st, ...planBackfill(input, await listDateRuns(pipeline.name, input.from, input.to)) };

  const eventBudget = input.continueAsNewAfterEvents;
  const shouldContinueAsNew = (): boolean => workflowInfo().continueAsNewSuggested || (eventBudget !== undefined && workflowInfo().historyLength >= eventBudget);

  const launch = (index: number): void => {
    const ds = st.queue[index] as string;
    const p = runDate(pipeline, ds, st.generations[index] ?? 0)
      .then((outcome) => {
        if (outcome.ok) st.succeeded.push(ds);
        else if (outcome.cancelled) st.cancelled.push(ds);
        else st.failed.push({ ds, message: outcome.message.slice(0, 500), ...(outcome.stage ? { stage: outcome.stage } : {}) });
      })
      .finally(() => {
        running.delete(ds);
        showProgress();
      });
    running.set(ds, p);
  };

  let draining = false;
  showProgress();
  try {
    await work.run(async () => {
      while (st.next < st.queue.length) {
        await condition(() => !st.paused && running.size < st.concurrency);
        if (shouldContinueAsNew()) {
          draining = true;
          break;
        }
        launch(st.next++);
        showProgress();
      }
      await condition(() => running.size === 0);
    });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelling = true;
  }
  // Cancelled or draining: the children are cancelling (their stages stop their AWS jobs); wait for all.
  await CancellationScope.nonCancellable(() => Promise.all(running.values()));

  if (cancelling) {
    st.cancelled.push(...st.queue.slice(st.next));
    st.next = st.queue.length;
  } else if (draining) {
    await continueAsNew<typeof backfillPipeline>({ ...input, carry: { ...st, segment: st.segment + 1 } });
  }
  showProgress();
  const report: BackfillReport = {
    pipeline: pipeline.name,
    from: input.from,
    to: input.to,
    succeeded: st.succeeded,
    failed: st.failed,
    skipped: st.skipped,
    cancelled: st.cancelled,
    status: cancelling ? 'cancelled' : st.failed.length ? 'failed' : 'succeeded',
  };
  if (cancelling) throw new CancelledFailure(`backfill cancelled: ${st.succeeded.length} succeeded, ${st.failed.length} failed, ${st.cancelled.length} cancelled`);
  if (st.failed.length) {
    const first = st.failed.slice(0, 3).map((f) => `${f.ds}${f.stage ? ` (${f.stage})` : ''}`);
    throw ApplicationFailure.create({
      message: `${st.failed.length} of ${total()} dates failed: ${first.join(', ')}${st.failed.length > 3 ? ', …' : ''}`,
      type: ERROR_TYPES.backfillFailed,
      nonRetryable: true,
      details: [report],
    });
  }
  return report;
}
