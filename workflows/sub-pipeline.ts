/**
 * `pipeline.run`: another pipeline run for the same date as a child workflow of this run (or of a
 * fan-out chunk, one per item), with its own stages, UI page and status. Its workflow ID is the
 * parent's plus the stage (`sales/2024-03-01/load_table`, `…/load_tables[3]`), which also scopes
 * its stages' idempotency keys, so two sub-runs of one pipeline never share a job.
 *
 * Deterministic: imports only @temporalio/workflow, shared constants/pure helpers and types.
 */
import { ChildWorkflowCancellationType, ParentClosePolicy, startChild } from '@temporalio/workflow';
import { WORKFLOW_TYPES } from '../common/constants';
import { runSummary } from '../common/naming';
import { KINDS, type KindDescriptor } from '../kinds';
import type { PipelineDefinition } from '../common/pipeline';
import type { RunPipelineInput, RunStatus, StageResult } from '../common/run-types';
import { runSearchAttributes } from '../common/search-attributes';
import { renderParams, type RenderContext } from '../common/templating';

/** Sub-run stage outputs are kept in the parent's stage output up to this much JSON. */
const OUTPUTS_MAX_BYTES = 64 * 1024;

/**
 * A stage's params rendered for this run. A stage that runs a sub-pipeline (its kind's
 * `subPipeline`) renders only the sub-run's params: the sub-pipeline's own templates are its run's.
 */
export function renderStageParams(
  kind: string,
  params: Record<string, unknown>,
  ctx: RenderContext,
): Record<string, unknown> {
  const sub = (KINDS as Record<string, KindDescriptor | undefined>)[kind]?.subPipeline;
  if (!sub) return renderParams(params, ctx);
  const { [sub.pipeline]: pipeline, [sub.params]: subParams, ...rest } = params;
  return {
    ...renderParams(rest, ctx),
    [sub.pipeline]: pipeline,
    ...(subParams !== undefined ? { [sub.params]: renderParams(subParams, ctx) } : {}),
  };
}

/** Runs the sub-pipeline as a child; its RunStatus becomes the stage's output. */
export async function runSubPipeline(
  params: Record<string, unknown>,
  ds: string,
  generation: number,
  workflowId: string,
): Promise<StageResult> {
  const pipeline = params.pipeline as PipelineDefinition;
  const input: RunPipelineInput = {
    pipeline,
    ds,
    generation,
    keyScope: workflowId,
    ...(params.params ? { params: params.params as Record<string, unknown> } : {}),
  };
  const child = await startChild(WORKFLOW_TYPES.runPipeline, {
    workflowId,
    args: [input],
    // Closing the parent in any way cancels the sub-run, whose stages stop their AWS jobs.
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    staticSummary: `${runSummary(pipeline.name, ds, pipeline.stages.length)}, run by ${workflowId.slice(0, workflowId.lastIndexOf('/'))}`,
    typedSearchAttributes: [...runSearchAttributes(pipeline.name, ds)],
  });
  const run = (await child.result()) as RunStatus;
  const stages = Object.fromEntries(
    run.stages.map((s) => [s.id, { state: s.state, output: s.result?.output ?? null }]),
  );
  const fits = JSON.stringify(stages).length <= OUTPUTS_MAX_BYTES;
  return {
    summary: `${pipeline.name} ${run.status}: ${run.stages.filter((s) => s.state === 'succeeded').length} of ${run.stages.length} stages succeeded`,
    output: {
      workflowId,
      runId: child.firstExecutionRunId,
      status: run.status,
      stages: fits ? stages : Object.fromEntries(run.stages.map((s) => [s.id, { state: s.state }])),
    },
  };
}
