/**
 * The generic stage runner: the one implementation of the stage lifecycle for every kind.
 *
 *   reattach (heartbeat details of an earlier attempt) → find (by idempotency key) → start
 *   → heartbeat the job id at once → poll with adaptive backoff, heartbeating while waiting
 *   → on cancellation requested by the workflow: stop the job and wait until AWS confirms.
 *
 * A worker crash at any point leaves at most one job: before the start call nothing exists;
 * after it, the job id is either heartbeated (the next attempt reattaches) or findable by key
 * (client token or a tagged run), so the next attempt adopts it instead of starting another.
 */
import { ApplicationFailure, CancelledFailure, Context, log } from '@temporalio/activity';
import { failedExpectations } from '../common/checks';
import { ERROR_TYPES } from '../common/constants';
import type { StageHeartbeat, StageInput, StageResult, StageUsage } from '../common/run-types';
import { renderDeep, templateContext } from '../common/templating';
import { KINDS } from '../kinds';
import { TRACE_ATTRIBUTES, traceAttributes } from '../common/tracing';
import type { AwsClients } from './aws-clients';
import { awsCall, awsFailure, isTransientAwsError, jobEndedFailure } from './errors';
import { nextPollDelayMs, pollBounds } from './polling';
import { armWatch, awaitWatch, releaseWatch, type Watch } from './push';
import type { StageEventsOptions } from './stage-events-config';
import type { JobHandler, JobStatus, StageContext, StageHandler } from './stage-handler';

/**
 * After a job's terminal event, how long its status may still read running (AWS's APIs are
 * eventually consistent) before the stage waits for events again: it polls at the initial rate.
 */
const EVENT_CONFIRM_WINDOW_MS = 30_000;

/** How long to wait for AWS to confirm a stop before reporting the cancellation anyway. */
const STOP_CONFIRM_TIMEOUT_MS = 120_000;
const STOP_CONFIRM_POLL_MS = 500;

export function stageContext(
  input: Pick<StageInput, 'pipeline' | 'ds' | 'stageId' | 'params' | 'idempotencyKey' | 'rendered'>,
  clients: AwsClients,
): StageContext {
  return {
    pipeline: input.pipeline,
    ds: input.ds,
    stageId: input.stageId,
    params: input.rendered ? input.params : renderDeep(input.params, templateContext(input.pipeline, input.ds)),
    idempotencyKey: input.idempotencyKey,
    clients,
  };
}

function plainSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sleeps `ms`, heartbeating often enough that the server never thinks the worker is gone. */
async function waitWithHeartbeats(ms: number, details: StageHeartbeat): Promise<void> {
  const ctx = Context.current();
  const hbTimeout = ctx.info.heartbeatTimeoutMs;
  const slice = hbTimeout ? Math.max(100, Math.floor(hbTimeout / 3)) : ms;
  let left = ms;
  while (left > 0) {
    const step = Math.min(slice, left);
    await ctx.sleep(step); // rejects with CancelledFailure when the activity is cancelled
    ctx.heartbeat(details);
    left -= step;
  }
}

/** The first wait after a start refused for capacity, and the longest (AWS gives no retry-after). */
const CAPACITY_WAIT_MIN_MS = 1_000;
const CAPACITY_WAIT_MAX_MS = 30_000;

/** Whether AWS refused the start because a limit is full (the kind's capacityErrors). */
export function isCapacityRefusal(handler: Pick<StageHandler, 'capacityErrors'>, err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === 'string' && (handler.capacityErrors ?? []).includes(name);
}

/** The wait before the n-th start again (0-based): doubling from 1 s to 30 s, with jitter so waiters do not start in step. */
export function capacityWaitMs(refused: number, random: () => number = Math.random): number {
  const base = Math.min(CAPACITY_WAIT_MAX_MS, CAPACITY_WAIT_MIN_MS * 2 ** Math.min(refused, 10));
  return Math.round(base * (0.5 + random() / 2));
}

/** What waiting for capacity cost a stage: refused starts and the time waited (reported apart from the job's time). */
interface CapacityWait {
  refused: number;
  waitedMs: number;
}

/**
 * Runs the start call; a refusal for capacity is waiting, never failing: heartbeat, wait, start
 * again, within the same attempt (no retry attempt is spent; a cancel ends the wait, no job exists).
 */
async function startWhenCapacity<T>(
  handler: StageHandler,
  sctx: StageContext,
  wait: CapacityWait,
  start: () => Promise<T>,
): Promise<T> {
  for (;;) {
    try {
      return await start();
    } catch (err) {
      if (!isCapacityRefusal(handler, err)) throw err;
      const ms = capacityWaitMs(wait.refused);
      wait.refused++;
      log.info('start refused for capacity; waiting', {
        stage: sctx.stageId,
        kind: handler.kind,
        code: (err as { name?: string }).name,
        refused: wait.refused,
        waitMs: ms,
      });
      const t0 = Date.now();
      await waitWithHeartbeats(ms, { waitingForCapacity: wait.refused } as unknown as StageHeartbeat);
      wait.waitedMs += Date.now() - t0;
    }
  }
}

