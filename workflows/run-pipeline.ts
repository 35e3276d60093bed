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
 * A thin shell: what every event means is decided by common/run-machine.ts over plain state; this
 * file only turns those decisions into Temporal calls (stages started by workflows/stage-start.ts,
 * stops, search attributes, the memo) and feeds back what happened. Its awaits are where they were
 * before the split: the order of commands, timers and patch markers is that of the histories.
 *
 * Deterministic: imports only @temporalio/workflow, shared constants/pure helpers and activity types.
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  isCancellation,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { CHILD_RUN_KINDS, ERROR_TYPES, MEMO_KEYS, RUN_STATUS, type RunStatusValue } from '../common/constants';
import type { FanOutInput, FanOutPooling } from '../common/fan-out';
import { fanOutInputFor } from '../common/fan-out-machine';
import { statusQuery } from '../common/messages';
import { resolveParams } from '../common/params';
import type { StageDefinition } from '../common/pipeline';
import { formatIssues, structureIssues, type PipelineIssue } from '../common/pipeline-structure';
import { gridRecord } from '../common/grid-memo';
import { stagePool } from '../common/pools';
import * as machine from '../common/run-machine';
import { jobMayOutlive, type DateRunState } from '../common/run-machine';
import type { RunPipelineInput, RunStatus, StopOutcome, StopTarget } from '../common/run-types';
import { runDetails, stageLine } from '../common/run-view';
import { isCleanupStage } from '../common/scheduling';
import { runSearchAttributes, SA_DATE, SA_PIPELINE, SA_STATUS } from '../common/search-attributes';
import { STAGE_DEFAULTS, timeouts } from '../common/stage-input';
import { templateContext, TemplateError, type RenderContext } from '../common/templating';
import { stageSlotAsk, type AskContext, type SlotAsk } from './pool-slot';
import { activityOptions, fanOutOutputOf, lastHeartbeatJob, stageError, startStage } from './stage-start';
import { renderStageParams } from './sub-pipeline';
import { PINNED, versioned } from './versioning';
import { taken, useShape } from './shape';
import { stopOrphansOneByOne, stopRunJobsOf } from './run-stops';
import { KINDS } from '../kinds';
import { notifyRunEnd } from './notify';

// Defined once (common/messages.ts); exported here as before.
export { statusQuery };
// Moved to common/ (pure) and workflows/stage-start.ts (one module starts a stage for every
// workflow); exported here as before.
export { STAGE_DEFAULTS, timeouts, activityOptions, lastHeartbeatJob, stageError, jobMayOutlive, stageLine };

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

/** Workflow time, as the run's statuses record it. */
const now = (): string => new Date().toISOString();

// On a versioned worker: PINNED (finishes on the build it started on; see workflows/versioning.ts).
versioned(PINNED, runPipeline);
export async function runPipeline(input: RunPipelineInput): Promise<RunStatus> {
  // The changes this run was started knowing take no patch marker (common/run-shape.ts).
  useShape(input.shape);
  const r = new DateRun(input, checkedParams(input));
  const { state, running } = r;
  r.show();
  let outcomes: StopOutcome[] | undefined;
  let swept = false;
  for (;;) {
    if (swept) {
      // Cancelled, every job stopped: only cleanup stages start and are waited on.
      r.schedule();
      const cleanup = r.cleanupRunning();
      if (cleanup.length === 0) break;
      await Promise.race(cleanup);
      continue;
    }
    if (!state.cancelRequested) r.schedule();
    if (running.size === 0) break;
    // Once the cancel is seen, only the stages are waited on (cancelSeen stays resolved).
    await Promise.race(state.cancelRequested ? running.values() : [...running.values(), r.cancelSeen]);
    if (state.cancelRequested && !outcomes) {
      if (taken(PATCHES.cancelSweep)) {
        await r.withdrawWaiting();
        outcomes = await r.stopEverything();
        swept = true;
        continue;
      }
      // A run cancelled before the sweep existed replays what it did then: cancel the attempts and wait.
      outcomes = [];
      r.stageScope.cancel();
    }
  }
  machine.skipUnstarted(state);
  r.show();
  const leftover = r.stopLeftovers();
  if (leftover?.outcomes) outcomes = [...(outcomes ?? []), ...(await leftover.outcomes)];
  else if (leftover) await leftover.done;
  if (outcomes?.length) state.run.stops = outcomes;
  r.show();
  return await r.end(outcomes);
}

