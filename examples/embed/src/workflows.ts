/**
 * The team's workflows module (the worker's workflowsPath): its own workflow, plus Sluice's
 * workflows re-exported so the same worker runs the pipeline it starts as a child.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { PipelineDefinition, RunStatus } from 'sluice';
import { runPipelineChild } from 'sluice/workflows/child';
import type * as activities from './activities';

export * from 'sluice/workflows';

const { composeNote } = proxyActivities<typeof activities>({ startToCloseTimeout: '1m' });

export interface NightlyReportInput {
  team: string;
  ds: string;
  bucket: string;
  pipeline: PipelineDefinition;
}

export interface NightlyReportResult {
  parent: string;
  note: string;
  run: RunStatus;
}

/** Composes the day's note with the team's activity, then runs the Sluice pipeline that lands it in S3. */
export async function nightlyReport(input: NightlyReportInput): Promise<NightlyReportResult> {
  const note = await composeNote(input.team, input.ds);
  const run = await runPipelineChild(input.pipeline, input.ds, { params: { bucket: input.bucket, note } });
  return { parent: workflowInfo().workflowId, note, run };
}
