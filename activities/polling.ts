/**
 * Adaptive polling: how long to wait before the next status call.
 *
 * The wait grows with the job's age: `clamp(age × AGE_FRACTION, initial, max)`. A job that finishes
 * is noticed within 20% of its elapsed time (or `max`), while a long job costs few calls: about
 * 50 status calls for a one-hour job with the defaults (2 s → 2 min). Heartbeats are sent while
 * waiting (the SDK forwards at most one per ~80% of the heartbeat timeout to the server), so the
 * number of heartbeats reaching Temporal depends on the heartbeat timeout, not on the poll rate.
 */
import type { PollSpec } from '../common/pipeline';
import { durationMs } from '../common/durations';

export const DEFAULT_POLL_INITIAL_MS = 2_000;
export const DEFAULT_POLL_MAX_MS = 120_000;
export const AGE_FRACTION = 0.2;

export interface PollBounds {
  initialMs: number;
  maxMs: number;
}

export function pollBounds(spec?: PollSpec): PollBounds {
  const initialMs = spec?.initial !== undefined ? durationMs(spec.initial) : DEFAULT_POLL_INITIAL_MS;
  const maxMs = Math.max(initialMs, spec?.max !== undefined ? durationMs(spec.max) : DEFAULT_POLL_MAX_MS);
  return { initialMs, maxMs };
}

export function nextPollDelayMs(jobAgeMs: number, bounds: PollBounds): number {
  const byAge = Math.max(0, jobAgeMs) * AGE_FRACTION;
  return Math.round(Math.min(bounds.maxMs, Math.max(bounds.initialMs, byAge)));
}