/**
 * A pipeline started without the CLI (another workflow, a script) gets the CLI's checks of its
 * shape and of its parameters: the run's parameters, defaults filled in.
 */
function checkedParams({ pipeline, params }: RunPipelineInput): Record<string, unknown> {
  const resolved = resolveParams(pipeline.params, params);
  const problems: PipelineIssue[] = [...structureIssues(pipeline.stages), ...resolved.issues];
  if (problems.length) {
    throw ApplicationFailure.create({
      message: formatIssues(`pipeline "${pipeline.name}"`, problems),
      type: ERROR_TYPES.pipelineInvalid,
      nonRetryable: true,
      details: [{ issues: problems }],
    });
  }
  return resolved.values;
}

/** The Temporal side of one date's run: its scopes, its running stages, and the calls it makes. */
class DateRun {
  readonly state: DateRunState;
  /** Each running stage's settlement (its status recorded), by stage id. */
  readonly running = new Map<string, Promise<void>>();
  /** The scope of each stage that asks a pool: a cancel withdraws the waiting asks first. */
  readonly askScopes = new Map<string, CancellationScope>();
  /** Resolves when the run's cancellation is requested (never rejects). */
  readonly cancelSeen: Promise<void>;
  /**
   * Stage attempts run in a scope the run's cancellation does not reach by itself: the run first
   * has every job stopped (stopRunJobs reads the attempts' last heartbeats), then cancels them.
   */
  readonly stageScope: CancellationScope;
  /** Cleanup stages (trigger all_done / one_failed) run to their end even when the run is cancelled. */
  readonly cleanupScope: CancellationScope;
  private readonly date: RenderContext['date'];

  constructor(
    private readonly input: RunPipelineInput,
    params: Record<string, unknown>,
  ) {
    const { pipeline, ds } = input;
    this.state = machine.newDateRun(pipeline, {
      ds,
      generation: input.generation ?? 0,
      params,
      ...(input.keyScope !== undefined ? { keyScope: input.keyScope } : {}),
    });
    setHandler(statusQuery, () => this.state.run);
    const known = workflowInfo().typedSearchAttributes;
    if (
      known.get(SA_PIPELINE) !== pipeline.name ||
      known.get(SA_DATE) === undefined ||
      known.get(SA_STATUS) !== RUN_STATUS.running
    ) {
      upsertSearchAttributes([...runSearchAttributes(pipeline.name, ds)]);
    }
    this.cancelSeen = CancellationScope.current().cancelRequested.catch(() => {
      this.state.cancelRequested = true;
    });
    this.stageScope = new CancellationScope({
      cancellable: true,
      parent: new CancellationScope({ cancellable: false }),
    });
    this.cleanupScope = new CancellationScope({ cancellable: false });
    this.date = templateContext(pipeline.name, ds);
  }

  readonly show = (): void => {
    setCurrentDetails(runDetails(this.state.run));
  };

  private setStatus(value: RunStatusValue): void {
    upsertSearchAttributes([{ key: SA_STATUS, value }]);
    // Closing: the grid reads every closed run's stages from visibility's pages, with no call per run.
    if (value !== RUN_STATUS.running && taken(PATCHES.gridMemo))
      upsertMemo({ [MEMO_KEYS.grid]: gridRecord(this.state.run) });
  }

