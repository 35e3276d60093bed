/**
 * `runPipeline`: one pipeline for one logical date. Stages run in dependency order, independent
 * stages in parallel. After a stage fails no new stage starts, running ones finish, and the run
 * fails naming the stage and AWS's message.
 *
 * Cancelling the run stops every AWS job it started, whatever state each stage is in (attempt
 * running, waiting for its retry, worker dead, out of attempts): the run asks any worker to stop
 * them at once (`stopRunJobs`, activities/stop.ts), which finds each job by the stage's
 * idempotency key; the run reports cancelled once AWS confirmed each stop, naming any it could not.
 *
 * Deterministic: imports only @temporalio/workflow, shared constants/pure helpers and activity types.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  ParentClosePolicy,
  TimeoutFailure,
  startChild,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { SluiceActivities } from '../activities';
import {
  ERROR_TYPES,
  MEMO_KEYS,
  NON_RETRYABLE_ERROR_TYPES,
  RUN_STATUS,
  SENSOR_KINDS,
  WORKFLOW_TYPES,
  CHILD_RUN_KINDS,
  type RunStatusValue,
} from '../common/constants';
import { durationMs } from '../common/durations';
import { formatUsd, runCost } from '../common/prices';
import { gridRecord } from '../common/grid-memo';
import { stageIdempotencyKey } from '../common/naming';
import type { PipelineDefinition, StageDefinition, TimeoutSpec } from '../common/pipeline';
import { resolveParams } from '../common/params';
import { formatIssues, structureIssues, type PipelineIssue } from '../common/pipeline-structure';
import { decide, isCleanupStage, settleStageFailure, type RunPhase } from '../common/scheduling';
import { renderParams, renderValue, templateContext, TemplateError, type RenderContext } from '../common/templating';
import { renderStageParams, runSubPipeline } from './sub-pipeline';
import {
  FAN_OUT_DEFAULTS,
  FAN_OUT_LIMITS,
  type FanOutInput,
  type FanOutPooling,
  type ForEachSpec,
} from '../common/fan-out';
import type {
  RunPipelineInput,
  RunStatus,
  StageError,
  StageHeartbeat,
  StageResult,
  StageStatus,
  StopOutcome,
  StopTarget,
} from '../common/run-types';
import { runSearchAttributes, SA_DATE, SA_PIPELINE, SA_STATUS } from '../common/search-attributes';
import { KINDS } from '../kinds';
import { poolWaitLine, runPriority, stagePool } from '../common/pools';
import { inScope, stageSlotAsk, withPoolSlot, type AskContext, type SlotAsk } from './pool-slot';
import { PINNED, versioned } from './versioning';
import { taken, useShape } from './shape';
import { notifyRunEnd } from './notify';
import { statusQuery } from '../common/messages';

// Defined once (common/messages.ts); exported here as before.
export { statusQuery };

/** Defaults for a stage's activity; every one is overridable per stage or per pipeline. */
export const STAGE_DEFAULTS = {
  /** Transient AWS errors (throttling, 5xx) are retried; failures retrying cannot fix are not. */
  retry: { maximumAttempts: 5, initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '5m' },
  /** One attempt: Glue's own default job timeout is 48 h. */
  attempt: '48h',
  /**
   * A worker that has not heartbeated for this long is presumed dead and the attempt moves to
   * another worker, which reattaches to the job: failover within this + the first retry interval
   * (≤ 70 s). A heartbeat reaches the server at most every 80% of it (48 s): 75 heartbeat actions
   * per hour of job. A cancel does not wait for a heartbeat (see stopRunJobs).
   */
  heartbeat: '60s',
} as const;

/**
 * Patch ids (README, "Upgrading workers"): a run that took a path before a change replays the
 * commands it made then; only runs that reach the path afresh take the new one.
 */
