/**
 * Which stages of a run start, are skipped, or fail now — given the definition, every stage's
 * state and the outputs so far. A pure function: `runPipeline` only applies its decisions, and
 * the rules are unit-tested without Temporal.
 *
 * Trigger rules (on the stage's direct upstream stages, as in Airflow):
 *   all_success (default)  every upstream stage succeeded; any failed, cancelled or skipped → skipped
 *   none_failed            every upstream stage succeeded or was skipped; any failed or cancelled → skipped
 *   all_done               every upstream stage ended, whatever the outcome
 *   one_failed             at least one upstream stage failed (at once); all ended and none failed → skipped
 *
 * After a stage fails, no new all_success / none_failed stage starts (they are skipped: the run
 * fails anyway); after a cancel, likewise, once the running stages stopped. all_done and
 * one_failed stages still run then: they are the cleanup stages (terminate the cluster), and a
 * cancel does not stop them once running. A condition (`if:`) is evaluated when the stage's rule
 * lets it run: false → skipped.
 */
import type { StageError, StageStateName } from './run-types';
import { evaluateCondition, parseCondition, TemplateError, type RenderContext } from './templating';

export const TRIGGER_RULES = ['all_success', 'all_done', 'one_failed', 'none_failed'] as const;
export type TriggerRule = (typeof TRIGGER_RULES)[number];

export interface ScheduledStage {
  id: string;
  dependsOn: readonly string[];
  trigger?: TriggerRule;
  if?: string;
}

/** Where the run is: running normally, past a failure, or cancelled (its running stages stopped). */
export type RunPhase = 'running' | 'failed' | 'cancelled';

export interface Decision {
  /** Stages to start now, in definition order. */
  start: string[];
  /** Stages skipped now, with why (cascades included). */
  skip: { id: string; reason: string }[];
  /** Stages that fail without running (their condition cannot be evaluated). */
  fail: { id: string; message: string }[];
}

const ENDED: readonly StageStateName[] = ['succeeded', 'failed', 'cancelled', 'skipped'];

/** Stages whose rule runs them after a failure or a cancel. */
export function isCleanupStage(stage: Pick<ScheduledStage, 'trigger'>): boolean {
  return stage.trigger === 'all_done' || stage.trigger === 'one_failed';
}

/**
 * What to do now. `states` holds every stage's current state; `ctx` renders conditions (the
 * outputs of succeeded stages, the params). Skips cascade: a stage skipped here lets its
 * downstream stages be decided in the same call.
 */
export function decide(
  stages: readonly ScheduledStage[],
  states: Readonly<Record<string, StageStateName>>,
  phase: RunPhase,
  ctx: RenderContext,
): Decision {
  const state: Record<string, StageStateName> = { ...states };
  const decision: Decision = { start: [], skip: [], fail: [] };
  for (let changed = true; changed;) {
    changed = false;
    for (const stage of stages) {
      if (state[stage.id] !== 'pending') continue;
      const verdict = ruleVerdict(stage, state, phase);
      if (verdict === 'wait') continue;
      changed = true;
      if (typeof verdict === 'object') {
        state[stage.id] = 'skipped';
        decision.skip.push({ id: stage.id, reason: verdict.skip });
        continue;
      }
      if (stage.if !== undefined) {
        const cond = parseCondition(stage.if);
        if (typeof cond === 'string') {
          state[stage.id] = 'failed';
          decision.fail.push({ id: stage.id, message: `condition ${JSON.stringify(stage.if)}: ${cond}` });
          continue;
        }
        try {
          const { value, holds } = evaluateCondition(cond, ctx);
          if (!holds) {
            state[stage.id] = 'skipped';
            decision.skip.push({
              id: stage.id,
              reason: `condition false: ${stage.if.trim()} (value ${JSON.stringify(value)})`,
            });
            continue;
          }
        } catch (err) {
          if (!(err instanceof TemplateError)) throw err;
          state[stage.id] = 'failed';
          decision.fail.push({ id: stage.id, message: `condition ${JSON.stringify(stage.if)}: ${err.message}` });
          continue;
        }
      }
      // Started: its downstream stages wait for it.
      state[stage.id] = 'running';
      decision.start.push(stage.id);
    }
  }
  return decision;
}

/** Whether the stage may run now ('run'), must wait, or is skipped (and why). */
function ruleVerdict(
  stage: ScheduledStage,
  state: Readonly<Record<string, StageStateName>>,
  phase: RunPhase,
): 'run' | 'wait' | { skip: string } {
  const rule = stage.trigger ?? 'all_success';
  const up = stage.dependsOn.map((id) => ({ id, state: state[id] ?? 'pending' }));
  const ended = up.every((u) => ENDED.includes(u.state));
  const first = (...s: StageStateName[]) => up.find((u) => s.includes(u.state));
  if (!isCleanupStage(stage) && phase !== 'running')
    return { skip: phase === 'failed' ? 'not started: another stage failed' : 'not started: the run was cancelled' };
  switch (rule) {
    case 'all_success': {
      const bad = first('failed', 'cancelled', 'skipped');
      if (bad) return { skip: `upstream ${bad.id} ${bad.state}` };
      return ended ? 'run' : 'wait';
    }
    case 'none_failed': {
      const bad = first('failed', 'cancelled');
      if (bad) return { skip: `upstream ${bad.id} ${bad.state}` };
      return ended ? 'run' : 'wait';
    }
    case 'all_done':
      return ended ? 'run' : 'wait';
    case 'one_failed':
      if (first('failed')) return 'run';
      return ended ? { skip: 'no upstream stage failed' } : 'wait';
  }
}

/**
 * Records a stage attempt's failure on its status; returns whether the stage failed or was cancelled.
 *
 * A cancelled run's sweep may have recorded the stage first (cancelled, with the stop's outcome as its
 * error): an attempt whose own poll saw the job STOPPED before the cancel reached it fails after
 * that, and must not replace what the stop said (only a job id it alone knew is kept). Otherwise a
 * cancellation, or any failure of a non-cleanup stage once the run is cancelled, is `cancelled`; a
 * cleanup stage failing after a cancel `failed` (the cancel did not stop it).
 */
export function settleStageFailure(
  status: { state: StageStateName; error?: StageError; jobId?: string },
  error: StageError,
  how: { cancellation: boolean; cancelRequested: boolean; cleanup: boolean },
): 'failed' | 'cancelled' {
  const stopRecorded = status.state === 'cancelled' && status.error !== undefined;
  if (!stopRecorded) status.error = error;
  if (error.jobId) status.jobId = stopRecorded ? (status.jobId ?? error.jobId) : error.jobId;
  status.state = stopRecorded || how.cancellation || (how.cancelRequested && !how.cleanup) ? 'cancelled' : 'failed';
  return status.state;
}