  /** Only with notify: (an await of nothing would still reorder the close against other commands). */
  private async notify(): Promise<void> {
    const { pipeline } = this.input;
    const failure = this.state.firstFailure;
    if (pipeline.notify?.length)
      await notifyRunEnd(pipeline, this.state.run, failure ? machine.statusOf(this.state, failure) : undefined);
  }

  private renderContext(): RenderContext {
    return machine.renderContextOf(this.state, this.date);
  }

  /** Starts, skips or fails what the pipeline's rules say now (common/scheduling.ts). */
  schedule(): void {
    for (const id of machine.schedule(this.state, this.renderContext(), now()))
      this.launch(machine.stageDef(this.state, id));
    this.show();
  }

  /** The turn this run's stages take at their pools (the backfill's, or the run's own). */
  private poolTurn(): FanOutPooling {
    return machine.poolTurnOf(this.input, workflowInfo().workflowId);
  }

  /** The stage's pool ask: its own pool, or its kind's default (learned from AWS); none for runs of before pools. */
  private poolAsk(stage: StageDefinition, params: Record<string, unknown>): SlotAsk | undefined {
    if (stagePool(stage, KINDS[stage.kind].defaultPool, params) === undefined || !taken(PATCHES.pools))
      return undefined;
    const ask: AskContext = { pipeline: this.input.pipeline.name, ds: this.input.ds, ...this.poolTurn() };
    return stageSlotAsk(stage, stage.id, params, ask);
  }

  /** The stage's params rendered for the run (and a forEach stage's fan-out); undefined: it cannot start. */
  private render(stage: StageDefinition): { params: Record<string, unknown>; fanOut?: FanOutInput } | undefined {
    /** What a TemplateError is about: the params, or (its message says so) the forEach source. */
    let where = 'params: ';
    try {
      const ctx = this.renderContext();
      // A fan-out renders `{{ item }}` per item; everything else is rendered here, for the run.
      const params = renderStageParams(stage.kind, stage.params, { ...ctx, deferItems: stage.forEach !== undefined });
      where = '';
      if (!stage.forEach) return { params };
      const run = machine.fanOutRunOf(this.state, workflowInfo().workflowId);
      return { params, fanOut: fanOutInputFor(stage, params, ctx, run, () => this.poolTurn()) };
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      machine.launchFailed(this.state, stage.id, err, where, now());
      return undefined;
    }
  }

  private launch(stage: StageDefinition): void {
    const { state } = this;
    const rendered = this.render(stage);
    if (!rendered) return;
    const { params, fanOut } = rendered;
    machine.stageStarted(state, stage.id, params, now());
    const ask = fanOut || CHILD_RUN_KINDS.includes(stage.kind) ? undefined : this.poolAsk(stage, params);
    const { workflowId } = workflowInfo();
    const { pipeline, ds } = this.input;
    const generation = state.run.generation;
    const p = (isCleanupStage(stage) ? this.cleanupScope : this.stageScope)
      .run(() =>
        startStage({
          start: {
            pipeline: pipeline.name,
            ds,
            stageId: stage.id,
            spec: stage,
            params,
            idempotencyKey: machine.stageKey(state, stage.id),
            ...(pipeline.defaults ? { defaults: pipeline.defaults } : {}),
          },
          generation,
          ...(fanOut ? { fanOut } : {}),
          childWorkflowId: fanOut ? `${workflowId}/${stage.id}/g${generation}` : `${workflowId}/${stage.id}`,
          ...(ask ? { ask } : {}),
          asks: this.askScopes,
          key: stage.id,
          status: machine.statusOf(state, stage.id),
          changed: this.show,
        }),
      )
      .then(
        (result) => machine.stageSucceeded(state, stage.id, result),
        (err: unknown) => {
          const orphanJob = lastHeartbeatJob(err);
          const fanned = fanOutOutputOf(err);
          machine.stageFailed(state, stage.id, {
            error: stageError(err),
            cancellation: isCancellation(err),
            ...(fanned ? { fanOut: fanned } : {}),
            ...(orphanJob ? { orphanJob } : {}),
          });
        },
      )
      .finally(() => {
        machine.statusOf(state, stage.id).endedAt = now();
        this.running.delete(stage.id);
        this.askScopes.delete(stage.id);
        this.show();
      });
    this.running.set(stage.id, p);
  }