/** Describe, tolerating transient errors: a throttled status call is not a failed job. */
async function describeOnce(handler: JobHandler, sctx: StageContext, jobId: string): Promise<JobStatus | undefined> {
  try {
    return await handler.describe(sctx, jobId);
  } catch (err) {
    if (isTransientAwsError(err)) {
      log.warn('status call failed, will retry', { stage: sctx.stageId, jobId, error: String(err) });
      return undefined;
    }
    throw awsFailure(err, { service: handler.service, operation: 'status', jobId });
  }
}

/** Stops the job and waits (bounded) until AWS reports it ended. Used when the run is cancelled. */
export async function stopAndConfirm(
  handler: JobHandler,
  sctx: StageContext,
  jobId: string,
): Promise<JobStatus | undefined> {
  if (!handler.stop) return undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      await handler.stop(sctx, jobId);
      break;
    } catch (err) {
      if (!isTransientAwsError(err) || attempt >= 5)
        throw awsFailure(err, { service: handler.service, operation: 'stop', jobId });
      await plainSleep(500 * 2 ** attempt);
    }
  }
  log.info('stop requested', { stage: sctx.stageId, jobId });
  const deadline = Date.now() + STOP_CONFIRM_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const status = await describeOnce(handler, sctx, jobId);
    if (status && status.state !== 'running') return status;
    await plainSleep(STOP_CONFIRM_POLL_MS);
  }
  return undefined;
}

function terminalFailure(
  handler: JobHandler,
  jobId: string,
  status: Exclude<JobStatus, { state: 'running' | 'succeeded' }>,
): ApplicationFailure {
  return jobEndedFailure(status.state, {
    service: handler.service,
    jobId,
    awsState: status.awsState,
    ...(status.message ? { message: status.message } : {}),
  });
}

