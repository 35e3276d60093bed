import { defineKind } from '../types';

export const emrStep = defineKind({
  kind: 'emr.step',
  states: {
    PENDING: 'running',
    CANCEL_PENDING: 'running',
    RUNNING: 'running',
    COMPLETED: 'succeeded',
    FAILED: 'failed',
    CANCELLED: 'stopped',
    INTERRUPTED: 'stopped',
  },
  events: [
    { source: 'aws.emr', detailType: 'EMR Step Status Change', stateField: 'state', ids: ['clusterId', 'stepId'] },
  ],
  usage: { none: "a step's cost is its cluster's, which EMR does not split per step" },
  stop: 'EMR CancelSteps',
  iam: [
    'elasticmapreduce:AddJobFlowSteps',
    'elasticmapreduce:CancelSteps',
    'elasticmapreduce:DescribeStep',
    'elasticmapreduce:ListSteps',
  ],
  api: 'EMR AddJobFlowSteps',
  outputs: ['clusterId', 'stepId', 'stepName', 'seconds'],
  required: [
    { field: 'JobFlowId', hint: 'the id of a running cluster, e.g. j-2AXXXXXXGAPLF' },
    { field: 'Steps', hint: 'a list of exactly one step: [{ Name, ActionOnFailure, HadoopJarStep: { Jar, Args } }]' },
  ],
  check: (p) => {
    const steps = p.Steps;
    if (steps === undefined || steps === null || steps === '') return [];
    if (!Array.isArray(steps) || steps.length !== 1) {
      return [
        {
          field: 'Steps',
          received: steps,
          problem: 'emr.step runs exactly one step',
          fix: 'give a list of one step; use one stage per step (dependsOn orders them)',
        },
      ];
    }
    const step: unknown = steps[0];
    const hadoop =
      step !== null && typeof step === 'object' ? (step as Record<string, unknown>).HadoopJarStep : undefined;
    if (hadoop === null || typeof hadoop !== 'object' || !(hadoop as Record<string, unknown>).Jar) {
      return [
        {
          field: 'Steps[0].HadoopJarStep.Jar',
          received: hadoop,
          problem: 'required by EMR AddJobFlowSteps',
          fix: 'add HadoopJarStep: { Jar: command-runner.jar, Args: [spark-submit, ...] }',
        },
      ];
    }
    return [];
  },
  grants: ({ p, onCluster }) => [
    onCluster(
      [
        'elasticmapreduce:AddJobFlowSteps',
        'elasticmapreduce:DescribeStep',
        'elasticmapreduce:ListSteps',
        'elasticmapreduce:CancelSteps',
      ],
      p.JobFlowId,
    ),
  ],
});
