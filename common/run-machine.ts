/**
 * A date's run as a state machine over plain state: `runPipeline` (workflows/run-pipeline.ts) only
 * translates between these functions and Temporal — it starts what they say to start, stops what
 * they say to stop, and feeds back what happened. No Temporal, no I/O, no clock: the time of each
 * event is passed in (workflow time), so every rule is unit-tested without a server.
 *
 * What each event means:
 *   schedule     the trigger rules and conditions (common/scheduling.ts decide) say which stages
 *                start, are skipped, or fail without running (a condition that cannot be evaluated)
 *   launch       a stage's params (or forEach source) that cannot be rendered fail it; a cleanup
 *                stage reading the output of a stage that produced none has nothing to clean up
 *   failure      settleStageFailure; the first failure fails the run; an attempt that timed out
 *                (its worker died) leaves its job to be stopped from the run (an orphan)
 *   cancel       stages waiting for a pool withdraw first; then every job the run may have started
 *                is stopped (not cleanup stages', not child workflows': they stop their own), and
 *                the stop's outcome is what a stopped stage reports
 *   the end      jobs that may outlive their failed stage are stopped; stages never started are
 *                skipped; the run ends cancelled, failed (naming its first failure) or succeeded
 */
import { CHILD_RUN_KINDS, ERROR_TYPES } from './constants';
import { stageIdempotencyKey } from './naming';
import type { PipelineDefinition, StageDefinition } from './pipeline';
import type { FanOutPooling } from './fan-out';
import type { FanOutRun } from './fan-out-machine';
import { runPriority } from './pools';
import type {
  RunPipelineInput,
  RunStatus,
  StageError,
  StageResult,
  StageStatus,
  StopOutcome,
  StopTarget,
} from './run-types';
import { decide, isCleanupStage, settleStageFailure, type RunPhase } from './scheduling';
import type { RenderContext, TemplateError } from './templating';
import { withoutOutputs } from './run-view';

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

/** A failed stage whose job may still be running (AWS refused a status call, the attempts timed out, ...). */
export function jobMayOutlive(st: Pick<StageStatus, 'state' | 'error' | 'jobId'>): boolean {
  if (st.state !== 'failed' || JOB_ENDED_TYPES.includes(st.error?.type ?? '')) return false;
  // AWS refused a call before any job id existed (the start itself): there is no job.
  return !(st.error?.type === ERROR_TYPES.awsRequest && !st.jobId);
}

/** Stages run as child workflows (a fan-out, a sub-pipeline): they stop their own jobs when cancelled. */
export function isChildStage(s: Pick<StageDefinition, 'forEach' | 'kind'>): boolean {
  return s.forEach !== undefined || CHILD_RUN_KINDS.includes(s.kind);
}

/** Everything a date's run knows, as plain data. */
export interface DateRunState {
  readonly pipeline: PipelineDefinition;
  /** What the status query answers, the memo and a failure carry. */
  readonly run: RunStatus;
  /** The run's parameters, defaults filled in. */
  readonly params: Record<string, unknown>;
  /** A sub-pipeline's run: its workflow ID scopes its stages' idempotency keys. */
  readonly keyScope?: string;
  cancelRequested: boolean;
  /** The stage whose failure the run fails with: the first. */
  firstFailure?: string;
  /** Each started stage's params as rendered for this run: what its job was started with, and stopped by. */
  readonly rendered: Record<string, Record<string, unknown>>;
  /** Jobs of stages whose attempt timed out (their worker died): stopped from the run. */
  readonly orphans: { stageId: string; jobId: string }[];
  /** Stages already handed to stopRunJobs, with the job id known then. */
  readonly stopSent: Map<string, string | undefined>;
}

export function newDateRun(
  pipeline: PipelineDefinition,
  run: { ds: string; generation: number; params: Record<string, unknown>; keyScope?: string },
): DateRunState {
  return {
    pipeline,
    run: {
      pipeline: pipeline.name,
      ds: run.ds,
      generation: run.generation,
      status: 'running',
      ...(pipeline.params ? { params: run.params } : {}),
      stages: pipeline.stages.map((s) => ({ id: s.id, kind: s.kind, state: 'pending', dependsOn: s.dependsOn })),
    },
    params: run.params,
    ...(run.keyScope !== undefined ? { keyScope: run.keyScope } : {}),
    cancelRequested: false,
    rendered: {},
    orphans: [],
    stopSent: new Map(),
  };
}