async function runJob(
  handler: JobHandler,
  sctx: StageContext,
  input: StageInput,
  capacity: CapacityWait,
  events?: StageEventsOptions,
): Promise<StageResult & { watched?: boolean }> {
  const ctx = Context.current();
  sctx.firstScheduledAtMs ??= ctx.info.scheduledTimestampMs;
  const prior = ctx.info.heartbeatDetails as StageHeartbeat | undefined;
  let jobId = prior?.jobId;
  let reattached = jobId !== undefined;
  if (!jobId && handler.find) {
    jobId = await awsCall({ service: handler.service, operation: 'find' }, () => handler.find!(sctx));
    reattached = jobId !== undefined;
  }
  if (!jobId) {
    jobId = await awsCall({ service: handler.service, operation: 'start' }, () =>
      startWhenCapacity(handler, sctx, capacity, () => handler.start(sctx)),
    );
  }
  const hb: StageHeartbeat = {
    jobId,
    startedAtMs: prior?.startedAtMs ?? Date.now(),
    polls: prior?.polls ?? 0,
    key: input.idempotencyKey,
  };
  // Heartbeat the job id at once: the first heartbeat is sent without throttling.
  ctx.heartbeat(hb);
  traceAttributes({ [TRACE_ATTRIBUTES.jobId]: jobId });
  log.info(reattached ? 'reattached to job' : 'job started', { stage: sctx.stageId, kind: handler.kind, jobId });

  const bounds = pollBounds(input.poll);
  let usage: StageUsage | undefined;
  // Push completion: the key under which this job's state-change event is awaited.
  const watchKey = events?.enabled && handler.watchKey ? handler.watchKey(sctx, jobId) : undefined;
  let watch: Watch | undefined;
  let confirmUntil = 0;
  let noticedBy: 'event' | 'poll' = 'poll';
  let watched = false;
  try {
    for (;;) {
      // The watch is armed before the status call: an end before it is seen by the call, one after
      // it by the watch (also when this attempt reattaches after a worker restart).
      if (watchKey && !watch && Date.now() >= confirmUntil)
        watch = await armWatch(watchKey, { key: watchKey, stage: `${sctx.pipeline} ${sctx.ds} ${sctx.stageId}` });
      watched ||= watch !== undefined;
      const status = await describeOnce(handler, sctx, jobId);
      hb.polls++;
      if (status?.state === 'succeeded') {
        usage = status.usage;
        break;
      }
      if (status && status.state !== 'running') throw terminalFailure(handler, jobId, status);
      if (KINDS[handler.kind].sensor && input.deadlineMs !== undefined && Date.now() >= input.deadlineMs) {
        throw ApplicationFailure.create({
          message: `${handler.service}: ${jobId} did not appear before the stage deadline`,
          type: ERROR_TYPES.sensorTimeout,
          nonRetryable: true,
          details: [{ jobId }],
        });
      }
      if (watch) {
        const woke = await awaitWatch(watch, events!.fallbackPollMs, hb);
        if (woke === 'timeout') continue; // the fallback poll
        // The watch closed: the job's event, or (rarely) a watch released or timed out. Confirm.
        watch = undefined;
        if (woke !== null && woke !== 'error') {
          noticedBy = 'event';
          confirmUntil = Date.now() + EVENT_CONFIRM_WINDOW_MS;
          log.info('job state-change event', { stage: sctx.stageId, jobId, awsState: woke.state });
        }
        continue;
      }
      let delay = Date.now() < confirmUntil ? bounds.initialMs : nextPollDelayMs(Date.now() - hb.startedAtMs, bounds);
      if (KINDS[handler.kind].sensor && input.deadlineMs !== undefined)
        delay = Math.max(0, Math.min(delay, input.deadlineMs - Date.now()));
      await waitWithHeartbeats(delay, hb);
    }
  } catch (err) {
    const why = ctx.cancellationDetails;
    if (err instanceof CancelledFailure && why?.cancelRequested) {
      // The run was cancelled: the job must not outlive it. Other cancellation causes (worker
      // shutdown, this attempt timed out) leave the job running for the next attempt to adopt.
      const final = await stopAndConfirm(handler, sctx, jobId);
      const awsState = final?.awsState ?? 'unconfirmed';
      log.info('job stopped on cancellation', { stage: sctx.stageId, jobId, awsState });
      // Tell the workflow which job was stopped, so the run's status names it (a cancellation
      // reaches the workflow with its details only, not its message).
      const message = `${handler.service} job ${jobId} stopped on cancellation (${awsState})`;
      throw new CancelledFailure(message, [{ jobId, awsState, message }]);
    }
    throw err;
  } finally {
    if (watch) await releaseWatch(watch);
  }
  const collected = handler.collect
    ? await awsCall({ service: handler.service, operation: 'results', jobId }, () => handler.collect!(sctx, jobId))
    : undefined;
  if (input.expect) {
    const failed = failedExpectations(input.expect, collected?.output ?? {});
    if (failed.length) {
      throw ApplicationFailure.create({
        message: `quality check failed on ${handler.service} job ${jobId}: expected ${failed.join('; ')}`,
        type: ERROR_TYPES.qualityCheck,
        nonRetryable: true,
        details: [{ jobId, failed, output: collected?.output ?? null }],
      });
    }
  }
  return {
    jobId,
    summary: collected?.summary ?? `${handler.service} job ${jobId} succeeded`,
    ...(collected?.output ? { output: collected.output } : {}),
    ...(collected?.usage || usage ? { usage: collected?.usage ?? usage } : {}),
    polls: hb.polls,
    reattached,
    noticedBy,
    ...(watched ? { watched } : {}),
  };
}

/** The SDK's heartbeat throttle as the worker sets it (workers/worker.ts: maxHeartbeatThrottleInterval). */
const MAX_HEARTBEAT_THROTTLE_MS = 120_000;

/** Estimated Temporal actions of a stage: see StageResult.temporalActions. */
function temporalActions(attemptStartedAt: number, watched: boolean): number {
  const info = Context.current().info;
  const throttle = Math.min(0.8 * (info.heartbeatTimeoutMs ?? Infinity), MAX_HEARTBEAT_THROTTLE_MS);
  const heartbeats = info.heartbeatTimeoutMs ? 1 + Math.floor((Date.now() - attemptStartedAt) / throttle) : 0;
  return info.attempt + heartbeats + (watched ? 2 : 0);
}

/** Runs one stage of one pipeline run. */
export async function runWithHandler(
  handler: StageHandler,
  input: StageInput,
  clients: AwsClients,
  events?: StageEventsOptions,
): Promise<StageResult> {
  const sctx = stageContext(input, clients);
  const startedAt = Date.now();
  const capacity: CapacityWait = { refused: 0, waitedMs: 0 };
  const waited = (): Partial<StageResult> =>
    capacity.refused ? { refusedStarts: capacity.refused, capacityWaitMs: capacity.waitedMs } : {};
  if (handler.mode === 'immediate') {
    if (input.poll) sctx.poll = input.poll;
    if (input.deadlineMs !== undefined) sctx.deadlineMs = input.deadlineMs;
    const result = await awsCall({ service: handler.service, operation: handler.kind }, () =>
      startWhenCapacity(handler, sctx, capacity, () => handler.run(sctx)),
    );
    return { ...result, ...waited(), temporalActions: temporalActions(startedAt, false) };
  }
  const { watched, ...result } = await runJob(handler, sctx, input, capacity, events);
  return { ...result, ...waited(), temporalActions: temporalActions(startedAt, watched === true) };
}
