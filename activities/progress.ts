/**
 * Progress of the short, many-call kinds (s3.copy of a prefix, kinesis.put, firehose.put): they
 * heartbeat what is done after each chunk, and a retried attempt resumes from the last heartbeat
 * instead of redoing everything. Outside an activity (unit tests) there is nothing to resume and
 * heartbeats go nowhere.
 */
import { CancelledFailure, Context } from '@temporalio/activity';

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export interface Progress<T> {
  /** What an earlier attempt of this stage heartbeated, if it is of this kind. */
  prior: T | undefined;
  /** Records progress (heartbeats are throttled by the SDK; the last one also travels with a failure). */
  beat(details: T): void;
  /** Throws CancelledFailure once the run is cancelled, so a long copy or put stops between calls. */
  throwIfCancelled(): void;
  /** Sleeps, cut short (with CancelledFailure) when the run is cancelled. */
  sleep(ms: number): Promise<void>;
  /** Aborts in-flight SDK calls when the activity is cancelled. */
  signal: AbortSignal | undefined;
}

/** `tag` marks whose details they are, so a stage never resumes from another kind's heartbeat. */
export function progress<T extends { tag: string }>(tag: T['tag']): Progress<T> {
  const ctx = activityContext();
  const raw = ctx?.info.heartbeatDetails as Partial<T> | undefined;
  const prior = raw && typeof raw === 'object' && raw.tag === tag ? (raw as T) : undefined;
  return {
    prior,
    beat: (details) => ctx?.heartbeat(details),
    throwIfCancelled() {
      if (ctx?.cancellationSignal.aborted) {
        const reason: unknown = ctx.cancellationSignal.reason;
        throw reason instanceof CancelledFailure
          ? reason
          : new CancelledFailure(reason instanceof Error ? reason.message : 'cancelled');
      }
    },
    sleep: (ms) => (ctx ? ctx.sleep(ms) : new Promise((resolve) => setTimeout(resolve, ms))),
    signal: ctx?.cancellationSignal,
  };
}
