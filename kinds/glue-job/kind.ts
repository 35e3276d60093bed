import { defineKind } from '../types';

export const glueJob = defineKind({
  kind: 'glue.job',
  states: {
    STARTING: 'running',
    RUNNING: 'running',
    STOPPING: 'running',
    WAITING: 'running',
    SUCCEEDED: 'succeeded',
    FAILED: 'failed',
    ERROR: 'failed',
    EXPIRED: 'failed',
    TIMEOUT: 'timeout',
    STOPPED: 'stopped',
  },
  events: [{ source: 'aws.glue', detailType: 'Glue Job State Change', stateField: 'state', ids: ['jobRunId'] }],
  usage: { prices: 'glue', figures: 'GetJobRun DPUSeconds, or ExecutionTime × the DPUs of its workers' },
  stop: 'Glue BatchStopJobRun',
  iam: ['glue:StartJobRun', 'glue:GetJobRun', 'glue:GetJobRuns', 'glue:BatchStopJobRun', 'glue:GetJob'],
  // A Glue job runs at most ExecutionProperty.MaxConcurrentRuns at once (1 unless set).
  defaultPool: (p) => (typeof p.JobName === 'string' ? `glue:${p.JobName}` : undefined),
  api: 'Glue StartJobRun',
  outputs: ['jobRunId', 'jobName'],
  required: [{ field: 'JobName', hint: 'the name of an existing Glue job' }],
  grants: ({ p, g, arn, str }) => [
    g(
      // GetJob: the job's MaxConcurrentRuns, the slots of its default pool.
      ['glue:StartJobRun', 'glue:GetJobRun', 'glue:GetJobRuns', 'glue:BatchStopJobRun', 'glue:GetJob'],
      [arn('glue', `job/${str(p, 'JobName')!}`)],
    ),
  ],
});
