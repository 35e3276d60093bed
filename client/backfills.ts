/**
 * The programmatic API behind `sluice backfill`: validate a backfill request, start it, steer it
 * (pause, resume, set-concurrency, cancel) and follow its progress.
 */
import { SingleBar } from 'cli-progress';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { datesDone, type BackfillOptions, type BackfillProgress, type BackfillReport } from '../common/backfill-types';
import { BACKFILL_LIMITS, MEMO_KEYS, WORKFLOW_TYPES } from '../common/constants';
import { daysInRange } from '../common/dates';
import { runUiUrl, type RunTarget } from '../common/env';
import { failureOutcome } from '../common/outcomes';
import { validateLogicalDate, type PipelineDefinition } from '../common/pipeline';
import { SA_PIPELINE } from '../common/search-attributes';
import type { backfillPipeline } from '../workflows';
import { pauseSignal, progressQuery, reportQuery, resumeSignal, setConcurrencySignal } from '../common/messages';
import { UserInputError } from './errors';

export function backfillWorkflowId(pipeline: string, from: string, to: string): string {
  return `${pipeline}/backfill/${from}..${to}`;
}

export function backfillSummary(pipeline: string, o: BackfillOptions): string {
  const n = daysInRange(o.from, o.to);
  return `Backfill ${pipeline} ${o.from} → ${o.to}: ${n} date${n === 1 ? '' : 's'}, concurrency ${o.concurrency}, only ${o.only}, ${o.order} first`;
}

/** Checks a backfill request before anything starts; throws UserInputError with the fix. */
export function validateBackfillOptions(o: BackfillOptions, force = false): BackfillOptions {
  validateLogicalDate(o.from, '--from');
  validateLogicalDate(o.to, '--to');
  if (o.from > o.to)
    throw new UserInputError(
      `--from ${o.from} is after --to ${o.to}.\n  Fix: give the earlier date as --from (both are included).`,
    );
  const n = daysInRange(o.from, o.to);
  if (n > BACKFILL_LIMITS.maxDates) {
    throw new UserInputError(
      `the range ${o.from} → ${o.to} has ${n} dates, more than one backfill can hold (${BACKFILL_LIMITS.maxDates}).\n  Fix: split it into several backfills.`,
    );
  }
  if (n > BACKFILL_LIMITS.maxDatesWithoutForce && !force) {
    throw new UserInputError(
      `the range ${o.from} → ${o.to} has ${n} dates, more than ${BACKFILL_LIMITS.maxDatesWithoutForce} (about a year).\n  Fix: check the dates, or add --force to run them all.`,
    );
  }
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > BACKFILL_LIMITS.maxConcurrency) {
    throw new UserInputError(
      `--concurrency must be a whole number from 1 to ${BACKFILL_LIMITS.maxConcurrency} (received ${o.concurrency}).\n  Fix: e.g. --concurrency 4.`,
    );
  }
  if (!['missing', 'failed', 'all'].includes(o.only))
    throw new UserInputError(`--only must be missing, failed or all (received "${o.only}").`);
  if (!['oldest', 'newest'].includes(o.order))
    throw new UserInputError(`--order must be oldest or newest (received "${o.order}").`);
  return o;
}

export interface StartedBackfill {
  workflowId: string;
  runId: string;
  url?: string;
  attached: boolean;
  handle: WorkflowHandle<typeof backfillPipeline>;
}

export async function startBackfill(
  client: Client,
  settings: RunTarget,
  pipeline: PipelineDefinition,
  options: BackfillOptions,
  extra: { continueAsNewAfterEvents?: number } = {},
): Promise<StartedBackfill> {
  const workflowId = backfillWorkflowId(pipeline.name, options.from, options.to);
  try {
    const handle = await client.workflow.start<typeof backfillPipeline>(WORKFLOW_TYPES.backfillPipeline, {
      workflowId,
      taskQueue: settings.taskQueue,
      args: [{ pipeline, ...options, ...extra }],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: backfillSummary(pipeline.name, options),
      typedSearchAttributes: [{ key: SA_PIPELINE, value: pipeline.name }],
    });
    const url = runUiUrl(settings, workflowId, handle.firstExecutionRunId);
    return { workflowId, runId: handle.firstExecutionRunId, ...(url ? { url } : {}), attached: false, handle };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const handle = client.workflow.getHandle<typeof backfillPipeline>(workflowId);
    const { runId } = await handle.describe();
    const url = runUiUrl(settings, workflowId, runId);
    return { workflowId, runId, ...(url ? { url } : {}), attached: true, handle };
  }
}

export function backfillHandle(client: Client, workflowId: string): WorkflowHandle<typeof backfillPipeline> {
  return client.workflow.getHandle<typeof backfillPipeline>(workflowId);
}

export async function backfillProgress(handle: WorkflowHandle): Promise<BackfillProgress> {
  return handle.query(progressQuery);
}

/** What ran and what was cancelled, so far or in the end (a cancelled backfill has no result to carry it). */
export async function backfillReport(handle: WorkflowHandle): Promise<BackfillReport> {
  return handle.query(reportQuery);
}

