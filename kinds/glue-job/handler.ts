/**
 * `glue.job`: StartJobRun → GetJobRun → BatchStopJobRun.
 *
 * StartJobRun has no client token, so Sluice tags each run with the argument
 * `--sluice-idempotency-key` and, before starting, looks for a recent run carrying the stage's key
 * (GetJobRuns); a found run is adopted instead of starting a second one. Glue passes unknown
 * arguments to the script, where `getResolvedOptions` ignores them.
 */
import { watchKey } from '../../common/stage-events';
import { glueUsage } from '../../common/prices';
import {
  BatchStopJobRunCommand,
  GetJobCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  StartJobRunCommand,
  type JobRun,
  type StartJobRunCommandInput,
  JobRunState as SERVICE_STATES,
} from '@aws-sdk/client-glue';
import { jobStatus, type JobHandler, type JobStatus } from '../../activities/stage-handler';
import { glueJob as glueJobKind } from './kind';

export const GLUE_KEY_ARGUMENT = '--sluice-idempotency-key';
/** Runs looked at when searching for an earlier start: the newest first, so a few pages suffice. */
const FIND_PAGES = 3;

function jobName(params: Record<string, unknown>): string {
  return String(params.JobName);
}

/** Glue's JobRunState, mapped once. */
/** Glue's JobRunState, through the kind's state table (kind.ts). */
export function mapGlueState(run: Pick<JobRun, 'JobRunState' | 'ErrorMessage'>): JobStatus {
  return jobStatus(glueJobKind.states, run.JobRunState ?? 'UNKNOWN', run.ErrorMessage, {
    TIMEOUT: 'the job exceeded its Glue timeout',
    EXPIRED: 'the job run expired',
  });
}

export const glueJob: JobHandler = {
  kind: glueJobKind.kind,
  mode: 'job',
  serviceStates: Object.values(SERVICE_STATES),
  service: 'Glue',
  watchKey: (_ctx, jobId) => watchKey('glue.job', jobId),
  // The job's MaxConcurrentRuns, or the account's concurrent job runs (the same exception).
  capacityErrors: ['ConcurrentRunsExceededException'],
  async capacity(ctx) {
    const out = await ctx.clients.glue.send(new GetJobCommand({ JobName: jobName(ctx.params) }));
    const set = out.Job?.ExecutionProperty?.MaxConcurrentRuns;
    return set !== undefined && set > 0
      ? { slots: set, source: 'Glue GetJob ExecutionProperty.MaxConcurrentRuns' }
      : { slots: 1, source: "Glue's default MaxConcurrentRuns (1)" };
  },
  async find(ctx) {
    let NextToken: string | undefined;
    for (let page = 0; page < FIND_PAGES; page++) {
      const out = await ctx.clients.glue.send(
        new GetJobRunsCommand({ JobName: jobName(ctx.params), MaxResults: 200, NextToken }),
      );
      const run = out.JobRuns?.find((r) => r.Arguments?.[GLUE_KEY_ARGUMENT] === ctx.idempotencyKey);
      if (run?.Id) return run.Id;
      NextToken = out.NextToken;
      if (!NextToken) break;
    }
    return undefined;
  },
  async start(ctx) {
    const request = ctx.params as unknown as StartJobRunCommandInput;
    const out = await ctx.clients.glue.send(
      new StartJobRunCommand({
        ...request,
        Arguments: { ...(request.Arguments ?? {}), [GLUE_KEY_ARGUMENT]: ctx.idempotencyKey },
      }),
    );
    if (!out.JobRunId) throw new Error('Glue StartJobRun returned no JobRunId');
    return out.JobRunId;
  },
  async describe(ctx, jobId) {
    const out = await ctx.clients.glue.send(
      new GetJobRunCommand({ JobName: jobName(ctx.params), RunId: jobId, PredecessorsIncluded: false }),
    );
    const status = mapGlueState(out.JobRun ?? {});
    // The last status call of a succeeded run carries its usage: no extra call to read it.
    const usage = status.state === 'succeeded' && out.JobRun ? glueUsage(out.JobRun) : undefined;
    return usage ? { ...status, usage } : status;
  },
  async stop(ctx, jobId) {
    const out = await ctx.clients.glue.send(
      new BatchStopJobRunCommand({ JobName: jobName(ctx.params), JobRunIds: [jobId] }),
    );
    const error = out.Errors?.find((e) => e.JobRunId === jobId);
    if (!error) return;
    // A run that ended before the stop reached it cannot be stopped, and need not be: judge by
    // the run's state rather than by the wording of the error.
    const current = await glueJob.describe(ctx, jobId);
    if (current.state === 'running') {
      throw Object.assign(new Error(error.ErrorDetail?.ErrorMessage ?? 'BatchStopJobRun refused'), {
        name: error.ErrorDetail?.ErrorCode ?? 'GlueStopError',
      });
    }
  },
  async collect(ctx, jobId) {
    return {
      summary: `Glue job ${jobName(ctx.params)} run ${jobId} succeeded`,
      output: { jobName: jobName(ctx.params), jobRunId: jobId },
    };
  },
};
