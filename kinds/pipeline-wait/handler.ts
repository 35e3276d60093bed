/**
 * `pipeline.wait`: a sensor for another pipeline's run of a date (workflow ID `<pipeline>/<date>`,
 * common/naming.ts), through the worker's own Temporal client; no AWS calls.
 *
 * The activity waits inside itself, so the waiting run's history holds one activity, not a polling
 * loop: while no run of that date exists it describes the workflow ID every few seconds (the
 * stage's `poll`, 2 s growing to 10 s by default); once the latest run is running it long-polls
 * that run's close event, as `awaitRun` (activities/runs.ts) does, heartbeating meanwhile.
 *
 * - The latest run succeeded → the stage succeeds with its workflow ID, run ID and close time.
 * - It failed, was cancelled, terminated or timed out → JobFailedError with its reason, at once.
 * - The stage's deadline (`timeout.total`) passed first → SensorTimeoutError naming pipeline and date.
 * - The waiting run is cancelled (or ends otherwise) → the wait stops at once: the activity sees the
 *   cancellation (heartbeat, `ctx.sleep`), and also watches its own run's close event, since a
 *   heartbeat reaches the server at most every ~48 s at the defaults. There is nothing to stop.
 * - A worker restart or a retried attempt just waits again: the wait is stateless.
 */
import { ApplicationFailure, CancelledFailure, Context, getClient, log } from '@temporalio/activity';
import {
  WorkflowContinuedAsNewError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { ERROR_TYPES, RUN_STATUS } from '../../common/constants';
import { logicalDateProblem } from '../../common/dates';
import { durationMs } from '../../common/durations';
import { runWorkflowId } from '../../common/naming';
import { failureOutcome } from '../../common/outcomes';
import type { PollSpec } from '../../common/pipeline';
import type { StageResult } from '../../common/run-types';
import { stageInputFailure } from '../../activities/errors';
import { nextPollDelayMs, type PollBounds } from '../../activities/polling';
import type { ImmediateHandler, StageContext } from '../../activities/stage-handler';

/** Pipeline names as common/pipeline.ts accepts them (its `name`). */
const PIPELINE_NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** Checks for a run that does not exist yet: 2 s, growing with the wait's age to 10 s (the stage's `poll` overrides). */
export const WAIT_CHECK_DEFAULTS: PollBounds = { initialMs: 2_000, maxMs: 10_000 };
/** Longest pause between two heartbeats (a third of the heartbeat timeout when that is shorter). */
const HEARTBEAT_EVERY_MS = 10_000;
/** Temporal calls failing in a row (not "not found") before the attempt gives up and is retried. */
const MAX_CALL_ERRORS = 5;

export interface WaitTarget {
  pipeline: string;
  date: string;
  workflowId: string;
}

/** The run waited on, from the rendered params; a value that is no pipeline name or date is a StageInputError. */
export function waitTarget(ctx: Pick<StageContext, 'stageId' | 'ds' | 'params'>): WaitTarget {
  const { pipeline, date = ctx.ds } = ctx.params;
  if (typeof pipeline !== 'string' || !PIPELINE_NAME.test(pipeline))
    throw stageInputFailure(
      `stage ${ctx.stageId}: params.pipeline is ${JSON.stringify(pipeline)}, not a pipeline name (lower-case letters, digits, "_" or "-")`,
    );
  const problem = typeof date === 'string' ? logicalDateProblem(date) : 'expected a date written YYYY-MM-DD';
  if (problem || typeof date !== 'string')
    throw stageInputFailure(`stage ${ctx.stageId}: params.date is ${JSON.stringify(date)}: ${problem}`);
  return { pipeline, date, workflowId: runWorkflowId(pipeline, date) };
}

/** The check interval's bounds: the stage's `poll`, else {@link WAIT_CHECK_DEFAULTS}. */
export function waitCheckBounds(spec?: PollSpec): PollBounds {
  const initialMs = spec?.initial !== undefined ? durationMs(spec.initial) : WAIT_CHECK_DEFAULTS.initialMs;
  const maxMs = spec?.max !== undefined ? durationMs(spec.max) : Math.max(initialMs, WAIT_CHECK_DEFAULTS.maxMs);
  return { initialMs, maxMs: Math.max(initialMs, maxMs) };
}

