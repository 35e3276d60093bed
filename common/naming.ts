/** How runs and stages are named. One definition, used by the CLI, the workflows and the tests. */

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
