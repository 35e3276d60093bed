/**
 * Running one date from another workflow (a backfill, a scheduled launcher): always as the child
 * `<pipeline>/<ds>`, the workflow ID any run of that date has, so the same date never runs twice at
 * once. A date already running elsewhere is awaited, not duplicated.
 */
// @temporalio/workflow does not re-export WorkflowExecutionAlreadyStartedError; the workflow
// runtime throws @temporalio/common's class (the same module in the bundle), so instanceof holds.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ActivityCancellationType, ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { SluiceActivities } from '../activities';
import type { DateOutcome } from '../common/backfill-types';
import { WORKFLOW_TYPES } from '../common/constants';
import { failureOutcome } from '../common/outcomes';
import type { PipelineDefinition } from '../common/pipeline';
import type { RunPipelineInput } from '../common/run-types';
import { runStartOptions } from '../common/run-start';

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

export { awaitRun, listDateRuns };

export interface RunDateOptions {
  /**
   * The run outlives this workflow run (ParentClosePolicy.ABANDON), so a backfill can carry it
   * across continue-as-new — Temporal applies the parent close policy on continue-as-new too, and
   * REQUEST_CANCEL would cancel it there. The caller then cancels it itself when it is cancelled.
   * Default: REQUEST_CANCEL, closing the parent in any way cancels the date.
   */
  abandon?: boolean;
  /** Called once the date's run is known: started by us (its runId), or already running elsewhere. */
  onStarted?: (run: { ours: true; runId: string } | { ours: false }) => void;
  /** Run parameters of the date's run. */
  params?: Record<string, unknown>;
  /** Its stages' turn at pools: priority key and fairness key. */
  turn?: Pick<RunPipelineInput, 'priority' | 'fairnessKey'>;
}

export async function runDate(
  pipeline: PipelineDefinition,
  ds: string,
  generation: number,
  opts: RunDateOptions = {},
): Promise<DateOutcome> {
  const start = runStartOptions(pipeline, ds, generation, opts.params, opts.turn);
  const { workflowId } = start;
  try {
    const child = await startChild(WORKFLOW_TYPES.runPipeline, {
      ...start,
      // REQUEST_CANCEL: closing the parent in any way (cancel, terminate, time-out) cancels the date, whose stages stop their AWS jobs.
      parentClosePolicy: opts.abandon ? ParentClosePolicy.ABANDON : ParentClosePolicy.REQUEST_CANCEL,
    });
    opts.onStarted?.({ ours: true, runId: child.firstExecutionRunId });
    await child.result();
    return { ok: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      opts.onStarted?.({ ours: false });
      return awaitRun(workflowId);
    }
    return failureOutcome(err);
  }
}
