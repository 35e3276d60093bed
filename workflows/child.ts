/**
 * `sluice/workflows/child`: a team's own workflow runs a Sluice pipeline as a child workflow, the
 * run being exactly what `sluice run` would start: workflow ID `<pipeline>/<ds>`, static summary
 * and search attributes (Pipeline, Date, Status) from common/run-start.ts.
 *
 *   const status = await runPipelineChild(pipeline, '2024-03-01');
 *   // or, with the SDK's own call:
 *   const status = await executeChild(runPipeline, pipelineChildOptions(pipeline, '2024-03-01'));
 *
 * Kept out of `sluice/workflows` on purpose: a workflows module registers every function it
 * exports as a workflow type, so `export * from 'sluice/workflows'` registers Sluice's workflows
 * and nothing else.
 *
 * Deterministic: imports only @temporalio/workflow, shared constants/pure helpers and types.
 */
import {
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  executeChild,
  type ChildWorkflowOptions,
} from '@temporalio/workflow';
import { WORKFLOW_TYPES } from '../common/constants';
import type { PipelineDefinition } from '../common/pipeline';
import { runStartOptions } from '../common/run-start';
import type { RunPipelineInput, RunStatus } from '../common/run-types';
import { listDateRuns } from './date-run';
import type { runPipeline } from './run-pipeline';

export interface PipelineChildOptions {
  /**
   * The run's generation: 0 for a date's first run; a rerun of a date needs a new one, or its
   * stages reattach to the earlier run's (finished) AWS jobs. pipelineChildOptions defaults to 0;
   * runPipelineChild defaults to the number of earlier runs of the date, as `sluice run` does.
   */
  generation?: number;
  /** Run parameters; the pipeline's defaults fill in the rest. */
  params?: Record<string, unknown>;
  /**
   * Default REQUEST_CANCEL: closing the parent in any way cancels the run, whose stages stop
   * their AWS jobs (the SDK's default, TERMINATE, would leave them running).
   */
  parentClosePolicy?: ParentClosePolicy;
  /** Default WAIT_CANCELLATION_COMPLETED: a cancelled parent waits until AWS confirmed its jobs stopped. */
  cancellationType?: ChildWorkflowCancellationType;
  /** Default: the parent's task queue (a worker with SluicePlugin polls it). */
  taskQueue?: string;
}

export type RunPipelineChildOptions = ChildWorkflowOptions & {
  workflowId: string;
  args: [RunPipelineInput];
};

/** The options of `executeChild(runPipeline, …)` / `startChild(runPipeline, …)` for `<pipeline>/<ds>`. */
export function pipelineChildOptions(
  pipeline: PipelineDefinition,
  ds: string,
  opts: PipelineChildOptions = {},
): RunPipelineChildOptions {
  return {
    ...runStartOptions(pipeline, ds, opts.generation ?? 0, opts.params),
    parentClosePolicy: opts.parentClosePolicy ?? ParentClosePolicy.REQUEST_CANCEL,
    cancellationType: opts.cancellationType ?? ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
    ...(opts.taskQueue ? { taskQueue: opts.taskQueue } : {}),
  };
}

/**
 * Runs `<pipeline>/<ds>` as a child and returns its status (every stage's state and result). A
 * failed run throws a ChildWorkflowFailure, a cancelled one a CancelledFailure, as executeChild
 * does; a run of the date already running elsewhere is a WorkflowExecutionAlreadyStartedError.
 * Without `generation`, asks visibility (Sluice's listDateRuns activity) how many runs the date had.
 */
export async function runPipelineChild(
  pipeline: PipelineDefinition,
  ds: string,
  opts: PipelineChildOptions = {},
): Promise<RunStatus> {
  const generation = opts.generation ?? (await listDateRuns(pipeline.name, ds, ds))[ds]?.runs ?? 0;
  return executeChild<typeof runPipeline>(
    WORKFLOW_TYPES.runPipeline,
    pipelineChildOptions(pipeline, ds, { ...opts, generation }),
  );
}