export const PATCHES = {
  /** Cancel: stop every stage's job from any worker (stopRunJobs) before cancelling the attempts. */
  cancelSweep: 'sluice-cancel-sweep-1',
  /** Failure: stop, in one stopRunJobs, the jobs of stages that failed while their job may still run. */
  stopFailed: 'sluice-stop-failed-1',
  /** Pools: a stage holds a slot of its pool while its job runs (workflows/pool-slot.ts). */
  pools: 'sluice-pools-1',
  /**
   * Cancel: stages still waiting for a pool withdraw their asks before any job is stopped, so a
   * slot the stop frees never goes to a stage of this cancelled run.
   */
  cancelWithdraws: 'sluice-cancel-withdraws-asks-1',
  /** Close: the grid's record of the run in its memo (common/grid-memo.ts), read from visibility pages. */
  gridMemo: 'sluice-grid-memo-1',
} as const;

/** A sensor's activity may outlive its own deadline by this much, so its clear error wins the race. */
const SENSOR_TIMEOUT_MARGIN_MS = 60_000;

/** Error types after which a stage's job has ended or never existed: nothing is left to stop. */
const JOB_ENDED_TYPES: readonly string[] = [
  ERROR_TYPES.jobFailed,
  ERROR_TYPES.jobStopped,
  ERROR_TYPES.qualityCheck,
  ERROR_TYPES.sensorTimeout,
  ERROR_TYPES.stageInput,
  // A fan-out's items stop their own jobs (workflows/fan-out.ts).
  ERROR_TYPES.itemsFailed,
];

export function timeouts(spec: TimeoutSpec | undefined): {
  total?: string | number;
  attempt?: string | number;
  heartbeat?: string | number;
} {
  if (spec === undefined) return {};
  if (typeof spec === 'string' || typeof spec === 'number') return { total: spec };
  return spec;
}

export function activityOptions(stage: StageDefinition, defaults: PipelineDefinition['defaults']): ActivityOptions {
  const retry = { ...STAGE_DEFAULTS.retry, ...defaults?.retry, ...stage.retry };
  const t = { ...timeouts(defaults?.timeout), ...timeouts(stage.timeout) };
  const totalMs =
    t.total !== undefined
      ? durationMs(t.total) + (SENSOR_KINDS.includes(stage.kind) ? SENSOR_TIMEOUT_MARGIN_MS : 0)
      : undefined;
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
/** The failure inside an activity's or a child workflow's wrappers: what the stage itself threw. */
function innermost(err: unknown): unknown {
  let cur = err;
  while ((cur instanceof ActivityFailure || cur instanceof ChildWorkflowFailure) && cur.cause) cur = cur.cause;
  return cur;
}

export function stageError(err: unknown): StageError {
  const cur = innermost(err);
  if (cur instanceof ApplicationFailure) {
    const details = (cur.details?.[0] ?? {}) as { jobId?: string };
    return {
      message: cur.message,
      ...(cur.type ? { type: cur.type } : {}),
      ...(details.jobId ? { jobId: details.jobId } : {}),
    };
  }
  if (cur instanceof TimeoutFailure) return { message: `timed out (${cur.timeoutType})`, type: 'TimeoutError' };
  if (cur instanceof CancelledFailure) {
    const details = (cur.details?.[0] ?? {}) as { jobId?: string; message?: string };
    return {
      message: cur.message || details.message || 'cancelled',
      type: 'CancelledError',
      ...(details.jobId ? { jobId: details.jobId } : {}),
    };
  }
  return { message: cur instanceof Error ? cur.message : String(cur) };
}

/** The job id an attempt heartbeated before it timed out (its worker died). */
export function lastHeartbeatJob(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (cause instanceof TimeoutFailure) {
    const hb = cause.lastHeartbeatDetails as StageHeartbeat | undefined;
    return hb?.jobId;
  }
  return undefined;
}

/** The output a fan-out's failure or cancellation carries (its counts and first failures). */
function fanOutOutputOf(err: unknown): Record<string, unknown> | undefined {
  // A cancelled fan-out returns its output instead (a child's cancellation carries no details).
  const cur = innermost(err);
  if (!(cur instanceof ApplicationFailure)) return undefined;
  const d = cur.details?.[0] as { output?: Record<string, unknown> } | undefined;
  return d &&
    typeof d === 'object' &&
    d.output &&
    typeof d.output.items === 'number' &&
    typeof d.output.succeeded === 'number'
    ? d.output
    : undefined;
}

/** A failed stage whose job may still be running (AWS refused a status call, the attempts timed out, ...). */
export function jobMayOutlive(st: StageStatus): boolean {
  if (st.state !== 'failed' || JOB_ENDED_TYPES.includes(st.error?.type ?? '')) return false;
  // AWS refused a call before any job id existed (the start itself): there is no job.
  return !(st.error?.type === ERROR_TYPES.awsRequest && !st.jobId);
}

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
 * applies SLUICE_PRICES_FILE). Only once a stage reports figures: metadata, no history event.
 */