export function statusOf(s: DateRunState, id: string): StageStatus {
  return s.run.stages.find((st) => st.id === id) as StageStatus;
}

export function stageDef(s: DateRunState, id: string): StageDefinition {
  return s.pipeline.stages.find((st) => st.id === id) as StageDefinition;
}

/** The idempotency key of the stage's job: one AWS job per key, ever. */
export function stageKey(s: DateRunState, stageId: string): string {
  const { ds, generation } = s.run;
  return s.keyScope !== undefined
    ? `${s.keyScope}/${stageId}/g${generation}`
    : stageIdempotencyKey(s.pipeline.name, ds, stageId, generation);
}

/** The turn the run's stages take at their pools: its priority and fairness key (the backfill's, or the run's own). */
export function poolTurnOf(
  input: Pick<RunPipelineInput, 'pipeline' | 'priority' | 'fairnessKey'>,
  runWorkflowId: string,
): FanOutPooling {
  const { priority } = input.pipeline;
  return {
    priority: input.priority ?? runPriority({ ...(priority ? { pipeline: priority } : {}) }),
    fairnessKey: input.fairnessKey ?? runWorkflowId,
  };
}

/** The run as its forEach stages' fan-outs know it. */
export function fanOutRunOf(s: DateRunState, runWorkflowId: string): FanOutRun {
  const { pipeline, keyScope } = s;
  return {
    pipeline: pipeline.name,
    ds: s.run.ds,
    generation: s.run.generation,
    runWorkflowId,
    ...(keyScope !== undefined ? { keyScope } : {}),
    ...(pipeline.defaults ? { defaults: pipeline.defaults } : {}),
  };
}

export function runPhase(s: DateRunState): RunPhase {
  return s.cancelRequested ? 'cancelled' : s.firstFailure ? 'failed' : 'running';
}

/** What templates render against now: the date, the params, the outputs of the stages that succeeded. */
export function renderContextOf(s: DateRunState, date: RenderContext['date']): RenderContext {
  const outputs: Record<string, Record<string, unknown> | undefined> = {};
  const states: Record<string, string> = {};
  for (const st of s.run.stages) {
    states[st.id] = st.state;
    if (st.state === 'succeeded') outputs[st.id] = st.result?.output ?? {};
  }
  return { date, params: s.params, stages: outputs, stageStates: states };
}

/** A stage that fails without running (a template or condition that cannot be evaluated for this run). */
export function failWithoutRunning(s: DateRunState, id: string, message: string, now: string): void {
  const status = statusOf(s, id);
  status.state = 'failed';
  status.error = { message, type: ERROR_TYPES.stageInput };
  status.endedAt = now;
  s.firstFailure ??= id;
}

/**
 * What the pipeline's rules say now: skips and failures are recorded; the stages to start are
 * returned, in definition order (the shell starts each: see `launchFailed` for those that cannot).
 */
export function schedule(s: DateRunState, ctx: RenderContext, now: string): string[] {
  const states = Object.fromEntries(s.run.stages.map((st) => [st.id, st.state]));
  const d = decide(s.pipeline.stages, states, runPhase(s), ctx);
  for (const { id, reason } of d.skip) {
    const st = statusOf(s, id);
    st.state = 'skipped';
    st.reason = reason;
  }
  for (const { id, message } of d.fail) failWithoutRunning(s, id, message, now);
  return d.start;
}

/**
 * A stage whose params (`where` 'params: ') or forEach source ('') could not be rendered: a
 * cleanup stage reading the output of a stage that never produced one (the cluster that failed to
 * start) has nothing to clean up — skipped, not failed; any other fails without running.
 */
export function launchFailed(s: DateRunState, id: string, err: TemplateError, where: string, now: string): void {
  if (err.missingOutputOf !== undefined && isCleanupStage(stageDef(s, id))) {
    const status = statusOf(s, id);
    status.state = 'skipped';
    status.reason = `nothing to clean up: ${err.message}`;
    return;
  }
  failWithoutRunning(s, id, `${where}${err.message}`, now);
}

export function stageStarted(s: DateRunState, id: string, params: Record<string, unknown>, now: string): void {
  s.rendered[id] = params;
  const status = statusOf(s, id);
  status.state = 'running';
  status.startedAt = now;
}

