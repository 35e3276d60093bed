/**
 * `emr.cluster`: RunJobFlow → DescribeCluster until WAITING (or RUNNING) → TerminateJobFlows on
 * cancel. The stage succeeds once the cluster is ready and leaves it running: later stages use it
 * (`emr.step` with JobFlowId `{{ stages.<id>.output.clusterId }}`), an `emr.terminate` stage ends it.
 * A cluster that ends while starting fails the stage with AWS's StateChangeReason.
 *
 * RunJobFlow has no client token, so the cluster is tagged `sluice:stage-key` = the stage's key
 * (its sha256 when longer than a tag value) and `sluice:pipeline` = the pipeline. `find` looks for
 * a cluster of the requested Name created since the stage was first scheduled (ListClusters,
 * CreatedAfter) and reads the tags of those (DescribeCluster), so an attempt that died between
 * RunJobFlow and its first heartbeat never leads to a second cluster. A found cluster is adopted
 * whatever its state (one that failed to start fails the stage again rather than starting another).
 */
import { createHash } from 'node:crypto';
import {
  DescribeClusterCommand,
  ListClustersCommand,
  RunJobFlowCommand,
  TerminateJobFlowsCommand,
  type Cluster,
  type ClusterState,
  type ClusterStatus,
  type RunJobFlowCommandInput,
  ClusterState as SERVICE_STATES,
} from '@aws-sdk/client-emr';
import { log } from '@temporalio/activity';
import { EMR_CLUSTER_TAGS } from '../../common/constants';
import { jobStatus, type JobHandler, type JobStatus, type StageContext } from '../../activities/stage-handler';
import { emrCluster as emrClusterKind } from './kind';

/** Tag values hold 256 characters. */
const TAG_VALUE_MAX = 256;
/** Clock skew tolerated between the worker (the stage's scheduling time) and AWS (CreationDateTime). */
const SKEW_MS = 5 * 60_000;
/** ListClusters pages (50 clusters each) read when looking for the stage's cluster. */
const FIND_PAGES = 20;
/** The states a cluster can be in while it may still be ours, when no scheduling time bounds the search. */
const ALIVE: ClusterState[] = ['STARTING', 'BOOTSTRAPPING', 'RUNNING', 'WAITING', 'TERMINATING'];
/** The states of a cluster that has ended. */
export const ENDED = new Set<string>(['TERMINATED', 'TERMINATED_WITH_ERRORS']);

/** The value of the `sluice:stage-key` tag: the key itself, or its sha256 when it does not fit. */
export function clusterKeyTag(idempotencyKey: string): string {
  return idempotencyKey.length <= TAG_VALUE_MAX
    ? idempotencyKey
    : createHash('sha256').update(idempotencyKey).digest('hex');
}

/** The StateChangeReason as one message: "<Message> (<Code>)". */
export function reasonText(status: ClusterStatus | undefined): string | undefined {
  const r = status?.StateChangeReason;
  if (!r?.Message && !r?.Code) return undefined;
  return r.Message ? `${r.Message}${r.Code ? ` (${r.Code})` : ''}` : r.Code;
}

/**
 * EMR's ClusterState for a cluster being started, mapped once: ready (WAITING, RUNNING) is
 * success; ending while starting is a failure (TERMINATED by a user request: stopped).
 */
export function mapEmrClusterState(status: ClusterStatus | undefined): JobStatus {
  const s = status?.State ?? 'UNKNOWN';
  const mapped = jobStatus(emrClusterKind.states, s, reasonText(status));
  // Terminated by someone (or by Sluice on cancel) before it was ready: stopped, never a success.
  return s === 'TERMINATED' && mapped.state === 'failed' && status?.StateChangeReason?.Code === 'USER_REQUEST'
    ? { ...mapped, state: 'stopped' }
    : mapped;
}

export async function describeCluster(ctx: StageContext, clusterId: string): Promise<Cluster> {
  const out = await ctx.clients.emr.send(new DescribeClusterCommand({ ClusterId: clusterId }));
  if (!out.Cluster) throw new Error(`EMR DescribeCluster returned no cluster for ${clusterId}`);
  return out.Cluster;
}

