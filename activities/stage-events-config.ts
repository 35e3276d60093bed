/**
 * Push-completion settings (see activities/push.ts and plugin/stage-events.ts), read by the
 * stage activities and by SluicePlugin. No SDK imports: the CLI's client side loads the plugin.
 */
import { durationMs } from '../common/durations';

export interface StageEventsOptions {
  /** Stages wait for state-change events where their kind has them. */
  enabled: boolean;
  /** The status call made while an event is awaited, in case it was lost. Default 10 min. */
  fallbackPollMs: number;
}

export interface StageEventSettings extends StageEventsOptions {
  /** The SQS queue the EventBridge rule fills; the worker consumes it. */
  queueUrl?: string;
}

export const DEFAULT_FALLBACK_POLL_MS = 600_000;
/** A waiting stage makes a status call each fallback period: a shorter one (0) would call without pause. */
export const MIN_FALLBACK_POLL_MS = 1000;

/**
 * The settings given, else the environment's: SLUICE_EVENTS_QUEUE_URL (push completion is on when
 * it is set), SLUICE_EVENTS=off (turns it off), SLUICE_EVENTS_FALLBACK_POLL (default 10m). The
 * worker validates them first (workers/config.ts).
 */
export function stageEventSettings(
  given: Partial<StageEventSettings> = {},
  env: NodeJS.ProcessEnv = process.env,
): StageEventSettings {
  const queueUrl = given.queueUrl ?? (env.SLUICE_EVENTS_QUEUE_URL?.trim() || undefined);
  const switchedOff = ['off', 'false', '0', 'no'].includes((env.SLUICE_EVENTS ?? '').trim().toLowerCase());
  const fallback = env.SLUICE_EVENTS_FALLBACK_POLL?.trim();
  const fallbackPollMs = given.fallbackPollMs ?? (fallback ? fallbackFromEnv(fallback) : DEFAULT_FALLBACK_POLL_MS);
  if (!Number.isFinite(fallbackPollMs) || fallbackPollMs < MIN_FALLBACK_POLL_MS) {
    throw new Error(
      `stage events: the fallback poll must be at least ${MIN_FALLBACK_POLL_MS} ms (received ${fallbackPollMs}): a stage waiting for an event makes a status call each period; use e.g. 600000 (10 min)`,
    );
  }
  return {
    enabled: given.enabled ?? (queueUrl !== undefined && !switchedOff),
    fallbackPollMs,
    ...(queueUrl ? { queueUrl } : {}),
  };
}

function fallbackFromEnv(raw: string): number {
  try {
    return durationMs(raw);
  } catch {
    throw new Error(`SLUICE_EVENTS_FALLBACK_POLL: expected a duration such as 10m (received ${JSON.stringify(raw)})`);
  }
}
