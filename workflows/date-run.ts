/**
 * Running one date from another workflow (a backfill, a scheduled launcher): always as the child
 * `<pipeline>/<ds>`, the workflow ID any run of that date has, so the same date never runs twice at
 * once. A date already running elsewhere is awaited, not duplicated.
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  isCancellation,
  proxyActivities,
  startChild,
} from '@temporalio/workflow';
import type { SluiceActivities } from '../activities';
import type { DateOutcome } from '../common/backfill-types';
import { WORKFLOW_TYPES } from '../common/constants';
import { runSummary, runWorkflowId } from '../common/naming';
import type { PipelineDefinition } from '../common/pipeline';
import type { RunPipelineInput } from '../common/run-types';
import { runSearchAttributes } from '../common/search-attributes';

const { awaitRun } = proxyActivities<SluiceActivities>({
  startToCloseTimeout: '30d',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', maximumInterval: '1m' },
  // The run waited on is not ours: stop waiting at once when cancelled, leave the run alone.
  cancellationType: ActivityCancellationType.TRY_CANCEL,
  summary: 'await a run started elsewhere',
});

const { listDateRuns } = proxyActivities<SluiceActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 10 },
  summary: 'read earlier runs from visibility',
});

export { listDateRuns };

export function dateOutcome(err: unknown): DateOutcome {
  if (isCancellation(err)) return { ok: false, cancelled: true, message: 'cancelled' };
  const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const d = (cause.details?.[0] ?? {}) as { stage?: string };
    return { ok: false, cancelled: false, message: cause.message, ...(d.stage ? { stage: d.stage } : {}) };
  }
  return { ok: false, cancelled: false, message: cause instanceof Error ? cause.message : String(cause) };
}

export async function runDate(pipeline: PipelineDefinition, ds: string, generation: number): Promise<DateOutcome> {
  const workflowId = runWorkflowId(pipeline.name, ds);
  const input: RunPipelineInput = { pipeline, ds, generation };
  try {
    const child = await startChild(WORKFLOW_TYPES.runPipeline, {
      workflowId,
      args: [input],
      // Closing the parent in any way (cancel, terminate, time-out) cancels the date, whose stages stop their AWS jobs.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: runSummary(pipeline.name, ds, pipeline.stages.length),
      typedSearchAttributes: [...runSearchAttributes(pipeline.name, ds)],
    });
    await child.result();
    return { ok: true };
  } catch (err) {
    // @temporalio/workflow does not re-export this failure class; its name is stable.
    if (err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError') return awaitRun(workflowId);
    return dateOutcome(err);
  }
}
