/**
 * `runPipeline`: one pipeline for one logical date. Stages run in dependency order, independent
 * stages in parallel. After a stage fails no new stage starts, running ones finish, and the run
 * fails naming the stage and AWS's message. Cancelling the run cancels every running stage, whose
 * activity stops its AWS job before the run reports cancelled.
 *
 * Deterministic: imports only @temporalio/workflow, shared constants/pure helpers and activity types.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  TimeoutFailure,
  defineQuery,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { SluiceActivities } from '../activities';
import { ERROR_TYPES, NON_RETRYABLE_ERROR_TYPES, QUERY_NAMES, RUN_STATUS, type RunStatusValue } from '../common/constants';
import { durationMs } from '../common/durations';
import { stageIdempotencyKey } from '../common/naming';
import type { PipelineDefinition, StageDefinition, TimeoutSpec } from '../common/pipeline';
import type { RunPipelineInput, RunStatus, StageError, StageHeartbeat, StageStatus } from '../common/run-types';
import { runSearchAttributes, SA_DATE, SA_PIPELINE, SA_STATUS } from '../common/search-attributes';

export const statusQuery = defineQuery<RunStatus>(QUERY_NAMES.status);

/** Defaults for a stage's activity; every one is overridable per stage or per pipeline. */
export const STAGE_DEFAULTS = {
  /** Transient AWS errors (throttling, 5xx) are retried; failures retrying cannot fix are not. */
  retry: { maximumAttempts: 5, initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '5m' },
  /** One attempt: Glue's own default job timeout is 48 h. */
  attempt: '48h',
  /**
   * A worker that has not heartbeated for this long is presumed dead and the attempt moves to
   * another worker, which reattaches to the job. A heartbeat reaches the server at most every
   * min(80% of it, the worker's max heartbeat throttle: 2 min), which bounds both the cost (about
   * 30 heartbeat actions per hour of job) and how fast a cancel reaches a running stage (≤ 2 min).
   */
  heartbeat: '5m',
} as const;

/** A sensor's activity may outlive its own deadline by this much, so its clear error wins the race. */
const SENSOR_TIMEOUT_MARGIN_MS = 60_000;

function timeouts(spec: TimeoutSpec | undefined): { total?: string | number; attempt?: string | number; heartbeat?: string | number } {
  if (spec === undefined) return {};
  if (typeof spec === 'string' || typeof spec === 'number') return { total: spec };
  return spec;
}

function activityOptions(stage: StageDefinition, defaults: PipelineDefinition['defaults']): ActivityOptions {
  const retry = { ...STAGE_DEFAULTS.retry, ...defaults?.retry, ...stage.retry };
  const t = { ...timeouts(defaults?.timeout), ...timeouts(stage.timeout) };
  const totalMs = t.total !== undefined ? durationMs(t.total) + (stage.kind === 's3.wait' ? SENSOR_TIMEOUT_MARGIN_MS : 0) : undefined;
  return {
    summary: `${stage.id} (${stage.kind})`,
    startToCloseTimeout: t.attempt ?? STAGE_DEFAULTS.attempt,
    ...(totalMs !== undefined ? { scheduleToCloseTimeout: totalMs } : {}),
    heartbeatTimeout: t.heartbeat ?? STAGE_DEFAULTS.heartbeat,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...retry, nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
  };
}

/** The innermost message of a failure chain: AWS's words, not the SDK's wrappers. */
function stageError(err: unknown): StageError {
  let cur: unknown = err;
  while (cur instanceof ActivityFailure && cur.cause) cur = cur.cause;
  if (cur instanceof ApplicationFailure) {
    const details = (cur.details?.[0] ?? {}) as { jobId?: string };
    return { message: cur.message, ...(cur.type ? { type: cur.type } : {}), ...(details.jobId ? { jobId: details.jobId } : {}) };
  }
  if (cur instanceof TimeoutFailure) return { message: `timed out (${cur.timeoutType})`, type: 'TimeoutError' };
  if (cur instanceof CancelledFailure) {
    const details = (cur.details?.[0] ?? {}) as { jobId?: string; message?: string };
    return { message: cur.message || details.message || 'cancelled', type: 'CancelledError', ...(details.jobId ? { jobId: details.jobId } : {}) };
  }
  return { message: cur instanceof Error ? cur.message : String(cur) };
}

/** The job id an attempt heartbeated before it timed out (its worker died). */
function lastHeartbeatJob(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (cause instanceof TimeoutFailure) {
    const hb = cause.lastHeartbeatDetails as StageHeartbeat | undefined;
    return hb?.jobId;
  }
  return undefined;
}

