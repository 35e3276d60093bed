import { defineKind } from '../types';

export const emrTerminate = defineKind({
  kind: 'emr.terminate',
  states: {
    STARTING: 'running',
    BOOTSTRAPPING: 'running',
    RUNNING: 'running',
    WAITING: 'running',
    TERMINATING: 'running',
    TERMINATED: 'succeeded',
    TERMINATED_WITH_ERRORS: 'succeeded',
  },
  events: { none: 'the cluster is polled until it has ended' },
  usage: { none: 'ending a cluster costs nothing of its own' },
  stop: { none: 'a termination once asked cannot be undone; cancelling the stage leaves it under way' },
  iam: ['elasticmapreduce:DescribeCluster', 'elasticmapreduce:TerminateJobFlows'],
  api: 'EMR TerminateJobFlows',
  outputs: ['clusterId', 'state', 'withErrors', 'stateChangeReason', 'endTime'],
  required: [
    {
      field: 'ClusterId',
      hint: 'the cluster to end, usually "{{ stages.<id>.output.clusterId }}" of an emr.cluster stage',
    },
  ],
  grants: ({ p, onCluster }) => [
    onCluster(['elasticmapreduce:DescribeCluster', 'elasticmapreduce:TerminateJobFlows'], p.ClusterId),
  ],
});
