/** Types crossing the workflow/activity/client boundary. Types only: safe to import anywhere. */
import type { StageKind } from './constants';
import type { ExpectSpec } from './checks';
import type { PipelineDefinition, PollSpec } from './pipeline';

export interface RunPipelineInput {
  pipeline: PipelineDefinition;
  /** Logical date, YYYY-MM-DD. */
  ds: string;
  /**
   * Rerun generation: part of every stage's idempotency key. The same generation reattaches to
   * jobs already started for this date; a new one starts them anew. Default 0.
   */
  generation?: number;
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
  stages: StageStatus[];
}

/** What the workflow hands to the `runStage` activity. */
export interface StageInput {
  pipeline: string;
  ds: string;
  stageId: string;
  kind: StageKind;
  /** Un-rendered params: templates are rendered by the activity for `ds`. */
  params: Record<string, unknown>;
  /** `<pipeline>/<ds>/<stage>/g<generation>`: one AWS job per key, ever. */
  idempotencyKey: string;
  poll?: PollSpec;
  /** Data-quality gate evaluated on the result (kinds in RESULT_KINDS). */
  expect?: ExpectSpec;
  /** Epoch ms after which a sensor gives up (from the stage's `timeout.total`). */
  deadlineMs?: number;
}

export interface StageResult {
  jobId?: string;
  /** One line for people: what the stage did. */
  summary: string;
  /** Kind-specific output, e.g. Athena's row count and first rows. */
  output?: Record<string, unknown>;
  /** Status calls made while waiting (cost of polling). */
  polls?: number;
  /** True when the stage reattached to a job started by an earlier attempt. */
  reattached?: boolean;
}

/** Heartbeat details: enough for any worker to reattach to, or stop, the job. */
export interface StageHeartbeat {
  jobId: string;
  startedAtMs: number;
  polls: number;
}

/** Input of the `stopStageJob` activity, used when the attempt that started a job is gone. */
export interface StopJobInput {
  kind: StageKind;
  params: Record<string, unknown>;
  pipeline: string;
  ds: string;
  jobId: string;
}