export function stageSucceeded(s: DateRunState, id: string, result: StageResult): void {
  const status = statusOf(s, id);
  status.result = result;
  if (result.jobId) status.jobId = result.jobId;
  if (result.cancelled) {
    // A cancelled fan-out returns what it did (a child's cancellation carries no details).
    status.state = 'cancelled';
    status.error = { message: `${id}: ${result.summary}`, type: 'CancelledError' };
  } else status.state = 'succeeded';
}

/** How a stage's attempt failed, as the shell read it from Temporal's failure. */
export interface StageFailure {
  error: StageError;
  /** The failure is a cancellation (of the attempt, or of the child workflow). */
  cancellation: boolean;
  /** A fan-out's counts and first failures, which its failure carries. */
  fanOut?: Record<string, unknown>;
  /** The job its attempt heartbeated before it timed out (its worker died): the run stops it. */
  orphanJob?: string;
}

export function stageFailed(s: DateRunState, id: string, f: StageFailure): 'failed' | 'cancelled' {
  const status = statusOf(s, id);
  const outcome = settleStageFailure(status, f.error, {
    cancellation: f.cancellation,
    cancelRequested: s.cancelRequested,
    cleanup: isCleanupStage(stageDef(s, id)),
  });
  // A fan-out that failed or was cancelled still reports its counts and failures.
  if (f.fanOut) status.result = { summary: status.error?.message ?? outcome, output: f.fanOut };
  // An attempt that timed out (its worker died) cannot stop its own job: stop it from here,
  // whether the run is being cancelled or the stage ran out of attempts.
  if (f.orphanJob) {
    status.jobId = f.orphanJob;
    s.orphans.push({ stageId: id, jobId: f.orphanJob });
  }
  if (outcome === 'failed') s.firstFailure ??= id;
  return outcome;
}

/** Of the stages that asked a pool (`asking`), those still waiting for their slot: withdrawn first at a cancel. */
export function waitingForPool(s: DateRunState, asking: Iterable<string>): string[] {
  return [...asking].filter((id) => {
    const { state, pool } = statusOf(s, id);
    return state === 'running' && pool !== undefined && pool.grantedAt === undefined;
  });
}

function orphanOf(s: DateRunState, stageId: string): string | undefined {
  return s.orphans.find((o) => o.stageId === stageId)?.jobId;
}

/** What stopRunJobs is told of a stage: its job, by id when known, else found by its key. */
export function stopTarget(s: DateRunState, stage: StageDefinition): StopTarget {
  const st = statusOf(s, stage.id);
  const jobId = orphanOf(s, stage.id) ?? st.jobId;
  const rendered = s.rendered[stage.id];
  return {
    stageId: stage.id,
    kind: stage.kind,
    params: rendered ?? stage.params,
    ...(rendered ? { rendered: true } : {}),
    idempotencyKey: stageKey(s, stage.id),
    ...(jobId ? { jobId } : {}),
    ...(st.startedAt ? { scheduledAtMs: Date.parse(st.startedAt) } : {}),
  };
}

/** The targets are handed to stopRunJobs now. */
export function stopsSent(s: DateRunState, targets: readonly StopTarget[]): void {
  for (const t of targets) s.stopSent.set(t.stageId, t.jobId);
}

/**
 * Cancelled: every job the run may have started (attempt running, waiting for its retry, on a
 * dead worker, out of attempts). Not a running cleanup stage's (it is what must happen after the
 * cancel), nor a child workflow's (a fan-out or sub-run stops its own jobs when cancelled).
 * The orphans are among them: forgotten here.
 */
export function sweepTargets(s: DateRunState): StopTarget[] {
  const targets = s.pipeline.stages
    .filter((st) => {
      const status = statusOf(s, st.id);
      return (
        !isChildStage(st) &&
        ((status.state === 'running' && !isCleanupStage(st)) || orphanOf(s, st.id) || jobMayOutlive(status))
      );
    })
    .map((st) => stopTarget(s, st));
  s.orphans.length = 0;
  return targets;
}

/**
 * After the sweep, the stages to wait for: an attempt that had not started its job when the stop
 * looked for it stops the job it starts (the cancel reaches it with its first heartbeat), and the
 * child workflows (not cleanup stages) stop their own.
 */
