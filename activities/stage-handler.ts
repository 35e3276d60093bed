/**
 * The contract every stage kind implements. The generic runner (runner.ts) turns it into the same
 * guarantees for every AWS service: reattach or find before starting, start once, poll with
 * heartbeats and adaptive backoff, stop on cancellation, one mapping of terminal states.
 */
import type { StageKind } from '../common/constants';
import type { PollSpec } from '../common/pipeline';
import type { PoolCapacity } from '../common/pools';
import type { StageResult, StageUsage } from '../common/run-types';
import { outcomeOf, type None, type StateTable } from '../kinds';
import type { AwsClients } from './aws-clients';

export interface StageContext {
  pipeline: string;
  ds: string;
  stageId: string;
  /** Params with templates rendered for `ds`. */
  params: Record<string, unknown>;
  /** `<pipeline>/<ds>/<stage>/g<generation>`: at most one AWS job per key. */
  idempotencyKey: string;
  clients: AwsClients;
  /**
   * When the stage's activity was first scheduled (epoch ms, the same for every attempt), set by
   * the runner. Kinds whose API has neither a client token nor a per-run tag (Glue crawlers,
   * DataBrew) adopt a run that started after it instead of starting another.
   */
  firstScheduledAtMs?: number;
  /**
   * For immediate handlers that wait themselves (pipeline.wait): the stage's `poll` and, for a
   * sensor, the deadline from its `timeout.total` (epoch ms). Job handlers get both from the runner.
   */
  poll?: PollSpec;
  deadlineMs?: number;
}

/** What a job's status call says, mapped from the service's own states. */
export type JobStatus =
  | { state: 'running'; awsState: string }
  | { state: 'succeeded'; awsState: string; usage?: StageUsage }
  | { state: 'failed' | 'stopped' | 'timeout'; awsState: string; message?: string };

/** What every handler may say about the limits AWS puts on it (pools, common/pools.ts). */
interface CapacityAware {
  /**
   * AWS error names (the SDK exception's `name`) by which the start call says a limit is full: the
   * stage waits for capacity inside its attempt (no retry attempt is spent) and starts again.
   */
  capacityErrors?: readonly string[];
  /** The slots of the kind's default pool, as AWS states them for the resource (GetJob, ...). */
  capacity?(ctx: StageContext): Promise<PoolCapacity | undefined>;
}

/** A kind whose work is one idempotent call (s3.put). */
export interface ImmediateHandler extends CapacityAware {
  kind: StageKind;
  mode: 'immediate';
  service: string;
  run(ctx: StageContext): Promise<StageResult>;
}

/** A kind that starts an AWS job and waits for it. */
export interface JobHandler extends CapacityAware {
  kind: StageKind;
  mode: 'job';
  /** Service name for messages, e.g. "Glue". */
  service: string;
  /**
   * An existing job for `ctx.idempotencyKey`, for APIs without a client token. Called before every
   * start, so a crash between the start call and the first heartbeat never leads to a second job.
   */
  find?(ctx: StageContext): Promise<string | undefined>;
  /** Starts the job (idempotently where the API allows) and returns its id. */
  start(ctx: StageContext): Promise<string>;
  describe(ctx: StageContext, jobId: string): Promise<JobStatus>;
  /** Asks AWS to stop the job. Must not fail when the job has already ended. */
  stop?(ctx: StageContext, jobId: string): Promise<void>;
  /** Builds the stage result once the job succeeded (e.g. reads query results). */
  collect?(ctx: StageContext, jobId: string): Promise<Omit<StageResult, 'jobId'>>;
  /**
   * The job's watch key when its service emits state-change events (common/stage-events.ts): the
   * stage then waits for the event instead of polling. Absent: the kind is polled.
   */
  watchKey?(ctx: StageContext, jobId: string): string;
  /**
   * Every state the service can report for the job (the SDK's enum, where it has one): the kind's
   * state table (kind.ts `states`) must map each (test/unit/kinds-complete.test.ts).
   */
  serviceStates?: readonly string[];
}

/**
 * A JobStatus from the service's state through the kind's state table (kind.ts `states`), with the
 * service's message on an end other than success (or `fallback[awsState]` when it gave none).
 */
export function jobStatus(
  states: StateTable | None,
  awsState: string,
  message?: string,
  fallback: Readonly<Record<string, string>> = {},
): JobStatus {
  const state = outcomeOf(states, awsState);
  if (state === 'running' || state === 'succeeded') return { state, awsState };
  const text = message || fallback[awsState];
  return { state, awsState, ...(text !== undefined ? { message: text } : {}) };
}

export type StageHandler = ImmediateHandler | JobHandler;