const isAccessDenied = (err: unknown): boolean =>
  ['AccessDeniedException', 'AccessDenied'].includes((err as { name?: string }).name ?? '');

export const emrCluster: JobHandler = {
  kind: emrClusterKind.kind,
  mode: 'job',
  serviceStates: Object.values(SERVICE_STATES),
  service: 'EMR cluster',
  async find(ctx) {
    const name = String(ctx.params.Name);
    const key = clusterKeyTag(ctx.idempotencyKey);
    const since = ctx.firstScheduledAtMs;
    const filter = since !== undefined ? { CreatedAfter: new Date(since - SKEW_MS) } : { ClusterStates: [...ALIVE] };
    const candidates: { id: string; created: number }[] = [];
    let Marker: string | undefined;
    for (let page = 0; page < FIND_PAGES; page++) {
      const out = await ctx.clients.emr.send(new ListClustersCommand({ ...filter, Marker }));
      for (const c of out.Clusters ?? []) {
        if (c.Id && c.Name === name)
          candidates.push({ id: c.Id, created: c.Status?.Timeline?.CreationDateTime?.getTime() ?? 0 });
      }
      Marker = out.Marker;
      if (!Marker) break;
    }
    // Oldest first: should two ever carry the key, the stage keeps the first.
    for (const { id } of candidates.sort((a, b) => a.created - b.created)) {
      let cluster: Cluster;
      try {
        cluster = await describeCluster(ctx, id);
      } catch (err) {
        // The worker may describe every cluster tagged with its pipelines: one it may not read is not ours.
        if (isAccessDenied(err)) continue;
        throw err;
      }
      if (cluster.Tags?.some((t) => t.Key === EMR_CLUSTER_TAGS.stageKey && t.Value === key)) {
        log.info('found the cluster started by an earlier attempt', { stage: ctx.stageId, clusterId: id });
        return id;
      }
    }
    return undefined;
  },
  async start(ctx) {
    const request = ctx.params as unknown as RunJobFlowCommandInput;
    const out = await ctx.clients.emr.send(
      new RunJobFlowCommand({
        ...request,
        Tags: [
          ...(request.Tags ?? []),
          { Key: EMR_CLUSTER_TAGS.pipeline, Value: ctx.pipeline },
          { Key: EMR_CLUSTER_TAGS.stageKey, Value: clusterKeyTag(ctx.idempotencyKey) },
        ],
      }),
    );
    if (!out.JobFlowId) throw new Error('EMR RunJobFlow returned no JobFlowId');
    return out.JobFlowId;
  },
  async describe(ctx, jobId) {
    return mapEmrClusterState((await describeCluster(ctx, jobId)).Status);
  },
  async stop(ctx, jobId) {
    // Accepted in any state (a no-op on a cluster that has ended): the runner then waits for TERMINATED.
    await ctx.clients.emr.send(new TerminateJobFlowsCommand({ JobFlowIds: [jobId] }));
  },
  async collect(ctx, jobId) {
    const c = await describeCluster(ctx, jobId);
    const t = c.Status?.Timeline;
    const seconds =
      t?.CreationDateTime && t.ReadyDateTime
        ? Math.round((t.ReadyDateTime.getTime() - t.CreationDateTime.getTime()) / 1000)
        : undefined;
    const state = c.Status?.State ?? 'UNKNOWN';
    return {
      summary: `EMR cluster ${jobId}${c.Name ? ` (${c.Name})` : ''} is ${state}${seconds !== undefined ? ` after ${seconds}s` : ''}; it keeps running until an emr.terminate stage ends it`,
      output: {
        clusterId: jobId,
        ...(c.ClusterArn ? { clusterArn: c.ClusterArn } : {}),
        ...(c.Name ? { name: c.Name } : {}),
        state,
        ...(c.MasterPublicDnsName ? { masterPublicDnsName: c.MasterPublicDnsName } : {}),
        ...(c.ReleaseLabel ? { releaseLabel: c.ReleaseLabel } : {}),
        ...(seconds !== undefined ? { secondsToReady: seconds } : {}),
      },
    };
  },
};