  cleanupRunning(): Promise<void>[] {
    return [...this.running].filter(([id]) => isCleanupStage(machine.stageDef(this.state, id))).map(([, p]) => p);
  }

  /**
   * Cancelled: the stages still waiting for a slot withdraw their asks (no job to stop) and settle,
   * before stopEverything frees any slot; runs cancelled before this replay without it.
   */
  async withdrawWaiting(): Promise<void> {
    const waiting = machine.waitingForPool(this.state, this.askScopes.keys());
    if (waiting.length === 0 || !taken(PATCHES.cancelWithdraws)) return;
    for (const id of waiting) this.askScopes.get(id)?.cancel();
    await Promise.allSettled(waiting.flatMap((id) => this.running.get(id) ?? []));
  }

  private stopJobs(targets: StopTarget[]): Promise<StopOutcome[]> {
    return stopRunJobsOf(this.state, this.input, targets);
  }

  /**
   * The run was cancelled: stop every job it may have started (attempt running, waiting for its
   * retry, on a dead worker, out of attempts), then cancel the attempts.
   */
  async stopEverything(): Promise<StopOutcome[]> {
    const targets = machine.sweepTargets(this.state);
    const outcomes = targets.length ? await this.stopJobs(targets) : [];
    this.stageScope.cancel();
    // An attempt that had not started its job when the stop looked for it stops the job it starts:
    // the cancel reaches it with its first heartbeat, sent as soon as the job exists. Wait for those.
    await Promise.allSettled(machine.sweepWaits(this.state, outcomes).flatMap((id) => this.running.get(id) ?? []));
    machine.sweepDone(this.state, outcomes, now());
    return outcomes;
  }

  /**
   * The stop of jobs that may outlive their stage (common/run-machine.ts leftoverStops): in one
   * stopRunJobs, or — runs of before it — one stopStageJob per orphan. Undefined: nothing to stop.
   * Returns the promise itself, for the run to await where it always did.
   */
  stopLeftovers(): { outcomes: Promise<StopOutcome[]> } | { outcomes?: never; done: Promise<void> } | undefined {
    const { state } = this;
    const leftover = machine.leftoverStops(state);
    if (leftover.length && taken(PATCHES.stopFailed))
      return { outcomes: this.stopJobs(leftover.map((s) => machine.stopTarget(state, s))) };
    if (!leftover.length || !state.orphans.length) return undefined;
    return { done: stopOrphansOneByOne(state, this.input) };
  }

  /** The run's end: its status recorded (search attribute, memo), then its result or failure. */
  async end(outcomes: StopOutcome[] | undefined): Promise<RunStatus> {
    const ending = machine.endRun(this.state, outcomes);
    if (ending.status === 'cancelled') {
      this.setStatus(RUN_STATUS.cancelled);
      await this.notify();
      // Readable without a worker (runs cancelled before the sweep replay without it).
      if (taken(PATCHES.cancelSweep)) upsertMemo({ [MEMO_KEYS.run]: ending.memo });
      throw new CancelledFailure(ending.message, ending.unstopped);
    }
    if (ending.status === 'failed') {
      this.setStatus(RUN_STATUS.failed);
      await this.notify();
      const { message, details } = ending;
      throw ApplicationFailure.create({
        message,
        type: ERROR_TYPES.stageFailed,
        nonRetryable: true,
        details: [details],
      });
    }
    this.setStatus(RUN_STATUS.succeeded);
    await this.notify();
    return ending.run;
  }
}