export const steer = {
  pause: (h: WorkflowHandle) => h.signal(pauseSignal),
  resume: (h: WorkflowHandle) => h.signal(resumeSignal),
  setConcurrency: (h: WorkflowHandle, n: number) => h.signal(setConcurrencySignal, n),
  // A cancellation request, not the cancel signal: only then does the backfill end CANCELED.
  cancel: async (h: WorkflowHandle) => {
    await h.cancel();
  },
};

export type BackfillOutcome = {
  status: 'succeeded' | 'failed' | 'cancelled';
  report?: BackfillReport;
  message?: string;
};

/** Waits for the backfill; `onProgress` sees each progress reading (the query is polled; queries add no history). */
export async function waitForBackfill(
  handle: WorkflowHandle<typeof backfillPipeline>,
  onProgress?: (p: BackfillProgress) => void,
  intervalMs = 1000,
): Promise<BackfillOutcome> {
  let done = false;
  const poller = (async () => {
    while (!done && onProgress) {
      try {
        onProgress(await backfillProgress(handle));
      } catch {
        // between continue-as-new runs, or not started yet: try again
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  try {
    const report = await handle.result();
    return { status: 'succeeded', report };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const outcome = failureOutcome(err.cause ?? err);
    if (outcome.cancelled) {
      // A cancelled workflow carries no result: its memo has the report (backfills cancelled before
      // the memo existed answer the report query, replayed by a live worker).
      const memo = (await handle.describe().catch(() => undefined))?.memo?.[MEMO_KEYS.backfillReport] as
        BackfillReport | undefined;
      const report = memo ?? (await backfillReport(handle).catch(() => undefined));
      return {
        status: 'cancelled',
        message: report
          ? `backfill cancelled: ${report.succeeded.length} succeeded, ${report.failed.length} failed, ${report.cancelled.length} cancelled`
          : outcome.message,
        ...(report ? { report } : {}),
      };
    }
    const details =
      err.cause instanceof ApplicationFailure ? (err.cause.details?.[0] as BackfillReport | undefined) : undefined;
    return { status: 'failed', message: outcome.message, ...(details ? { report: details } : {}) };
  } finally {
    done = true;
    await poller;
    if (onProgress) {
      try {
        onProgress(await backfillProgress(handle));
      } catch {
        // the final reading is a nicety
      }
    }
  }
}

/** Time left at the pace of the dates run so far (skipped dates cost nothing); '…' until one has run. */
export function estimate(p: BackfillProgress, ran: number, nowMs = Date.now()): string {
  const left = p.counts.pending + p.counts.running;
  if (left === 0) return '0s';
  if (ran === 0) return '…';
  const seconds = Math.round((((nowMs - Date.parse(p.startedAt)) / ran) * left) / 1000);
  return seconds < 90
    ? `${seconds}s`
    : seconds < 5400
      ? `${Math.round(seconds / 60)}m`
      : `${(seconds / 3600).toFixed(1)}h`;
}

/** A live progress bar on stderr: dates done / total, running, failed, ETA. */
export function progressBar(
  cost?: () => string,
  pools?: () => string,
): { update(p: BackfillProgress): void; stop(): void } {
  const bar = new SingleBar({
    format:
      'dates {bar} {value}/{total} | running {running} | succeeded {succeeded} | failed {failed} | skipped {skipped} | ETA {etaText}{cost}{pools}{state}',
    hideCursor: true,
    etaBuffer: 20,
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 5000,
  });
  let started = false;
  return {
    update(p) {
      const c = p.counts;
      const value = datesDone(c);
      const payload = {
        running: c.running,
        succeeded: c.succeeded,
        failed: c.failed,
        skipped: c.skipped,
        etaText: estimate(p, c.succeeded + c.failed + c.cancelled),
        cost: cost ? ` | cost ${cost()}` : '',
        pools: pools?.() ? ` | ${pools()}` : '',
        state: p.paused ? ' (paused)' : p.cancelling ? ' (cancelling)' : '',
      };
      if (p.total === 0) return; // still reading the plan from visibility
      if (!started) {
        bar.start(p.total, value, payload);
        started = true;
      } else {
        bar.setTotal(p.total);
        bar.update(value, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function formatReport(r: BackfillReport): string {
  const lines = [
    `Backfill of ${r.pipeline} ${r.from} → ${r.to}: ${r.status}`,
    `  succeeded ${r.succeeded.length}, failed ${r.failed.length}, skipped ${r.skipped.length}, cancelled ${r.cancelled.length}`,
  ];
  for (const f of r.failed) lines.push(`  ✘ ${f.ds}${f.stage ? ` stage ${f.stage}` : ''}: ${f.message}`);
  const skipReasons = new Map<string, number>();
  for (const s of r.skipped) skipReasons.set(s.reason, (skipReasons.get(s.reason) ?? 0) + 1);
  for (const [reason, n] of skipReasons) lines.push(`  – skipped ${n}: ${reason}`);
  if (r.cancelled.length)
    lines.push(`  ■ cancelled: ${r.cancelled.slice(0, 10).join(', ')}${r.cancelled.length > 10 ? ', …' : ''}`);
  if (r.failed.length) lines.push(`  Next: rerun the failed dates with --only failed.`);
  return lines.join('\n');
}
