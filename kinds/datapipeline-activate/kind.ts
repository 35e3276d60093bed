import { defineKind } from '../types';

export const dataPipelineActivate = defineKind({
  kind: 'datapipeline.activate',
  states: {
    CREATING: 'running',
    WAITING_ON_DEPENDENCIES: 'running',
    WAITING_FOR_RUNNER: 'running',
    RUNNING: 'running',
    VALIDATING: 'running',
    SHUTTING_DOWN: 'running',
    PENDING_FINISH: 'running',
    FINISHED: 'succeeded',
    MARK_FINISHED: 'succeeded',
    SKIPPED: 'succeeded',
    FAILED: 'failed',
    CASCADE_FAILED: 'failed',
    TIMEDOUT: 'timeout',
    CANCELED: 'stopped',
  },
  events: { none: 'Data Pipeline sends no instance events: the run is polled' },
  usage: { none: 'Data Pipeline bills per activity per month, not per run' },
  stop: 'Data Pipeline DeactivatePipeline',
  iam: [
    'datapipeline:ActivatePipeline',
    'datapipeline:AddTags',
    'datapipeline:DeactivatePipeline',
    'datapipeline:DescribeObjects',
    'datapipeline:DescribePipelines',
    'datapipeline:QueryObjects',
  ],
  api: 'Data Pipeline ActivatePipeline',
  outputs: ['pipelineId', 'scheduledStartTime', 'instances'],
  required: [
    { field: 'pipelineId', hint: 'the id of an existing pipeline with a definition, e.g. df-0123456789ABCDEFGHIJ' },
  ],
  // AWS Data Pipeline has no resource-level permissions (only tag conditions): `*` resource.
  grants: ({ g }) => [
    g(
      [
        'datapipeline:ActivatePipeline',
        'datapipeline:DeactivatePipeline',
        'datapipeline:DescribePipelines',
        'datapipeline:DescribeObjects',
        'datapipeline:QueryObjects',
        'datapipeline:AddTags',
      ],
      ['*'],
    ),
  ],
});