export function sweepWaits(s: DateRunState, outcomes: readonly StopOutcome[]): string[] {
  return [
    ...outcomes.filter((o) => o.result === 'none').map((o) => o.stageId),
    ...s.pipeline.stages.filter((st) => isChildStage(st) && !isCleanupStage(st)).map((st) => st.id),
  ];
}

/** What the stop found becomes what a stopped stage reports. */
export function sweepDone(s: DateRunState, outcomes: readonly StopOutcome[], now: string): void {
  for (const o of outcomes) {
    const st = statusOf(s, o.stageId);
    if (o.jobId) st.jobId ??= o.jobId;
    // Still running, or its attempt saw the stop first (JobStoppedError): the stop's outcome says what happened.
    if (st.state === 'running' || (st.state === 'cancelled' && o.result !== 'none')) {
      st.state = 'cancelled';
      st.error = { message: o.message, type: 'CancelledError', ...(o.jobId ? { jobId: o.jobId } : {}) };
      st.endedAt ??= now;
    }
  }
}

/** The stages that never started are skipped, saying why. */
export function skipUnstarted(s: DateRunState): void {
  for (const st of s.run.stages) {
    if (st.state !== 'pending') continue;
    st.state = 'skipped';
    st.reason ??= s.cancelRequested ? 'not started: the run was cancelled' : 'not started: another stage failed';
  }
}

/**
 * Stages whose job may outlive them (their worker died, AWS refused a status call): any worker
 * stops it, unless the cancel's sweep already did (an orphan found after the sweep is new).
 */
export function leftoverStops(s: DateRunState): StageDefinition[] {
  return s.pipeline.stages.filter((st) =>
    isChildStage(st)
      ? false
      : s.stopSent.has(st.id)
        ? orphanOf(s, st.id) !== undefined && orphanOf(s, st.id) !== s.stopSent.get(st.id)
        : orphanOf(s, st.id) !== undefined || jobMayOutlive(statusOf(s, st.id)),
  );
}

/** How the run ends, once no stage runs any more: what its failure, result or memo carries. */
export type RunEnding =
  | { status: 'cancelled'; message: string; unstopped: StopOutcome[]; memo: RunStatus }
  | { status: 'failed'; message: string; details: Record<string, unknown> }
  | { status: 'succeeded'; run: RunStatus };

/** Records the run's end on its status and says how it ends (`outcomes`: what its stops found). */
export function endRun(s: DateRunState, outcomes: readonly StopOutcome[] | undefined): RunEnding {
  const { run } = s;
  if (s.cancelRequested || run.stages.some((st) => st.state === 'cancelled')) {
    run.status = 'cancelled';
    const unstopped = (outcomes ?? []).filter((o) => o.result === 'error' || o.result === 'unconfirmed');
    const notStopped = [
      ...unstopped.map((o) => `${o.stageId}: ${o.message}`),
      // A fan-out's items whose jobs AWS did not confirm stopped.
      ...run.stages.flatMap((st) => (st.result?.unstopped ?? []).map((u) => `${st.id}[${u.index}]: ${u.message}`)),
    ].join('; ');
    const cleanupFailed = run.stages.filter((st) => st.state === 'failed' && isCleanupStage(stageDef(s, st.id)));
    const failedText = cleanupFailed.map((st) => `${st.id}: ${st.error?.message ?? 'failed'}`).join('; ');
    return {
      status: 'cancelled',
      message: `run ${run.pipeline}/${run.ds} cancelled${notStopped ? `; jobs not confirmed stopped: ${notStopped}` : ''}${failedText ? `; cleanup failed: ${failedText}` : ''}`,
      unstopped,
      // A cancelled run has no result or failure to carry its stages: the memo does.
      memo: withoutOutputs(run),
    };
  }
  if (s.firstFailure) {
    run.status = 'failed';
    const f = statusOf(s, s.firstFailure);
    const failed = run.stages.filter((st) => st.state === 'failed');
    return {
      status: 'failed',
      message: `Stage "${f.id}" (${f.kind}) failed: ${f.error?.message ?? 'unknown error'}`,
      // The run rides on its failure, so a closed run is readable without a worker to answer a query.
      details: {
        stage: f.id,
        kind: f.kind,
        ...f.error,
        failedStages: failed.map((st) => ({ id: st.id, kind: st.kind, ...st.error })),
        run: withoutOutputs(run),
      },
    };
  }
  run.status = 'succeeded';
  return { status: 'succeeded', run };
}