export async function runPipeline(input: RunPipelineInput): Promise<RunStatus> {
  const { pipeline, ds } = input;
  const generation = input.generation ?? 0;
  const run: RunStatus = {
    pipeline: pipeline.name,
    ds,
    generation,
    status: 'running',
    stages: pipeline.stages.map((s) => ({ id: s.id, kind: s.kind, state: 'pending', dependsOn: s.dependsOn })),
  };
  const byId = new Map(run.stages.map((s) => [s.id, s]));
  setHandler(statusQuery, () => run);

  const setStatus = (value: RunStatusValue): void => {
    upsertSearchAttributes([{ key: SA_STATUS, value }]);
  };
  const known = workflowInfo().typedSearchAttributes;
  if (known.get(SA_PIPELINE) !== pipeline.name || known.get(SA_DATE) === undefined || known.get(SA_STATUS) !== RUN_STATUS.running) {
    upsertSearchAttributes([...runSearchAttributes(pipeline.name, ds)]);
  }

  const showProgress = (): void => {
    setCurrentDetails(run.stages.map((s) => `${s.state === 'succeeded' ? '✔' : s.state === 'failed' ? '✘' : s.state === 'running' ? '…' : '·'} ${s.id} (${s.kind}): ${s.state}`).join('\n'));
  };

  let cancelRequested = false;
  CancellationScope.current().cancelRequested.catch(() => {
    cancelRequested = true;
  });
  let firstFailure: StageStatus | undefined;
  const running = new Map<string, Promise<void>>();
  const stopLater: { stage: StageDefinition; jobId: string }[] = [];

  const launch = (stage: StageDefinition): void => {
    const status = byId.get(stage.id) as StageStatus;
    status.state = 'running';
    status.startedAt = new Date().toISOString();
    const opts = activityOptions(stage, pipeline.defaults);
    const { runStage } = proxyActivities<SluiceActivities>(opts);
    const t = { ...timeouts(pipeline.defaults?.timeout), ...timeouts(stage.timeout) };
    const p = runStage({
      pipeline: pipeline.name,
      ds,
      stageId: stage.id,
      kind: stage.kind,
      params: stage.params,
      idempotencyKey: stageIdempotencyKey(pipeline.name, ds, stage.id, generation),
      ...(stage.poll ?? pipeline.defaults?.poll ? { poll: { ...pipeline.defaults?.poll, ...stage.poll } } : {}),
      ...(stage.expect ? { expect: stage.expect } : {}),
      ...(stage.kind === 's3.wait' && t.total !== undefined ? { deadlineMs: Date.now() + durationMs(t.total) } : {}),
    }).then(
      (result) => {
        status.state = 'succeeded';
        status.result = result;
        if (result.jobId) status.jobId = result.jobId;
      },
      (err: unknown) => {
        status.error = stageError(err);
        if (status.error.jobId) status.jobId = status.error.jobId;
        // An attempt that timed out (its worker died) cannot stop its own job: stop it from here,
        // whether the run is being cancelled or the stage ran out of attempts.
        const orphan = lastHeartbeatJob(err);
        if (orphan) {
          status.jobId = orphan;
          stopLater.push({ stage, jobId: orphan });
        }
        if (isCancellation(err) || cancelRequested) {
          status.state = 'cancelled';
        } else {
          status.state = 'failed';
          firstFailure ??= status;
        }
      },
    ).finally(() => {
      status.endedAt = new Date().toISOString();
      running.delete(stage.id);
      showProgress();
    });
    running.set(stage.id, p);
  };

  showProgress();
  for (;;) {
    if (!firstFailure && !cancelRequested) {
      for (const stage of pipeline.stages) {
        const st = byId.get(stage.id) as StageStatus;
        if (st.state === 'pending' && stage.dependsOn.every((d) => byId.get(d)?.state === 'succeeded')) launch(stage);
      }
      showProgress();
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  for (const st of run.stages) if (st.state === 'pending') st.state = 'skipped';
  showProgress();

  // A stage whose worker died cannot stop its own job: any worker can, from the heartbeated id.
  if (stopLater.length) {
    await CancellationScope.nonCancellable(async () => {
      const { stopStageJob } = proxyActivities<SluiceActivities>({
        startToCloseTimeout: '5m',
        retry: { maximumAttempts: 10, initialInterval: '2s', nonRetryableErrorTypes: [ERROR_TYPES.awsRequest] },
        summary: 'stop orphaned AWS jobs',
      });
      for (const { stage, jobId } of stopLater) {
        const outcome = await stopStageJob({ kind: stage.kind, params: stage.params, pipeline: pipeline.name, ds, jobId }).catch((e: unknown) => String(e));
        log.info('stopped orphaned job', { stage: stage.id, jobId, outcome });
      }
    });
  }
  if (cancelRequested || run.stages.some((s) => s.state === 'cancelled')) {
    run.status = 'cancelled';
    setStatus(RUN_STATUS.cancelled);
    throw new CancelledFailure(`run ${pipeline.name}/${ds} cancelled`);
  }
  if (firstFailure) {
    run.status = 'failed';
    setStatus(RUN_STATUS.failed);
    const failed = run.stages.filter((s) => s.state === 'failed');
    const f = firstFailure;
    throw ApplicationFailure.create({
      message: `Stage "${f.id}" (${f.kind}) failed: ${f.error?.message ?? 'unknown error'}`,
      type: ERROR_TYPES.stageFailed,
      nonRetryable: true,
      details: [{ stage: f.id, kind: f.kind, ...f.error, failedStages: failed.map((s) => ({ id: s.id, kind: s.kind, ...s.error })) }],
    });
  }
  run.status = 'succeeded';
  setStatus(RUN_STATUS.succeeded);
  return run;
}
