/**
 * `emr.terminate`: DescribeCluster (an unknown id fails here, with AWS's message) → TerminateJobFlows
 * unless the cluster has ended already → DescribeCluster until TERMINATED. TERMINATED_WITH_ERRORS
 * counts as terminated (the stage succeeds, and says so); cancelling it does not undo the termination.
 */
import { TerminateJobFlowsCommand, type ClusterStatus, ClusterState as SERVICE_STATES } from '@aws-sdk/client-emr';
import { log } from '@temporalio/activity';
import { jobStatus, type JobHandler, type JobStatus } from '../../activities/stage-handler';
import { describeCluster, ENDED, reasonText } from '../emr-cluster/handler';
import { emrTerminate as emrTerminateKind } from './kind';

/** EMR's ClusterState for a cluster being terminated: any end is success, TERMINATED_WITH_ERRORS included. */
export function mapEmrTerminateState(status: ClusterStatus | undefined): JobStatus {
  return jobStatus(emrTerminateKind.states, status?.State ?? 'UNKNOWN');
}

function terminateId(params: Record<string, unknown>): string {
  return String(params.ClusterId);
}

export const emrTerminate: JobHandler = {
  kind: emrTerminateKind.kind,
  mode: 'job',
  serviceStates: Object.values(SERVICE_STATES),
  service: 'EMR cluster',
  async start(ctx) {
    const id = terminateId(ctx.params);
    // Also the check that the cluster exists: an unknown id fails with AWS's own message.
    const cluster = await describeCluster(ctx, id);
    if (ENDED.has(cluster.Status?.State ?? '')) {
      log.info('the cluster has already ended', { stage: ctx.stageId, clusterId: id, state: cluster.Status?.State });
      return id;
    }
    await ctx.clients.emr.send(new TerminateJobFlowsCommand({ JobFlowIds: [id] }));
    return id;
  },
  async describe(ctx, jobId) {
    return mapEmrTerminateState((await describeCluster(ctx, jobId)).Status);
  },
  async collect(ctx, jobId) {
    const c = await describeCluster(ctx, jobId);
    const state = c.Status?.State ?? 'UNKNOWN';
    const reason = c.Status?.StateChangeReason;
    const text = reasonText(c.Status);
    if (state === 'TERMINATED_WITH_ERRORS')
      log.warn('the cluster ended with errors', { stage: ctx.stageId, clusterId: jobId, reason: text });
    return {
      summary: `EMR cluster ${jobId} ${state}${text ? `: ${text}` : ''}`,
      output: {
        clusterId: jobId,
        state,
        withErrors: state === 'TERMINATED_WITH_ERRORS',
        ...(reason?.Code || reason?.Message
          ? { stateChangeReason: { code: reason.Code ?? null, message: reason.Message ?? null } }
          : {}),
        ...(c.Status?.Timeline?.EndDateTime ? { endTime: c.Status.Timeline.EndDateTime.toISOString() } : {}),
      },
    };
  },
};
