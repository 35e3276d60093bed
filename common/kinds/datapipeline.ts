import { defineKind } from './types';

export const dataPipelineActivate = defineKind({
  kind: 'datapipeline.activate',
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
