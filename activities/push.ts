/**
 * Push completion on the stage side: while a stage waits on a job whose service emits state-change
 * events, it holds a watch (a `watchJob` workflow named after the job, see common/stage-events.ts)
 * and awaits it instead of polling. The event consumer of any worker signals the watch; the stage
 * then confirms the end with one status call. Between events it polls only every `fallbackPollMs`
 * (10 min by default), so a lost event, a consumer that is down or a watch that cannot be started
 * makes noticing slower, never wrong.
 */
import { Context, log } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import type { JobEventNotice, WatchJobInput } from '../common/stage-events';
import { releaseWatchSignal } from '../common/messages';
import { WATCH_WORKFLOW_TYPE, watchWorkflowId } from '../common/stage-events';
import type { StageHeartbeat } from '../common/run-types';

export type { StageEventsOptions } from './stage-events-config';

/** A watch outlives no stage by long: a stage whose worker died starts a new one on its next attempt. */
const WATCH_RUN_TIMEOUT = '7d';
/** Arming a watch is one call to Temporal; past this the stage polls instead. */
const ARM_TIMEOUT_MS = 10_000;

export interface Watch {
  key: string;
  handle: WorkflowHandle;
  /** Settles when the watch closes: the job's terminal event (or null: released, timed out). */
  settled: Promise<JobEventNotice | null | 'error'>;
  abort: AbortController;
}

/**
 * Starts (or joins: a retried attempt reattaching to the same job) the job's watch. Returns
 * undefined when Temporal cannot be asked: the stage then polls as without events.
 */
export async function armWatch(key: string, input: WatchJobInput): Promise<Watch | undefined> {
  const ctx = Context.current();
  try {
    const client = ctx.client;
    const handle = await client.connection.withDeadline(Date.now() + ARM_TIMEOUT_MS, () =>
      client.workflow.start(WATCH_WORKFLOW_TYPE, {
        workflowId: watchWorkflowId(key),
        taskQueue: ctx.info.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowRunTimeout: WATCH_RUN_TIMEOUT,
        staticSummary: `Waits for the end of ${key}${input.stage ? ` (stage ${input.stage})` : ''}`,
      }),
    );
    const abort = new AbortController();
    const settled = client.connection
      .withAbortSignal(abort.signal, () => handle.result() as Promise<JobEventNotice | null>)
      .catch(() => 'error' as const);
    return { key, handle, settled, abort };
  } catch (err) {
    log.warn('cannot watch for the job state-change event; polling instead', { key, error: String(err) });
    return undefined;
  }
}

/**
 * Waits up to `ms` for the watch to settle, heartbeating as the poll wait does. Returns what
 * settled it, or 'timeout'. Rejects with CancelledFailure when the activity is cancelled.
 */
export async function awaitWatch(
  watch: Watch,
  ms: number,
  details: StageHeartbeat,
): Promise<JobEventNotice | null | 'error' | 'timeout'> {
  const ctx = Context.current();
  const hbTimeout = ctx.info.heartbeatTimeoutMs;
  const slice = hbTimeout ? Math.max(100, Math.floor(hbTimeout / 3)) : ms;
  const timeout = Symbol('timeout');
  let left = ms;
  while (left > 0) {
    const step = Math.min(slice, left);
    const sleep = ctx.sleep(step).then(() => timeout);
    sleep.catch(() => undefined); // a sleep outlived by the watch must not reject unhandled on a later cancel
    const woke = await Promise.race([watch.settled, sleep]);
    ctx.heartbeat(details);
    if (woke !== timeout) return woke as JobEventNotice | null | 'error';
    left -= step;
  }
  return 'timeout';
}

/** The stage no longer waits: close its watch (best effort: an orphan ends at its run timeout). */
export async function releaseWatch(watch: Watch): Promise<void> {
  watch.abort.abort();
  try {
    await watch.handle.signal(releaseWatchSignal);
  } catch {
    // Already closed (its event arrived), or Temporal is unreachable: nothing waits on it anyway.
  }
}
