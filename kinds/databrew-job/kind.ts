import { defineKind } from '../types';

export const databrewJob = defineKind({
  kind: 'databrew.job',
  states: {
    STARTING: 'running',
    RUNNING: 'running',
    STOPPING: 'running',
    SUCCEEDED: 'succeeded',
    FAILED: 'failed',
    TIMEOUT: 'timeout',
    STOPPED: 'stopped',
  },
  events: { none: 'DataBrew sends no job-run state-change events: the run is polled' },
  usage: { none: 'DescribeJobRun reports no billed node-hours' },
  stop: 'DataBrew StopJobRun',
  iam: ['databrew:DescribeJobRun', 'databrew:ListJobRuns', 'databrew:StartJobRun', 'databrew:StopJobRun'],
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
