/**
 * The stops a date's run sends (workflows/run-pipeline.ts): every job of the run in one
 * `stopRunJobs` (activities/stop.ts), or — runs recorded before that existed — one `stopStageJob`
 * per orphaned job, as they did then.
 *
 * Deterministic: imports only @temporalio/workflow, shared constants/pure helpers and activity types.
 */
import { CancellationScope, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { SluiceActivities } from '../activities';
import { ERROR_TYPES } from '../common/constants';
import * as machine from '../common/run-machine';
import type { DateRunState } from '../common/run-machine';
import type { RunPipelineInput, StopOutcome, StopTarget } from '../common/run-types';

/** Stops the targets' jobs from any worker, recorded as sent on the run's state; not cancellable. */
export function stopRunJobsOf(
  state: DateRunState,
  { pipeline, ds }: RunPipelineInput,
  targets: StopTarget[],
): Promise<StopOutcome[]> {
  const { stopRunJobs } = proxyActivities<SluiceActivities>({
    startToCloseTimeout: '10m',
    heartbeatTimeout: '30s',
    retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
    summary: 'stop the AWS jobs of this run',
  });
  const { workflowId, runId } = workflowInfo();
  machine.stopsSent(state, targets);
  return CancellationScope.nonCancellable(() =>
    stopRunJobs({ workflowId, runId, pipeline: pipeline.name, ds, stages: targets }),
  );
}

/** Runs of before stopRunJobs: one stopStageJob per orphaned job, each outcome logged. */
export function stopOrphansOneByOne(state: DateRunState, { pipeline, ds }: RunPipelineInput): Promise<void> {
  return CancellationScope.nonCancellable(async () => {
    const { stopStageJob } = proxyActivities<SluiceActivities>({
      startToCloseTimeout: '5m',
      retry: { maximumAttempts: 10, initialInterval: '2s', nonRetryableErrorTypes: [ERROR_TYPES.awsRequest] },
      summary: 'stop orphaned AWS jobs',
    });
    for (const { stageId, jobId } of state.orphans) {
      const stage = machine.stageDef(state, stageId);
      const outcome = await stopStageJob({
        kind: stage.kind,
        params: stage.params,
        pipeline: pipeline.name,
        ds,
        jobId,
      }).catch((e: unknown) => String(e));
      log.info('stopped orphaned job', { stage: stage.id, jobId, outcome });
    }
  });
}
