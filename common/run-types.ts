/** Types crossing the workflow/activity/client boundary. Types only: safe to import anywhere. */
import type { StageKind } from './constants';
import type { ExpectSpec } from './checks';
import type { PipelineDefinition, PollSpec } from './pipeline';
import type { StagePool } from './pools';

export interface RunPipelineInput {
  pipeline: PipelineDefinition;
  /** Logical date, YYYY-MM-DD. */
  ds: string;
  /**
   * Rerun generation: part of every stage's idempotency key. The same generation reattaches to
   * jobs already started for this date; a new one starts them anew. Default 0.
   */
  generation?: number;
  /** Run parameters given for this run (`--param`); the pipeline's defaults fill in the rest. */
  params?: Record<string, unknown>;
  /**
   * A sub-pipeline's run (pipeline.run): its workflow ID, which replaces `<pipeline>/<ds>` in its
   * stages' idempotency keys, so sub-runs of one pipeline for one date never share a job.
   */
  keyScope?: string;
  /** Priority key of the run's waits for pools (1 first … 5 last; common/pools.ts runPriority). */
  priority?: number;
  /** Runs with the same key share a pool's turns among themselves: a backfill's dates carry its ID. */
  fairnessKey?: string;
  /**
   * The changes to the run's commands it was started knowing (common/run-shape.ts): it takes them
   * without a patch marker. Absent on runs started before shapes, which ask `patched()` as before.
   */
  shape?: number;
}

export type StageStateName = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';

export interface StageStatus {
  id: string;
  kind: StageKind;
  state: StageStateName;
  dependsOn: string[];
  startedAt?: string;
  endedAt?: string;
  /** The AWS job id (Glue JobRunId, Athena QueryExecutionId...), once the stage has finished. */
  jobId?: string;
  result?: StageResult;
  error?: StageError;
  /** Why a skipped stage did not run (its condition was false, an upstream stage failed, ...). */
  reason?: string;
  /** The pool whose slot the stage waits for or holds (common/pools.ts); waiting while `grantedAt` is absent. */
  pool?: StagePool;
}

export interface StageError {
  message: string;
  type?: string;
  jobId?: string;
}

export interface RunStatus {
  pipeline: string;
  ds: string;
  generation: number;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  /** The run's parameters, defaults filled in (only for pipelines that declare params). */
  params?: Record<string, unknown>;
  stages: StageStatus[];
  /** What the run did to stop its jobs when it was cancelled (or a stage failed with its job running). */
  stops?: StopOutcome[];
}

/** What the workflow hands to the `runStage` activity. */
export interface StageInput {
  pipeline: string;
  ds: string;
  stageId: string;
  kind: StageKind;
  /** The stage's params; templates rendered by the workflow when `rendered`, else by the activity for `ds`. */
  params: Record<string, unknown>;
  /** The workflow rendered every template (run params, stage outputs, the date): use params as they are. */
  rendered?: boolean;
  /** `<pipeline>/<ds>/<stage>/g<generation>`: one AWS job per key, ever. */
  idempotencyKey: string;
  poll?: PollSpec;
  /** Data-quality gate evaluated on the result (kinds in RESULT_KINDS). */
  expect?: ExpectSpec;
  /** Epoch ms after which a sensor gives up (from the stage's `timeout.total`). */
  deadlineMs?: number;
  /**
   * The pool slot the stage holds (workflows/pool-slot.ts): the activity gives it back itself the
   * moment its job has ended and it succeeds (saving the run a signal and a workflow task).
   */
  poolSlot?: { pool: string; id: string };
}

/**
 * What a stage's job used, from the job's own figures as AWS reported them (only those it reports;
 * see common/prices.ts for how they become money). Absent: the kind reports none.
 */
