/**
 * The grid's record of a run (issue #22): each stage's state, times, job id, usage and message, in
 * a few hundred bytes. `runPipeline` writes it to its memo when it closes, so `sluice grid` and
 * `sluice ui` read every closed run of a range from visibility pages alone (the list call returns
 * memos): no describe, no history read, no query, no worker. A running run's status query is
 * reduced to the same record by the client.
 *
 * Pure and free of Node built-ins: workflow code imports it.
 */
import type { RunStatus, StageStateName, StageUsage } from './run-types';

/** Bumped when the record's shape changes; readers skip records of a version they do not know. */
export const GRID_MEMO_VERSION = 1;

/** AWS messages and skip reasons are cut to this many characters: the memo stays small. */
export const GRID_MESSAGE_MAX = 300;

export interface GridStageRecord {
  id: string;
  kind: string;
  state: StageStateName;
  startedAt?: string;
  endedAt?: string;
  /** The AWS job id (Glue JobRunId, Athena QueryExecutionId, …). */
  jobId?: string;
  /** The failure's message (AWS's own), a cancellation's, or why the stage was skipped; cut to GRID_MESSAGE_MAX. */
  message?: string;
  /** A forEach stage or sub-runs: items succeeded of items, when the stage reported them. */
  items?: { succeeded: number; total: number };
  /** The job's own usage figures (priced by the reader with its price table). */
  usage?: StageUsage;
  temporalActions?: number;
  /** The pool the stage waits for (no slot granted yet). */
  waitingFor?: string;
}

export interface GridRecord {
  v: typeof GRID_MEMO_VERSION;
  status: RunStatus['status'];
  generation: number;
  stages: GridStageRecord[];
}

function cut(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  return text.length > GRID_MESSAGE_MAX ? `${text.slice(0, GRID_MESSAGE_MAX - 1)}…` : text;
}

function itemsOf(output: Record<string, unknown> | undefined): GridStageRecord['items'] {
  if (!output) return undefined;
  if (typeof output.items === 'number' && typeof output.succeeded === 'number')
    return { succeeded: output.succeeded, total: output.items };
  // A single sub-run (pipeline.run without forEach): its status.
  if (typeof output.workflowId === 'string' && typeof output.status === 'string')
    return { succeeded: output.status === 'succeeded' ? 1 : 0, total: 1 };
  return undefined;
}

/** The grid's record of a run, from its RunStatus (the workflow's own, or a status query's answer). */
export function gridRecord(run: RunStatus): GridRecord {
  return {
    v: GRID_MEMO_VERSION,
    status: run.status,
    generation: run.generation,
    stages: run.stages.map((s) => {
      const message = cut(
        s.state === 'skipped' ? s.reason : (s.error?.message ?? (s.result?.cancelled ? s.result.summary : undefined)),
      );
      const items = itemsOf(s.result?.output);
      const jobId = s.jobId ?? s.result?.jobId ?? s.error?.jobId;
      const rec: GridStageRecord = { id: s.id, kind: s.kind, state: s.state };
      if (s.startedAt) rec.startedAt = s.startedAt;
      if (s.endedAt) rec.endedAt = s.endedAt;
      if (jobId) rec.jobId = jobId;
      if (message) rec.message = message;
      if (items) rec.items = items;
      if (s.result?.usage) rec.usage = s.result.usage;
      if (s.result?.temporalActions !== undefined) rec.temporalActions = s.result.temporalActions;
      if (s.state === 'running' && s.pool && !s.pool.grantedAt) rec.waitingFor = s.pool.name;
      return rec;
    }),
  };
}

/** A memo value read back: the record if it is one of this version, else undefined. */
export function asGridRecord(value: unknown): GridRecord | undefined {
  const r = value as Partial<GridRecord> | undefined;
  return r && typeof r === 'object' && r.v === GRID_MEMO_VERSION && Array.isArray(r.stages)
    ? (r as GridRecord)
    : undefined;
}
