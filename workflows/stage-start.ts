/**
 * Starting a stage, for every workflow that starts one (runPipeline for its stages, fanOutChunk for
 * its items): a forEach stage as its fanOutStage child, a pipeline.run stage as its child run,
 * anything else as its `runStage` activity — holding a slot of its pool when it asks one — with the
 * input common/stage-input.ts builds. And what comes back: a failure read as the stage's error.
 *
 * Deterministic: imports only @temporalio/workflow, shared constants/pure helpers and activity types.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  ParentClosePolicy,
  TimeoutFailure,
  proxyActivities,
  startChild,
  type ActivityOptions,
  type CancellationScope,
} from '@temporalio/workflow';
import type { SluiceActivities } from '../activities';
import { CHILD_RUN_KINDS, NON_RETRYABLE_ERROR_TYPES, SENSOR_KINDS, WORKFLOW_TYPES } from '../common/constants';
import { durationMs } from '../common/durations';
import type { FanOutInput } from '../common/fan-out';
import type { StagePool } from '../common/pools';
import type { StageError, StageHeartbeat, StageResult } from '../common/run-types';
import { STAGE_DEFAULTS, stageInput, stageTimeouts, type StageSpec, type StageStart } from '../common/stage-input';
import { inScope, withPoolSlot, type SlotAsk } from './pool-slot';
import { runSubPipeline } from './sub-pipeline';

/** A sensor's activity may outlive its own deadline by this much, so its clear error wins the race. */
const SENSOR_TIMEOUT_MARGIN_MS = 60_000;

/** The activity options of a stage (`id`: the stage, or a fan-out item): its own, the pipeline's, then the defaults. */
export function activityOptions(stage: { id: string } & StageSpec, defaults: StageStart['defaults']): ActivityOptions {
  const retry = { ...STAGE_DEFAULTS.retry, ...defaults?.retry, ...stage.retry };
  const t = stageTimeouts(stage, defaults);
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

/** One stage (or fan-out item) to start, and where its wait for a pool is shown and withdrawn. */
export interface StageLaunch<K> {
  start: StageStart & { spec: StageSpec };
  generation: number;
  /** A forEach stage: its fan-out, run as the child workflow `childWorkflowId`. */
  fanOut?: FanOutInput;
  /** A pipeline.run stage's child run, or a forEach stage's fan-out workflow. */
  childWorkflowId: string;
  /** Its ask of a pool (none for child runs and fan-outs: their stages and items ask their own). */
  ask?: SlotAsk;
  /** The scope of each stage that asks a pool, by `key`: a cancel withdraws a waiting ask alone. */
  asks: Map<K, CancellationScope>;
  key: K;
  /** Its pool wait and its `startedAt` (when the slot was granted) are written here; `changed` shows them. */
  status: { pool?: StagePool; startedAt?: string };
  changed: () => void;
}

/** Starts the stage's work; settles with its result, or fails as its child or activity failed. */
export function startStage<K>(l: StageLaunch<K>): Promise<StageResult> {
  const { start } = l;
  if (l.fanOut) return runFanOut(l.fanOut, l.childWorkflowId);
  if (CHILD_RUN_KINDS.includes(start.spec.kind))
    return runSubPipeline(start.params, start.ds, l.generation, l.childWorkflowId);
  const { runStage } = proxyActivities<SluiceActivities>(
    activityOptions({ id: start.stageId, ...start.spec }, start.defaults),
  );
  const attempt = (): Promise<StageResult> =>
    withPoolSlot(l.ask, l.status, l.changed, (slot) => runStage(stageInput(start, Date.now(), slot)));
  return l.ask ? inScope(l.asks, l.key, attempt) : attempt();
}

/** A forEach stage runs as its own child workflow (workflows/fan-out.ts), cancelled with the run. */
async function runFanOut(input: FanOutInput, workflowId: string): Promise<StageResult> {
  const child = await startChild(WORKFLOW_TYPES.fanOutStage, {
    workflowId,
    args: [input],
    // Closing the run in any way cancels the fan-out, whose chunks stop their items' jobs.
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    staticSummary: `${input.stage.stageId} (${input.stage.kind}) for each item: ${input.pipeline} ${input.ds}`,
  });
  return (await child.result()) as StageResult;
}

/** The failure inside an activity's or a child workflow's wrappers: what the stage itself threw. */
function innermost(err: unknown): unknown {
  let cur = err;
  while ((cur instanceof ActivityFailure || cur instanceof ChildWorkflowFailure) && cur.cause) cur = cur.cause;
  return cur;
}

/** The stage's error from its failure: AWS's words, not the SDK's wrappers. */
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

/** The output a fan-out's failure carries (its counts and first failures). */
export function fanOutOutputOf(err: unknown): Record<string, unknown> | undefined {
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
