/**
 * What a stage's activity (`runStage`) is given — built once, for a stage of a run and for an item
 * of a fan-out alike: its params as rendered, its idempotency key, its polling, its checks, a
 * sensor's deadline and the pool slot it holds. Pure: workflows/stage-start.ts starts the stage
 * with it; the rules are unit-tested without Temporal.
 */
import type { ExpectSpec } from './checks';
import { SENSOR_KINDS, type StageKind } from './constants';
import { durationMs } from './durations';
import type { PollSpec, RetrySpec, TimeoutSpec } from './pipeline';
import type { StageInput } from './run-types';

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

export interface StageTimeouts {
  total?: string | number;
  attempt?: string | number;
  heartbeat?: string | number;
}

export function timeouts(spec: TimeoutSpec | undefined): StageTimeouts {
  if (spec === undefined) return {};
  if (typeof spec === 'string' || typeof spec === 'number') return { total: spec };
  return spec;
}

/** A stage's timeouts: the pipeline's defaults, each overridden by the stage's own. */
export function stageTimeouts(stage: { timeout?: TimeoutSpec }, defaults?: { timeout?: TimeoutSpec }): StageTimeouts {
  return { ...timeouts(defaults?.timeout), ...timeouts(stage.timeout) };
}

/** The part of a stage (or of a fan-out's stage, for each item) its activity input is built from. */
export interface StageSpec {
  kind: StageKind;
  retry?: RetrySpec;
  timeout?: TimeoutSpec;
  poll?: PollSpec;
  expect?: ExpectSpec;
}

/** One start of a stage's activity: whose it is, under which key, with which params. */
export interface StageStart {
  pipeline: string;
  ds: string;
  /** The stage's id, or a fan-out item's `<stage>[<index>]`. */
  stageId: string;
  spec: StageSpec;
  /** Rendered for this run (and item). */
  params: Record<string, unknown>;
  idempotencyKey: string;
  /** The pipeline's defaults (its retry, poll and timeout apply where the stage sets none). */
  defaults?: { retry?: RetrySpec; timeout?: TimeoutSpec; poll?: PollSpec };
}

/**
 * The activity input of `start` when it runs now (`nowMs`, workflow time: a sensor's deadline
 * counts from the attempt's start, after any wait for a pool), holding `slot` if it took one.
 */
export function stageInput(start: StageStart, nowMs: number, slot?: { id: string; pool: string }): StageInput {
  const { spec, defaults } = start;
  const total = stageTimeouts(spec, defaults).total;
  return {
    ...(slot ? { poolSlot: slot } : {}),
    pipeline: start.pipeline,
    ds: start.ds,
    stageId: start.stageId,
    kind: spec.kind,
    params: start.params,
    rendered: true,
    idempotencyKey: start.idempotencyKey,
    ...((spec.poll ?? defaults?.poll) ? { poll: { ...defaults?.poll, ...spec.poll } } : {}),
    ...(spec.expect ? { expect: spec.expect } : {}),
    ...(SENSOR_KINDS.includes(spec.kind) && total !== undefined ? { deadlineMs: nowMs + durationMs(total) } : {}),
  };
}
