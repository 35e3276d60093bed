import { defineKind } from './types';

export const databrewJob = defineKind({
  kind: 'databrew.job',
  api: 'DataBrew StartJobRun',
  outputs: ['runId', 'jobName', 'datasetName', 'executionTimeSeconds', 'outputs'],
  required: [{ field: 'Name', hint: 'the name of an existing DataBrew recipe or profile job' }],
  grants: ({ p, g, arn, str }) => [
    g(
      ['databrew:StartJobRun', 'databrew:DescribeJobRun', 'databrew:ListJobRuns', 'databrew:StopJobRun'],
      [arn('databrew', `job/${str(p, 'Name')!}`)],
    ),
  ],
});