export interface StageUsage {
  /**
   * Glue: DPUSeconds when AWS reports it (auto-scaling, Flex); else the run's ExecutionTime and its
   * DPUs (NumberOfWorkers × the worker type's DPUs, or MaxCapacity).
   */
  glue?: { dpuSeconds?: number; executionSeconds?: number; dpus?: number };
  /** Athena: Statistics.DataScannedInBytes. */
  athenaBytesScanned?: number;
  /** EMR Serverless: billedResourceUtilization (else totalResourceUtilization). */
  emrServerless?: { vCPUHour: number; memoryGBHour: number; storageGBHour: number };
  /** Lambda: the invocation's REPORT line (LogType Tail): Billed Duration and Memory Size. */
  lambda?: { billedMs: number; memoryMB: number };
  /** What the figures rest on, for people, e.g. "ExecutionTime 62 s × 10 DPU (G.1X × 10)". */
  basis: string;
}

export interface StageResult {
  jobId?: string;
  /** The activity gave its pool slot back (StageInput.poolSlot): the run need not. */
  poolReleased?: boolean;
  /** The job's usage, from its own figures (kinds that report some). */
  usage?: StageUsage;
  /** One line for people: what the stage did. */
  summary: string;
  /** Kind-specific output, e.g. Athena's row count and first rows. */
  output?: Record<string, unknown>;
  /** Status calls made while waiting (cost of polling). */
  polls?: number;
  /** True when the stage reattached to a job started by an earlier attempt. */
  reattached?: boolean;
  /**
   * How the job's end was noticed: from its state-change event (push completion) or by a status
   * call (polling, the fallback poll). Absent for immediate kinds.
   */
  noticedBy?: 'event' | 'poll';
  /**
   * Temporal actions the stage spent, estimated by its last attempt: one start per attempt, the
   * heartbeats that reached the server (the SDK sends at most one per min(80% of the heartbeat
   * timeout, 2 min)), and push completion's watch start and signal. Earlier attempts' heartbeats
   * are not known to the last one and are not counted.
   */
  temporalActions?: number;
  /** Starts AWS refused because a limit was full (the stage waited and started again, in the same attempt). */
  refusedStarts?: number;
  /** Time spent waiting after those refusals (ms): waiting, not the job's running time. */
  capacityWaitMs?: number;
  /** A fan-out that was cancelled (its items' jobs stopped): the stage is cancelled, not succeeded. */
  cancelled?: boolean;
  /** Items of a cancelled fan-out whose jobs AWS did not confirm stopped. */
  unstopped?: { index: number; message: string }[];
}

/** Heartbeat details: enough for any worker to reattach to, or stop, the job. */
export interface StageHeartbeat {
  jobId: string;
  startedAtMs: number;
  polls: number;
  /**
   * The stage's idempotency key. The server keeps the last heartbeat of a pending activity (also
   * between attempts), so a cancelled run finds each stage's job by key in its own description.
   */
  key?: string;
}

/** One stage whose job a cancelled (or failed) run must stop. */
export interface StopTarget {
  stageId: string;
  kind: StageKind;
  params: Record<string, unknown>;
  /** The params are rendered already (see StageInput.rendered). */
  rendered?: boolean;
  idempotencyKey: string;
  /** Known already (an attempt's last heartbeat or its failure); otherwise looked up. */
  jobId?: string;
  /** When the stage was first scheduled (epoch ms): crawlers and DataBrew adopt only runs started after it. */
  scheduledAtMs?: number;
}

/** Input of `stopRunJobs`: the run whose pending stage attempts hold the job ids, and the stages. */
export interface StopRunJobsInput {
  workflowId: string;
  runId: string;
  pipeline: string;
  ds: string;
  stages: StopTarget[];
}

/** What became of one stage's job when the run stopped it. */
export interface StopOutcome {
  stageId: string;
  jobId?: string;
  /**
   * `stopped`: AWS confirmed the job ended; `none`: no job had been started (yet); `unstoppable`:
   * the kind's work cannot be stopped from outside (an S3 write, a Lambda call, a sensor) and ends
   * with its attempt; `unconfirmed`: stop requested, AWS did not confirm in time; `error`: AWS
   * refused the stop (the message says why).
   */
  result: 'stopped' | 'none' | 'unstoppable' | 'unconfirmed' | 'error';
  awsState?: string;
  message: string;
}

/** Input of the `stopStageJob` activity (runs started before `stopRunJobs` existed still call it). */
export interface StopJobInput {
  kind: StageKind;
  params: Record<string, unknown>;
  pipeline: string;
  ds: string;
  jobId: string;
}
