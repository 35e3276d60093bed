/**
 * How a date's run shows itself: the Temporal UI's current details (one line per stage, what it
 * cost so far) and the run as a failure or the memo carries it. Pure: metadata, no history event.
 */
import { poolWaitLine } from './pools';
import { formatUsd, runCost } from './prices';
import type { RunStatus, StageStatus } from './run-types';

/** One line per stage for the UI's current details; a failed or cancelled stage says why, and its job. */
export function stageLine(s: StageStatus): string {
  const mark = { succeeded: '✔', failed: '✘', running: '…', cancelled: '■', skipped: '–', pending: '·' }[s.state];
  const why =
    (s.state === 'failed' || s.state === 'cancelled') && s.error
      ? ` — ${s.error.message}`
      : s.state === 'skipped' && s.reason
        ? ` — ${s.reason}`
        : '';
  const job = s.jobId && !why.includes(s.jobId) ? ` [job ${s.jobId}]` : '';
  if (s.state === 'running' && s.pool && !s.pool.grantedAt) return `⧗ ${s.id} (${s.kind}): ${poolWaitLine(s.pool)}`;
  return `${mark} ${s.id} (${s.kind}): ${s.state}${why}${job}`;
}

/**
 * The Temporal UI's summary of what the run cost so far (list prices of common/prices.ts; the CLI
 * applies SLUICE_PRICES_FILE). Only once a stage reports figures.
 */
export function costLine(run: RunStatus): string[] {
  if (!run.stages.some((s) => s.state === 'succeeded' && s.result?.usage)) return [];
  const { total, prices } = runCost(run);
  return total.usd === undefined
    ? []
    : [`cost: ${formatUsd(total.usd)} (${total.note}; ${prices.region} list prices of ${prices.asOf})`];
}

/** The run's current details: its stages, then its cost. */
export function runDetails(run: RunStatus): string {
  return [...run.stages.map(stageLine), ...costLine(run)].join('\n');
}

/** The run without stage outputs (query rows can be large): what a failure or the memo carries. */
export function withoutOutputs(run: RunStatus): RunStatus {
  // A fan-out's counts and first failures stay: they are small, and what a reader needs most.
  const kept = (o: Record<string, unknown>): Record<string, unknown> | undefined =>
    typeof o.items === 'number' && typeof o.succeeded === 'number'
      ? { items: o.items, succeeded: o.succeeded, failed: o.failed, failures: o.failures, cancelled: o.cancelled }
      : undefined;
  return {
    ...run,
    stages: run.stages.map((s) =>
      s.result?.output ? { ...s, result: { ...s.result, output: kept(s.result.output) } } : s,
    ),
  };
}