/** The JobFailedError for a latest run that closed without succeeding. */
export function runEndedFailure(
  workflowId: string,
  runId: string,
  status: string,
  reason: string | undefined,
): ApplicationFailure {
  const how =
    status === 'FAILED'
      ? `failed: ${reason ?? 'no reason given'}`
      : status === 'CANCELLED'
        ? 'was cancelled'
        : status === 'TERMINATED'
          ? `was terminated${reason ? `: ${reason}` : ''}`
          : status === 'TIMED_OUT'
            ? 'timed out (its workflow execution timeout)'
            : `ended ${status}`;
  return ApplicationFailure.create({
    message: `${workflowId} ${how}`,
    type: ERROR_TYPES.jobFailed,
    nonRetryable: true,
    details: [{ workflowId, runId, status }],
  });
}

function sensorTimeout(target: WaitTarget, runId: string | undefined): ApplicationFailure {
  const state = runId
    ? `its run ${runId} is still running`
    : `no run of ${target.pipeline} for ${target.date} has started`;
  return ApplicationFailure.create({
    message: `${target.workflowId} did not succeed before the stage deadline: ${state}`,
    type: ERROR_TYPES.sensorTimeout,
    nonRetryable: true,
    details: [{ workflowId: target.workflowId, pipeline: target.pipeline, date: target.date, runId: runId ?? null }],
  });
}

/** Settles when the run has closed (any way); rejects only when the long-poll itself failed. */
function closeOf(client: Client, workflowId: string, runId: string, signal: AbortSignal): Promise<void> {
  return client
    .withAbortSignal(signal, () => client.workflow.getHandle(workflowId, runId, { followRuns: false }).result())
    .then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof WorkflowFailedError || err instanceof WorkflowContinuedAsNewError) return undefined;
        throw err;
      },
    );
}

class OwnRunEnded extends Error {}

