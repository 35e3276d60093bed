import { defineKind, type ParamProblem, type Grant } from '../types';

/**
 * The tags `emr.cluster` puts on the clusters it starts: RunJobFlow has no client token, so the
 * stage's key finds a cluster started by an attempt that died before heartbeating it, and the
 * pipeline tag scopes the worker's IAM permissions to the clusters of its own pipelines.
 */
export const EMR_CLUSTER_TAGS = {
  pipeline: 'sluice:pipeline',
  stageKey: 'sluice:stage-key',
} as const;

export const emrCluster = defineKind({
  kind: 'emr.cluster',
  startsOwnCluster: true,
  states: {
    STARTING: 'running',
    BOOTSTRAPPING: 'running',
    TERMINATING: 'running',
    WAITING: 'succeeded',
    RUNNING: 'succeeded',
    TERMINATED_WITH_ERRORS: 'failed',
    TERMINATED: 'failed',
  },
  events: { none: 'the cluster is polled until ready (EMR Cluster State Change is not read)' },
  usage: { none: 'DescribeCluster reports normalized instance hours, not a billed figure' },
  stop: 'EMR TerminateJobFlows',
  iam: [
    'elasticmapreduce:AddTags',
    'elasticmapreduce:DescribeCluster',
    'elasticmapreduce:ListClusters',
    'elasticmapreduce:RunJobFlow',
    'elasticmapreduce:TerminateJobFlows',
    'iam:PassRole',
  ],
  api: 'EMR RunJobFlow',
  outputs: ['clusterId', 'clusterArn', 'name', 'state', 'masterPublicDnsName', 'releaseLabel', 'secondsToReady'],
  required: [
    { field: 'Name', hint: 'the cluster name' },
    {
      field: 'Instances',
      hint: '{ InstanceGroups or MasterInstanceType/SlaveInstanceType/InstanceCount, KeepJobFlowAliveWhenNoSteps: true }',
    },
    { field: 'JobFlowRole', hint: 'the EC2 instance profile, e.g. EMR_EC2_DefaultRole' },
    { field: 'ServiceRole', hint: 'the EMR service role, e.g. EMR_DefaultRole' },
  ],
  check: (p) => {
    const out: ParamProblem[] = [];
    const inst = p.Instances;
    const keep =
      inst !== null && typeof inst === 'object' ? (inst as Record<string, unknown>).KeepJobFlowAliveWhenNoSteps : true;
    if (keep !== true && !(typeof keep === 'string' && keep.includes('{{')))
      out.push({
        field: 'Instances.KeepJobFlowAliveWhenNoSteps',
        received: keep,
        problem: 'without it the cluster ends by itself once it has no steps, under the stages that use it',
        fix: 'set KeepJobFlowAliveWhenNoSteps: true and end the cluster with an emr.terminate stage (trigger: all_done)',
      });
    const tags = p.Tags;
    if (tags !== undefined && !Array.isArray(tags))
      out.push({ field: 'Tags', received: tags, problem: 'expected a list', fix: 'write Tags as [{ Key, Value }]' });
    if (Array.isArray(tags))
      tags.forEach((t: unknown, i) => {
        const key = t !== null && typeof t === 'object' ? (t as Record<string, unknown>).Key : undefined;
        if (typeof key === 'string' && key.startsWith('sluice:'))
          out.push({
            field: `Tags[${i}].Key`,
            received: key,
            problem: 'set by Sluice',
            fix: 'remove it: Sluice tags the cluster with its pipeline and the stage idempotency key (sluice:*), so a retry finds the cluster instead of starting another',
          });
      });
    return out;
  },
  grants: ({ p, g, arn, str, pattern, roleArn, ownClusters, pipeline, partition, account }) => {
    const tagKeys = [
      ...(Array.isArray(p.Tags) ? p.Tags : [])
        .map((t: unknown) => (t !== null && typeof t === 'object' ? (t as Record<string, unknown>).Key : undefined))
        .filter((k): k is string => typeof k === 'string')
        .map(pattern),
      EMR_CLUSTER_TAGS.pipeline,
      EMR_CLUSTER_TAGS.stageKey,
    ];
    const requestTag = `elasticmapreduce:RequestTag/${EMR_CLUSTER_TAGS.pipeline}`;
    const passRole = (key: string, service: string): Grant[] => {
      const role = str(p, key);
      return role
        ? [
            g(['iam:PassRole'], [roleArn(role, partition, account)], {
              StringEquals: { 'iam:PassedToService': service },
            }),
          ]
        : [];
    };
    return [
      // RunJobFlow has no resource-level permissions (`*`): it is allowed only with this pipeline's tag.
      g(['elasticmapreduce:RunJobFlow'], ['*'], { StringEquals: { [requestTag]: pipeline } }),
      // Tagging on create needs AddTags too: only the tags this stage sets, with this pipeline's tag.
      g(['elasticmapreduce:AddTags'], [arn('elasticmapreduce', 'cluster/*')], {
        StringEquals: { [requestTag]: pipeline },
        'ForAllValues:StringLike': { 'aws:TagKeys': tagKeys },
      }),
      // ListClusters has no resource-level permissions (`*`); it finds a cluster an earlier attempt started.
      g(['elasticmapreduce:ListClusters'], ['*']),
      g(
        ['elasticmapreduce:DescribeCluster', 'elasticmapreduce:TerminateJobFlows'],
        [arn('elasticmapreduce', 'cluster/*')],
        ownClusters,
      ),
      ...passRole('ServiceRole', 'elasticmapreduce.amazonaws.com'),
      ...passRole('JobFlowRole', 'ec2.amazonaws.com'),
      ...passRole('AutoScalingRole', 'application-autoscaling.amazonaws.com'),
    ];
  },
});
