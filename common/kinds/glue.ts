import { defineKind } from './types';

export const glueJob = defineKind({
  kind: 'glue.job',
  api: 'Glue StartJobRun',
  outputs: ['jobRunId', 'jobName'],
  required: [{ field: 'JobName', hint: 'the name of an existing Glue job' }],
  grants: ({ p, g, arn, str }) => [
    g(
      ['glue:StartJobRun', 'glue:GetJobRun', 'glue:GetJobRuns', 'glue:BatchStopJobRun'],
      [arn('glue', `job/${str(p, 'JobName')!}`)],
    ),
  ],
});