function costLine(run: RunStatus): string[] {
  if (!run.stages.some((s) => s.state === 'succeeded' && s.result?.usage)) return [];
  const { total, prices } = runCost(run);
  return total.usd === undefined
    ? []
    : [`cost: ${formatUsd(total.usd)} (${total.note}; ${prices.region} list prices of ${prices.asOf})`];
}

/** The run without stage outputs (query rows can be large): what a failure or the memo carries. */
function withoutOutputs(run: RunStatus): RunStatus {
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

// On a versioned worker: PINNED (finishes on the build it started on; see workflows/versioning.ts).
versioned(PINNED, runPipeline);
export async function runPipeline(input: RunPipelineInput): Promise<RunStatus> {
  const { pipeline, ds } = input;
  // The changes this run was started knowing take no patch marker (common/run-shape.ts).
  useShape(input.shape);
  // A pipeline started without the CLI (another workflow, a script) gets the CLI's checks of its
  // shape and of its parameters.
  const resolved = resolveParams(pipeline.params, input.params);
  const problems: PipelineIssue[] = [...structureIssues(pipeline.stages), ...resolved.issues];
  if (problems.length) {
    throw ApplicationFailure.create({
      message: formatIssues(`pipeline "${pipeline.name}"`, problems),
      type: ERROR_TYPES.pipelineInvalid,
      nonRetryable: true,
      details: [{ issues: problems }],
    });
  }
  const generation = input.generation ?? 0;
  const run: RunStatus = {
    pipeline: pipeline.name,
    ds,
    generation,
    status: 'running',
    ...(pipeline.params ? { params: resolved.values } : {}),
    stages: pipeline.stages.map((s) => ({ id: s.id, kind: s.kind, state: 'pending', dependsOn: s.dependsOn })),
  };
  const stageDef = new Map(pipeline.stages.map((s) => [s.id, s]));
  const byId = new Map(run.stages.map((s) => [s.id, s]));
  const statusOf = (id: string): StageStatus => byId.get(id) as StageStatus;
  setHandler(statusQuery, () => run);

  const setStatus = (value: RunStatusValue): void => {
    upsertSearchAttributes([{ key: SA_STATUS, value }]);
    // Closing: the grid reads every closed run's stages from visibility's pages, with no call per run.
    if (value !== RUN_STATUS.running && taken(PATCHES.gridMemo)) upsertMemo({ [MEMO_KEYS.grid]: gridRecord(run) });
  };
  const known = workflowInfo().typedSearchAttributes;
  if (
    known.get(SA_PIPELINE) !== pipeline.name ||
    known.get(SA_DATE) === undefined ||
    known.get(SA_STATUS) !== RUN_STATUS.running
  ) {
    upsertSearchAttributes([...runSearchAttributes(pipeline.name, ds)]);
  }

  const showProgress = (): void => {
    setCurrentDetails([...run.stages.map(stageLine), ...costLine(run)].join('\n'));
  };

  let cancelRequested = false;
  const cancelSeen = CancellationScope.current().cancelRequested.catch(() => {
    cancelRequested = true;
  });
  // Stage attempts run in a scope the run's cancellation does not reach by itself: the run first has
  // every job stopped (stopRunJobs reads the attempts' last heartbeats), then cancels the attempts.
  const stageScope = new CancellationScope({
    cancellable: true,
    parent: new CancellationScope({ cancellable: false }),
  });
  // Cleanup stages (trigger all_done / one_failed) run to their end even when the run is cancelled.
  const cleanupScope = new CancellationScope({ cancellable: false });
  let firstFailure: StageStatus | undefined;
  const running = new Map<string, Promise<void>>();
  /** Each started stage's params as rendered for this run: what its job was started with, and stopped by. */
  const renderedParams = new Map<string, Record<string, unknown>>();
  const dateContext = templateContext(pipeline.name, ds);
  const renderContext = (): RenderContext => {
    const outputs: Record<string, Record<string, unknown> | undefined> = {};
    const states: Record<string, string> = {};
    for (const st of run.stages) {
      states[st.id] = st.state;
      if (st.state === 'succeeded') outputs[st.id] = st.result?.output ?? {};
    }
    return { date: dateContext, params: resolved.values, stages: outputs, stageStates: states };
  };
  const stopLater: { stage: StageDefinition; jobId: string }[] = [];
  /** The scope of each stage that asks a pool: a cancel withdraws the waiting asks first. */
  const askScopes = new Map<string, CancellationScope>();
  const keyOf = (stage: StageDefinition): string =>
    input.keyScope !== undefined
      ? `${input.keyScope}/${stage.id}/g${generation}`
      : stageIdempotencyKey(pipeline.name, ds, stage.id, generation);
  /** Stages run as child workflows (a fan-out, a sub-pipeline): they stop their own jobs when cancelled. */
  const isChildStage = (s: StageDefinition): boolean => s.forEach !== undefined || CHILD_RUN_KINDS.includes(s.kind);

  /** A stage that fails without running (a template or condition that cannot be evaluated for this run). */
  const failWithoutRunning = (stage: StageDefinition, message: string): void => {
    const status = statusOf(stage.id);
    status.state = 'failed';
    status.error = { message, type: ERROR_TYPES.stageInput };
    status.endedAt = new Date().toISOString();
    firstFailure ??= status;
  };

  /** The turn this run's stages take at their pools: its priority and fairness key (the backfill, or the run). */
  const poolTurn = (): FanOutPooling => ({
    priority: input.priority ?? runPriority({ ...(pipeline.priority ? { pipeline: pipeline.priority } : {}) }),
    fairnessKey: input.fairnessKey ?? workflowInfo().workflowId,
  });
  const askContext = (): AskContext => ({ pipeline: pipeline.name, ds, ...poolTurn() });
  /** The fan-out of a forEach stage: its items resolved for this run (a list, or the S3 prefix to list). */
  const fanOutInput = (stage: StageDefinition, params: Record<string, unknown>): FanOutInput => {
    const spec = stage.forEach as ForEachSpec;
    const ctx = renderContext();
    let source: FanOutInput['source'];
    if (spec.s3) {
      const s3 = renderParams(spec.s3, ctx);
      source = { s3: { Bucket: String(s3.Bucket), Prefix: String(s3.Prefix ?? '') } };
    } else {
      const items: unknown =
        typeof spec.items === 'string' ? renderValue(spec.items, ctx) : renderParams(spec.items, ctx);
      if (!Array.isArray(items))
        throw new TemplateError(
          `forEach.items: ${JSON.stringify(spec.items)} yields ${items === null ? 'null' : typeof items}, not a list`,
        );
      if (JSON.stringify(items).length > FAN_OUT_LIMITS.itemsMaxBytes)
        throw new TemplateError(
          `forEach.items: the list is over ${FAN_OUT_LIMITS.itemsMaxBytes / 1024} KB; fan out over an S3 prefix (forEach.s3) instead`,
        );
      source = { items };
    }
    return {
      pipeline: pipeline.name,
      ds,
      generation,
      runWorkflowId: workflowInfo().workflowId,
      ...(input.keyScope !== undefined ? { keyScope: input.keyScope } : {}),
      stage: {
        stageId: stage.id,
        kind: stage.kind,
        params,
        ...(stage.retry ? { retry: stage.retry } : {}),
        ...(stage.timeout !== undefined ? { timeout: stage.timeout } : {}),
        ...(stage.poll ? { poll: stage.poll } : {}),
        ...(stage.expect ? { expect: stage.expect } : {}),
        ...(stage.pool !== undefined ? { pool: stage.pool } : {}),
      },
      ...(pipeline.defaults ? { defaults: pipeline.defaults } : {}),
      source,
      ...(spec.batch ? { batch: spec.batch } : {}),
      concurrency: spec.concurrency ?? FAN_OUT_DEFAULTS.concurrency,
      ...(spec.toleratedFailures !== undefined ? { toleratedFailures: spec.toleratedFailures } : {}),
      // Each item holds a slot of the stage's pool (an input, not a patch: a chunk replays its own).
      pooling: poolTurn(),
    };
  };
  /** A forEach stage runs as its own child workflow (workflows/fan-out.ts), cancelled with the run. */
  const runFanOut = async (stage: StageDefinition, input: FanOutInput): Promise<StageResult> => {
    const child = await startChild(WORKFLOW_TYPES.fanOutStage, {
      workflowId: `${workflowInfo().workflowId}/${stage.id}/g${generation}`,
      args: [input],
      // Closing the run in any way cancels the fan-out, whose chunks stop their items' jobs.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      staticSummary: `${stage.id} (${stage.kind}) for each item: ${pipeline.name} ${ds}`,
    });
    return (await child.result()) as StageResult;
  };

  /** The stage's pool ask: its own pool, or its kind's default (learned from AWS); none for runs of before pools. */
  const poolAsk = (stage: StageDefinition, params: Record<string, unknown>): SlotAsk | undefined => {
    if (stagePool(stage, KINDS[stage.kind].defaultPool, params) === undefined || !taken(PATCHES.pools))
      return undefined;
    return stageSlotAsk(stage, stage.id, params, askContext());
  };

  const launch = (stage: StageDefinition): void => {
    const status = statusOf(stage.id);
    let params: Record<string, unknown>;
    let fanOut: FanOutInput | undefined;
    /** What a TemplateError is about: the params, or (its message says so) the forEach source. */
    let where = 'params: ';
    try {
      // A fan-out renders `{{ item }}` per item; everything else is rendered here, for the run.
      params = renderStageParams(stage.kind, stage.params, {
        ...renderContext(),
        deferItems: stage.forEach !== undefined,
      });
      where = '';
      if (stage.forEach) fanOut = fanOutInput(stage, params);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      // A cleanup stage reading the output of a stage that never produced one (the cluster that
      // failed to start) has nothing to clean up: skipped, not failed.
      if (err.missingOutputOf !== undefined && isCleanupStage(stage)) {
        status.state = 'skipped';
        status.reason = `nothing to clean up: ${err.message}`;
        return;
      }
      return failWithoutRunning(stage, `${where}${err.message}`);
    }
    renderedParams.set(stage.id, params);
    status.state = 'running';
    status.startedAt = new Date().toISOString();
    const ask = fanOut || CHILD_RUN_KINDS.includes(stage.kind) ? undefined : poolAsk(stage, params);
    const opts = activityOptions(stage, pipeline.defaults);
    const { runStage } = proxyActivities<SluiceActivities>(opts);
    const t = { ...timeouts(pipeline.defaults?.timeout), ...timeouts(stage.timeout) };
    const p = (isCleanupStage(stage) ? cleanupScope : stageScope)
      .run(() =>
        fanOut
          ? runFanOut(stage, fanOut)
          : CHILD_RUN_KINDS.includes(stage.kind)
            ? runSubPipeline(params, ds, generation, `${workflowInfo().workflowId}/${stage.id}`)
            : inPool(ask, stage.id, () =>
                withPoolSlot(ask, status, showProgress, (slot) =>
                  runStage({
                    ...(slot ? { poolSlot: slot } : {}),
                    pipeline: pipeline.name,
                    ds,
                    stageId: stage.id,
                    kind: stage.kind,
                    params,
                    rendered: true,
                    idempotencyKey: keyOf(stage),
                    ...((stage.poll ?? pipeline.defaults?.poll)
                      ? { poll: { ...pipeline.defaults?.poll, ...stage.poll } }
                      : {}),
                    ...(stage.expect ? { expect: stage.expect } : {}),
                    ...(SENSOR_KINDS.includes(stage.kind) && t.total !== undefined
                      ? { deadlineMs: Date.now() + durationMs(t.total) }
                      : {}),
                  }),
                ),
              ),
      )
      .then(
        (result) => {
          status.result = result;
          if (result.jobId) status.jobId = result.jobId;
          if (result.cancelled) {
            // A cancelled fan-out returns what it did (a child's cancellation carries no details).
            status.state = 'cancelled';
            status.error = { message: `${stage.id}: ${result.summary}`, type: 'CancelledError' };
          } else status.state = 'succeeded';
        },
        (err: unknown) => {
          const outcome = settleStageFailure(status, stageError(err), {
            cancellation: isCancellation(err),
            cancelRequested,
            cleanup: isCleanupStage(stage),
          });
          // A fan-out that failed or was cancelled still reports its counts and failures.
          const fanned = fanOutOutputOf(err);
          if (fanned) status.result = { summary: status.error?.message ?? outcome, output: fanned };
          // An attempt that timed out (its worker died) cannot stop its own job: stop it from here,
          // whether the run is being cancelled or the stage ran out of attempts.
          const orphan = lastHeartbeatJob(err);
          if (orphan) {
            status.jobId = orphan;
            stopLater.push({ stage, jobId: orphan });
          }
          if (outcome === 'failed') firstFailure ??= status;
        },
      )
      .finally(() => {
        status.endedAt = new Date().toISOString();
        running.delete(stage.id);
        askScopes.delete(stage.id);
        showProgress();
      });
    running.set(stage.id, p);
  };

  /** A stage that asks a pool runs in a scope of its own, so a cancel can withdraw its ask alone. */
  const inPool = <T>(ask: SlotAsk | undefined, stageId: string, fn: () => Promise<T>): Promise<T> =>
    ask ? inScope(askScopes, stageId, fn) : fn();
  /**
   * Cancelled: the stages still waiting for a slot withdraw their asks (no job to stop) and settle,
   * before stopEverything frees any slot; runs cancelled before this replay without it.
   */
  const withdrawWaiting = async (): Promise<void> => {
    const waiting = [...askScopes.keys()].filter((id) => {
      const pool = statusOf(id).pool;
      return statusOf(id).state === 'running' && pool !== undefined && pool.grantedAt === undefined;
    });
    if (waiting.length === 0 || !taken(PATCHES.cancelWithdraws)) return;
    for (const id of waiting) askScopes.get(id)?.cancel();
    await Promise.allSettled(waiting.flatMap((id) => running.get(id) ?? []));
  };

  const orphanOf = (stageId: string): string | undefined => stopLater.find((o) => o.stage.id === stageId)?.jobId;
  /** Stages already handed to stopRunJobs, with the job id known then. */
  const stopSent = new Map<string, string | undefined>();
  const stopTarget = (stage: StageDefinition): StopTarget => {
    const st = statusOf(stage.id);
    const jobId = orphanOf(stage.id) ?? st.jobId;
    const rendered = renderedParams.get(stage.id);
    return {
      stageId: stage.id,
      kind: stage.kind,
      params: rendered ?? stage.params,
      ...(rendered ? { rendered: true } : {}),
      idempotencyKey: keyOf(stage),
      ...(jobId ? { jobId } : {}),
      ...(st.startedAt ? { scheduledAtMs: Date.parse(st.startedAt) } : {}),
    };
  };
  const stopJobs = (targets: StopTarget[]): Promise<StopOutcome[]> => {
    const { stopRunJobs } = proxyActivities<SluiceActivities>({
      startToCloseTimeout: '10m',
      heartbeatTimeout: '30s',
      retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
      summary: 'stop the AWS jobs of this run',
    });
    const { workflowId, runId } = workflowInfo();
    for (const t of targets) stopSent.set(t.stageId, t.jobId);
    return CancellationScope.nonCancellable(() =>
      stopRunJobs({ workflowId, runId, pipeline: pipeline.name, ds, stages: targets }),
    );
  };

  /**
   * The run was cancelled: stop every job it may have started (attempt running, waiting for its
   * retry, on a dead worker, out of attempts), then cancel the attempts.
   */
  const stopEverything = async (): Promise<StopOutcome[]> => {
    // A running cleanup stage is not stopped: it is what must happen after the cancel.
    const targets = pipeline.stages
      .filter(
        (s) =>
          // A fan-out stage stops its items' jobs itself when its workflow is cancelled (awaited below).
          !isChildStage(s) &&
          ((statusOf(s.id).state === 'running' && !isCleanupStage(s)) ||
            orphanOf(s.id) ||
            jobMayOutlive(statusOf(s.id))),
      )
      .map(stopTarget);
    stopLater.length = 0;
    const outcomes = targets.length ? await stopJobs(targets) : [];
    stageScope.cancel();
    // An attempt that had not started its job when the stop looked for it stops the job it starts:
    // the cancel reaches it with its first heartbeat, sent as soon as the job exists. Wait for those.
    await Promise.allSettled([
      ...outcomes.filter((o) => o.result === 'none').flatMap((o) => running.get(o.stageId) ?? []),
      ...pipeline.stages.filter((s) => isChildStage(s) && !isCleanupStage(s)).flatMap((s) => running.get(s.id) ?? []),
    ]);
    for (const o of outcomes) {
      const st = statusOf(o.stageId);
      if (o.jobId) st.jobId ??= o.jobId;
      // Still running, or its attempt saw the stop first (JobStoppedError): the stop's outcome says what happened.
      if (st.state === 'running' || (st.state === 'cancelled' && o.result !== 'none')) {
        st.state = 'cancelled';
        st.error = { message: o.message, type: 'CancelledError', ...(o.jobId ? { jobId: o.jobId } : {}) };
        st.endedAt ??= new Date().toISOString();
      }
    }
    return outcomes;
  };

  /** Starts, skips or fails what the pipeline's rules say now (common/scheduling.ts). */
  const schedule = (): void => {
    const phase: RunPhase = cancelRequested ? 'cancelled' : firstFailure ? 'failed' : 'running';
    const states = Object.fromEntries(run.stages.map((st) => [st.id, st.state]));
    const d = decide(pipeline.stages, states, phase, renderContext());
    for (const { id, reason } of d.skip) {
      const st = statusOf(id);
      st.state = 'skipped';
      st.reason = reason;
    }
    for (const { id, message } of d.fail) failWithoutRunning(stageDef.get(id) as StageDefinition, message);
    for (const id of d.start) launch(stageDef.get(id) as StageDefinition);
    showProgress();
  };
  const cleanupRunning = (): Promise<void>[] =>
    [...running].filter(([id]) => isCleanupStage(stageDef.get(id) as StageDefinition)).map(([, p]) => p);

  showProgress();
  let outcomes: StopOutcome[] | undefined;
  let swept = false;
  for (;;) {
    if (swept) {
      // Cancelled, every job stopped: only cleanup stages start and are waited on.
      schedule();
      const cleanup = cleanupRunning();
      if (cleanup.length === 0) break;
      await Promise.race(cleanup);
      continue;
    }
    if (!cancelRequested) schedule();
    if (running.size === 0) break;
    // Once the cancel is seen, only the stages are waited on (cancelSeen stays resolved).
    await Promise.race(cancelRequested ? running.values() : [...running.values(), cancelSeen]);
    if (cancelRequested && !outcomes) {
      if (taken(PATCHES.cancelSweep)) {
        await withdrawWaiting();
        outcomes = await stopEverything();
        swept = true;
        continue;
      }
      // A run cancelled before the sweep existed replays what it did then: cancel the attempts and wait.
      outcomes = [];
      stageScope.cancel();
    }
  }
  for (const st of run.stages) {
    if (st.state !== 'pending') continue;
    st.state = 'skipped';
    st.reason ??= cancelRequested ? 'not started: the run was cancelled' : 'not started: another stage failed';
  }
  showProgress();

  // Stages whose job may outlive them (their worker died, AWS refused a status call): any worker
  // stops it, unless the cancel's sweep already did (an orphan found after the sweep is new).
  const leftover = pipeline.stages.filter((s) =>
    isChildStage(s)
      ? false
      : stopSent.has(s.id)
        ? orphanOf(s.id) !== undefined && orphanOf(s.id) !== stopSent.get(s.id)
        : orphanOf(s.id) !== undefined || jobMayOutlive(statusOf(s.id)),
  );
  if (leftover.length && taken(PATCHES.stopFailed)) {
    outcomes = [...(outcomes ?? []), ...(await stopJobs(leftover.map(stopTarget)))];
  } else if (leftover.length && stopLater.length) {
    await CancellationScope.nonCancellable(async () => {
      const { stopStageJob } = proxyActivities<SluiceActivities>({
        startToCloseTimeout: '5m',
        retry: { maximumAttempts: 10, initialInterval: '2s', nonRetryableErrorTypes: [ERROR_TYPES.awsRequest] },
        summary: 'stop orphaned AWS jobs',
      });
      for (const { stage, jobId } of stopLater) {
        const outcome = await stopStageJob({
          kind: stage.kind,
          params: stage.params,
          pipeline: pipeline.name,
          ds,
          jobId,
        }).catch((e: unknown) => String(e));
        log.info('stopped orphaned job', { stage: stage.id, jobId, outcome });
      }
    });
  }
  if (outcomes?.length) run.stops = outcomes;
  showProgress();
  if (cancelRequested || run.stages.some((s) => s.state === 'cancelled')) {
    run.status = 'cancelled';
    setStatus(RUN_STATUS.cancelled);
    if (pipeline.notify?.length) await notifyRunEnd(pipeline, run);
    const unstopped = (outcomes ?? []).filter((o) => o.result === 'error' || o.result === 'unconfirmed');
    const notStopped = [
      ...unstopped.map((o) => `${o.stageId}: ${o.message}`),
      // A fan-out's items whose jobs AWS did not confirm stopped.
      ...run.stages.flatMap((st) => (st.result?.unstopped ?? []).map((u) => `${st.id}[${u.index}]: ${u.message}`)),
    ].join('; ');
    // A cancelled run has no result or failure to carry its stages: the memo does, readable without a worker.
    if (taken(PATCHES.cancelSweep)) upsertMemo({ [MEMO_KEYS.run]: withoutOutputs(run) });
    const cleanupFailed = run.stages.filter((st) => st.state === 'failed' && isCleanupStage(stageDef.get(st.id) ?? {}));
    const failedText = cleanupFailed.map((st) => `${st.id}: ${st.error?.message ?? 'failed'}`).join('; ');
    throw new CancelledFailure(
      `run ${pipeline.name}/${ds} cancelled${notStopped ? `; jobs not confirmed stopped: ${notStopped}` : ''}${failedText ? `; cleanup failed: ${failedText}` : ''}`,
      unstopped,
    );
  }
  if (firstFailure) {
    run.status = 'failed';
    setStatus(RUN_STATUS.failed);
    if (pipeline.notify?.length) await notifyRunEnd(pipeline, run, firstFailure);
    const failed = run.stages.filter((s) => s.state === 'failed');
    const f = firstFailure;
    throw ApplicationFailure.create({
      message: `Stage "${f.id}" (${f.kind}) failed: ${f.error?.message ?? 'unknown error'}`,
      type: ERROR_TYPES.stageFailed,
      nonRetryable: true,
      // The run rides on its failure, so a closed run is readable without a worker to answer a query.
      details: [
        {
          stage: f.id,
          kind: f.kind,
          ...f.error,
          failedStages: failed.map((s) => ({ id: s.id, kind: s.kind, ...s.error })),
          run: withoutOutputs(run),
        },
      ],
    });
  }
  run.status = 'succeeded';
  setStatus(RUN_STATUS.succeeded);
  if (pipeline.notify?.length) await notifyRunEnd(pipeline, run);
  return run;
}
