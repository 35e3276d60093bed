/**
 * `emr-serverless.job`: StartJobRun (clientToken from the idempotency key) → GetJobRun →
 * CancelJobRun. The same token always names the same job run, so a retried attempt gets the run
 * the first attempt started instead of a second one.
 *
 * Its default pool (`emr-serverless:<applicationId>`) learns its slots from GetApplication: the
 * application's schedulerConfiguration.maxConcurrentRuns when it has one (EMR 7.0.0+ job
 * concurrency and queuing), else the account's vCPU quota (Service Quotas L-D05C8A75) bounded by
 * the application's maximumCapacity.cpu, divided by the vCPUs one run of the stage takes.
 */
import { watchKey } from '../../common/stage-events';
import { createHash } from 'node:crypto';
import {
  CancelJobRunCommand,
  GetApplicationCommand,
  GetJobRunCommand,
  StartJobRunCommand,
  type JobRun,
  type StartJobRunCommandInput,
  JobRunState as SERVICE_STATES,
} from '@aws-sdk/client-emr-serverless';
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import {
  EMR_SERVERLESS_VCPU_QUOTA,
  capacityCpu,
  sparkRunVcpus,
  sparkSubmitParametersOf,
  vcpuSlots,
} from '../../common/emr-serverless-capacity';
import { jobStatus, type JobHandler, type JobStatus, type StageContext } from '../../activities/stage-handler';
import { emrServerlessJob as emrServerlessJobKind } from './kind';

/** clientToken: 1–64 characters of [A-Za-z0-9._-]; a sha256 in hex is exactly 64. */
export function emrServerlessClientToken(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex');
}

function applicationId(params: Record<string, unknown>): string {
  return String(params.applicationId);
}

/** EMR Serverless JobRunState, mapped once. */
export function mapEmrServerlessState(run: Partial<Pick<JobRun, 'state' | 'stateDetails'>>): JobStatus {
  return jobStatus(emrServerlessJobKind.states, run.state ?? 'UNKNOWN', run.stateDetails || undefined);
}

/** The account's vCPU quota in the Region, or undefined when it cannot be read (no permission, a local endpoint). */
async function accountVcpuQuota(ctx: StageContext): Promise<number | undefined> {
  try {
    const out = await ctx.clients.serviceQuotas.send(
      new GetServiceQuotaCommand({
        ServiceCode: EMR_SERVERLESS_VCPU_QUOTA.serviceCode,
        QuotaCode: EMR_SERVERLESS_VCPU_QUOTA.quotaCode,
      }),
    );
    const v = out.Quota?.Value;
    return v !== undefined && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

export const emrServerlessJob: JobHandler = {
  kind: emrServerlessJobKind.kind,
  mode: 'job',
  serviceStates: Object.values(SERVICE_STATES),
  service: 'EMR Serverless',
  capacityErrors: ['ServiceQuotaExceededException'],
  async capacity(ctx) {
    const out = await ctx.clients.emrServerless.send(
      new GetApplicationCommand({ applicationId: applicationId(ctx.params) }),
    );
    const runs = out.application?.schedulerConfiguration?.maxConcurrentRuns;
    if (runs !== undefined && runs > 0)
      return { slots: runs, source: 'EMR Serverless GetApplication schedulerConfiguration.maxConcurrentRuns' };
    const quota = await accountVcpuQuota(ctx);
    const appMaxCpu = capacityCpu(out.application?.maximumCapacity?.cpu);
    return vcpuSlots({
      quota: quota ?? EMR_SERVERLESS_VCPU_QUOTA.defaultValue,
      quotaRead: quota !== undefined,
      ...(appMaxCpu !== undefined ? { appMaxCpu } : {}),
      run: sparkRunVcpus(sparkSubmitParametersOf(ctx.params.jobDriver)),
    });
  },
  watchKey: (ctx, jobId) => watchKey('emr-serverless.job', applicationId(ctx.params), jobId),
  async start(ctx) {
    const request = ctx.params as unknown as StartJobRunCommandInput;
    const out = await ctx.clients.emrServerless.send(
      new StartJobRunCommand({ ...request, clientToken: emrServerlessClientToken(ctx.idempotencyKey) }),
    );
    if (!out.jobRunId) throw new Error('EMR Serverless StartJobRun returned no jobRunId');
    return out.jobRunId;
  },
  async describe(ctx, jobId) {
    const out = await ctx.clients.emrServerless.send(
      new GetJobRunCommand({ applicationId: applicationId(ctx.params), jobRunId: jobId }),
    );
    return mapEmrServerlessState({ state: out.jobRun?.state, stateDetails: out.jobRun?.stateDetails });
  },
  async stop(ctx, jobId) {
    try {
      await ctx.clients.emrServerless.send(
        new CancelJobRunCommand({ applicationId: applicationId(ctx.params), jobRunId: jobId }),
      );
    } catch (err) {
      // A run that ended before the cancel reached it need not be cancelled: judge by its state.
      if ((await emrServerlessJob.describe(ctx, jobId)).state === 'running') throw err;
    }
  },
  async collect(ctx, jobId) {
    const app = applicationId(ctx.params);
    const out = await ctx.clients.emrServerless.send(new GetJobRunCommand({ applicationId: app, jobRunId: jobId }));
    const run = out.jobRun;
    const seconds = run?.totalExecutionDurationSeconds;
    const billed = run?.billedResourceUtilization ?? run?.totalResourceUtilization;
    return {
      summary: `EMR Serverless job run ${jobId} on application ${app} succeeded${seconds !== undefined ? ` in ${seconds}s` : ''}`,
      output: {
        applicationId: app,
        jobRunId: jobId,
        ...(run?.name ? { name: run.name } : {}),
        ...(seconds !== undefined ? { executionSeconds: seconds } : {}),
        ...(run?.totalResourceUtilization ? { resourceUtilization: run.totalResourceUtilization } : {}),
      },
      ...(billed
        ? {
            usage: {
              emrServerless: {
                vCPUHour: billed.vCPUHour ?? 0,
                memoryGBHour: billed.memoryGBHour ?? 0,
                storageGBHour: billed.storageGBHour ?? 0,
              },
              basis: `${run?.billedResourceUtilization ? 'billed' : 'total'}ResourceUtilization: ${billed.vCPUHour ?? 0} vCPU-h, ${billed.memoryGBHour ?? 0} GB-h, ${billed.storageGBHour ?? 0} storage GB-h`,
            },
          }
        : {}),
    };
  },
};
