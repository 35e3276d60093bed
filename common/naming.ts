/** How runs and stages are named. One definition, used by the CLI, the workflows and the tests. */
import { PIPELINE_NAME } from '../kinds/types';

/** A single run of a pipeline for a date, whoever starts it (CLI, backfill, schedule). */
export function runWorkflowId(pipeline: string, ds: string): string {
  return `${pipeline}/${ds}`;
}

/** At most one AWS job per key: the same key reattaches, a new generation starts anew. */
export function stageIdempotencyKey(pipeline: string, ds: string, stageId: string, generation: number): string {
  return `${pipeline}/${ds}/${stageId}/g${generation}`;
}

export function runSummary(pipeline: string, ds: string, stageCount: number): string {
  return `Pipeline ${pipeline} for ${ds} (${stageCount} stage${stageCount === 1 ? '' : 's'})`;
}

/** One step of a sub-run's path: a `pipeline.run` stage's id, with `[<index>]` for a forEach item. */
const SUB_RUN_STEP = /^[A-Za-z0-9][A-Za-z0-9_.-]*(\[\d+\])?$/;

/**
 * A sub-run's workflow ID: its parent run's plus the stage (`sales/2024-03-01/load_table`), or the
 * stage and the item (`…/load_tables[3]`); a sub-run of a sub-run adds its own step
 * (`…/load_tables[3]/copy`). Undefined when `path` is no such path.
 */
export function subRunWorkflowId(runWorkflowId: string, path: string): string | undefined {
  const steps = path.split('/');
  return steps.every((s) => SUB_RUN_STEP.test(s)) ? `${runWorkflowId}/${path}` : undefined;
}

/** `<pipeline>/<date>` and any sub-run steps after it; undefined when `workflowId` is not a run's ID. */
export function parseRunWorkflowId(workflowId: string): { pipeline: string; ds: string; steps: string[] } | undefined {
  const [pipeline = '', ds = '', ...steps] = workflowId.split('/');
  if (!PIPELINE_NAME.test(pipeline) || !/^\d{4}-\d{2}-\d{2}$/.test(ds)) return undefined;
  return steps.every((s) => SUB_RUN_STEP.test(s)) ? { pipeline, ds, steps } : undefined;
}

/** True when `workflowId` is a sub-run started by the run `parentWorkflowId` itself (one step below it). */
export function isDirectSubRun(parentWorkflowId: string, workflowId: string): boolean {
  const prefix = `${parentWorkflowId}/`;
  return workflowId.startsWith(prefix) && SUB_RUN_STEP.test(workflowId.slice(prefix.length));
}