async function waitForRun(sctx: StageContext, target: WaitTarget): Promise<StageResult> {
  const actx = Context.current();
  const client = getClient();
  const own = actx.info.workflowExecution;
  const bounds = waitCheckBounds(sctx.poll);
  const deadlineMs = sctx.deadlineMs;
  const hbTimeout = actx.info.heartbeatTimeoutMs;
  const beatEveryMs = hbTimeout
    ? Math.max(100, Math.min(HEARTBEAT_EVERY_MS, Math.floor(hbTimeout / 3)))
    : HEARTBEAT_EVERY_MS;
  const startedAtMs = Date.now();
  // Aborts every call still in flight (long-polls included) once the wait is over, however it ends.
  const calls = new AbortController();
  const onCancel = (): void => calls.abort();
  actx.cancellationSignal.addEventListener('abort', onCancel);

  // The waiting run itself: once it has closed (cancelled, terminated), nobody needs this wait.
  let ownEnded = false;
  const never = new Promise<void>(() => undefined);
  const ownClosed = own
    ? closeOf(client, own.workflowId, own.runId, calls.signal).then(
        () => {
          ownEnded = true;
        },
        () => never, // the watch failed: rely on the cancellation alone
      )
    : never;

  let checks = 0;
  let runId: string | undefined;
  const beat = (): void => actx.heartbeat({ waitingFor: target.workflowId, runId: runId ?? null, checks });
  const throwIfStopped = (): void => {
    if (actx.cancellationSignal.aborted) {
      const reason: unknown = actx.cancellationSignal.reason;
      throw reason instanceof CancelledFailure
        ? reason
        : new CancelledFailure(reason instanceof Error ? reason.message : 'cancelled');
    }
    if (ownEnded) throw new OwnRunEnded();
  };
  /**
   * Waits up to `ms` (never past the deadline) or until `until` settles, heartbeating; true when
   * `until` settled. Rejects with CancelledFailure when cancelled, OwnRunEnded when the run ended.
   */
  const pause = async (ms: number, until?: Promise<unknown>): Promise<boolean> => {
    const settled = until?.then(
      () => true,
      () => true,
    );
    let left = ms;
    while (left > 0) {
      throwIfStopped();
      const step = Math.min(left, beatEveryMs, deadlineMs !== undefined ? Math.max(0, deadlineMs - Date.now()) : left);
      const waits = [actx.sleep(step).then(() => false), ownClosed.then(() => false)];
      const done = await Promise.race(settled ? [...waits, settled] : waits);
      throwIfStopped();
      if (done) return true;
      beat();
      left -= step;
      if (deadlineMs !== undefined && Date.now() >= deadlineMs) return false;
    }
    return false;
  };

  beat();
  log.info('waiting for a run of another pipeline', { workflowId: target.workflowId, deadlineMs });
  let errors = 0;
  try {
    for (;;) {
      let desc: WorkflowExecutionDescription | undefined;
      try {
        desc = await client.withAbortSignal(calls.signal, () =>
          client.workflow.getHandle(target.workflowId, runId).describe(),
        );
        errors = 0;
      } catch (err) {
        throwIfStopped();
        if (err instanceof WorkflowNotFoundError) {
          runId = undefined;
        } else {
          if (++errors >= MAX_CALL_ERRORS)
            throw ApplicationFailure.create({
              message: `Temporal: cannot describe ${target.workflowId}: ${(err as Error).message ?? String(err)}`,
              type: 'TemporalCallError',
              cause: err instanceof Error ? err : undefined,
            });
          log.warn('describe failed, will retry', { workflowId: target.workflowId, error: String(err) });
        }
      }
      checks++;
      const status = desc?.status.name;
      if (desc && status === 'COMPLETED') {
        const closedAt = (desc.closeTime ?? new Date()).toISOString();
        return {
          summary: `${target.workflowId} succeeded (run ${desc.runId}, closed ${closedAt})`,
          output: { workflowId: target.workflowId, runId: desc.runId, status: RUN_STATUS.succeeded, closedAt },
        };
      }
      if (desc && status !== 'RUNNING' && status !== 'CONTINUED_AS_NEW') {
        const closedRunId = desc.runId;
        let reason: string | undefined;
        try {
          await client.withAbortSignal(calls.signal, () =>
            client.workflow.getHandle(target.workflowId, closedRunId, { followRuns: false }).result(),
          );
        } catch (err) {
          throwIfStopped();
          if (err instanceof WorkflowFailedError) reason = failureOutcome(err.cause ?? err).message;
        }
        throw runEndedFailure(target.workflowId, closedRunId, status ?? 'UNKNOWN', reason);
      }
      // Continued as new: its continuation is the latest run, described next.
      runId = status === 'RUNNING' ? desc?.runId : undefined;
      if (deadlineMs !== undefined && Date.now() >= deadlineMs) throw sensorTimeout(target, runId);
      if (status === 'RUNNING' && runId) {
        // Long-poll its close event until the deadline; then describe it for how it ended.
        const closed = closeOf(client, target.workflowId, runId, calls.signal);
        closed.catch(() => undefined);
        const remaining = deadlineMs !== undefined ? deadlineMs - Date.now() : Number.POSITIVE_INFINITY;
        if (await pause(remaining, closed)) {
          // A long-poll that failed (not a close) is retried after a short pause, not in a tight loop.
          if (
            await closed.then(
              () => false,
              () => true,
            )
          )
            await pause(bounds.initialMs);
        }
        continue;
      }
      if (status !== 'CONTINUED_AS_NEW') await pause(nextPollDelayMs(Date.now() - startedAtMs, bounds));
    }
  } catch (err) {
    if (err instanceof OwnRunEnded) {
      log.info('the waiting run has ended: stopped waiting', { workflowId: target.workflowId });
      throw new CancelledFailure(
        `the run ${own?.workflowId ?? ''} has ended: stopped waiting for ${target.workflowId}`,
      );
    }
    throw err;
  } finally {
    actx.cancellationSignal.removeEventListener('abort', onCancel);
    calls.abort();
  }
}

export const pipelineWait: ImmediateHandler = {
  kind: 'pipeline.wait',
  mode: 'immediate',
  service: 'Temporal',
  async run(ctx) {
    const target = waitTarget(ctx);
    const own = Context.current().info.workflowExecution;
    if (own?.workflowId === target.workflowId)
      throw stageInputFailure(
        `stage ${ctx.stageId}: waits for ${target.workflowId}, the run it is part of: it would wait until its deadline`,
      );
    return waitForRun(ctx, target);
  },
};
