import { defineKind } from './types';

export const emrServerlessJob = defineKind({
  kind: 'emr-serverless.job',
  api: 'EMR Serverless StartJobRun',
  outputs: ['jobRunId', 'applicationId', 'name', 'executionSeconds', 'resourceUtilization'],
  required: [
    { field: 'applicationId', hint: 'the id of an EMR Serverless application' },
    { field: 'executionRoleArn', hint: 'the ARN of the job runtime role' },
    { field: 'jobDriver', hint: 'e.g. { sparkSubmit: { entryPoint: s3://bucket/job.py } }' },
  ],
  reserved: [
    {
      field: 'clientToken',
      why: 'Sluice derives it from the stage idempotency key so a retry never starts the job twice',
    },
  ],
  grants: ({ p, g, arn, str }) => {
    const app = arn('emr-serverless', `/applications/${str(p, 'applicationId')!}`);
    return [
      g(
        ['emr-serverless:StartJobRun', 'emr-serverless:GetJobRun', 'emr-serverless:CancelJobRun'],
        [app, `${app}/jobruns/*`],
      ),
      g(['iam:PassRole'], [str(p, 'executionRoleArn')!], {
        StringEquals: { 'iam:PassedToService': 'emr-serverless.amazonaws.com' },
      }),
    ];
  },
});
