import { defineKind } from './types';

export const glueJob = defineKind({
  kind: 'glue.job',
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
