import { defineKind } from '../types';

export const emrServerlessJob = defineKind({
  kind: 'emr-serverless.job',
  states: {
    SUBMITTED: 'running',
    PENDING: 'running',
    SCHEDULED: 'running',
    RUNNING: 'running',
    QUEUED: 'running',
    CANCELLING: 'running',
    SUCCESS: 'succeeded',
    FAILED: 'failed',
    CANCELLED: 'stopped',
  },
  events: [
    {
      source: 'aws.emr-serverless',
      detailType: 'EMR Serverless Job Run State Change',
      stateField: 'state',
      ids: ['applicationId', 'jobRunId'],
    },
  ],
  usage: { prices: 'emrServerless', figures: 'GetJobRun billedResourceUtilization (vCPU-, memory- and storage-hours)' },
  stop: 'EMR Serverless CancelJobRun',
  iam: [
    'emr-serverless:CancelJobRun',
    'emr-serverless:GetApplication',
    'emr-serverless:GetJobRun',
    'emr-serverless:StartJobRun',
    'iam:PassRole',
    'servicequotas:GetServiceQuota',
  ],
  // An application runs schedulerConfiguration.maxConcurrentRuns at once (EMR 7.0.0+), and the
  // account's runs share its vCPU quota (Service Quotas L-D05C8A75, 16 by default).
  defaultPool: (p) => (typeof p.applicationId === 'string' ? `emr-serverless:${p.applicationId}` : undefined),
  // The pool came after runs with these stages could be in flight: they replay without the ask.
  defaultPoolPatch: 'sluice-pool-emr-serverless-1',
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
      // The slots of its default pool: the application's schedulerConfiguration and maximumCapacity,
      // and the account's vCPU quota (Service Quotas GetServiceQuota, granted on '*').
      g(['emr-serverless:GetApplication'], [app]),
      g(['servicequotas:GetServiceQuota'], ['*']),
      g(['iam:PassRole'], [str(p, 'executionRoleArn')!], {
        StringEquals: { 'iam:PassedToService': 'emr-serverless.amazonaws.com' },
      }),
    ];
  },
});
