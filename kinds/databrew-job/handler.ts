/**
 * `databrew.job`: StartJobRun → DescribeJobRun → StopJobRun on cancel.
 *
 * StartJobRun takes only the job's Name: no client token, no arguments, no tags per run, so a run
 * cannot carry the stage's key. Idempotency: `find` adopts the earliest run of the job that started
 * (StartedOn) at or after the moment this stage was first scheduled (ListJobRuns). Such a run may
 * in principle have been started by someone else in that window; it is adopted anyway because a
 * DataBrew run has no per-run input, so it does exactly what this stage's run would do, on data
 * that was complete when it started. A run that started before the stage was scheduled is never
 * adopted. Adoption is logged with both times.
 */
import {
  DescribeJobRunCommand,
  ListJobRunsCommand,
  StartJobRunCommand,
  StopJobRunCommand,
  type JobRun,
  JobRunState as SERVICE_STATES,
} from '@aws-sdk/client-databrew';
import { log } from '@temporalio/activity';
import { jobStatus, type JobHandler, type JobStatus } from '../../activities/stage-handler';
import { databrewJob as databrewJobKind } from './kind';

/** Runs read when looking for an earlier start (100 a page). ListJobRuns has no time filter. */
const FIND_PAGES = 5;

function jobName(params: Record<string, unknown>): string {
  return String(params.Name);
}

/** DataBrew's JobRunState, mapped once. */
export function mapDataBrewState(run: Pick<JobRun, 'State' | 'ErrorMessage'>): JobStatus {
  return jobStatus(databrewJobKind.states, run.State ?? 'UNKNOWN', run.ErrorMessage, {
    TIMEOUT: 'the job run exceeded its DataBrew timeout',
  });
}

export const databrewJob: JobHandler = {
  kind: databrewJobKind.kind,
  mode: 'job',
  serviceStates: Object.values(SERVICE_STATES),
  capacityErrors: ['ServiceQuotaExceededException'],
  service: 'DataBrew',
  async find(ctx) {
    const since = ctx.firstScheduledAtMs;
    if (since === undefined) return undefined;
    const name = jobName(ctx.params);
    const candidates: JobRun[] = [];
    let NextToken: string | undefined;
    for (let page = 0; page < FIND_PAGES; page++) {
      const out = await ctx.clients.databrew.send(new ListJobRunsCommand({ Name: name, MaxResults: 100, NextToken }));
      candidates.push(...(out.JobRuns ?? []).filter((r) => r.RunId && r.StartedOn && r.StartedOn.getTime() >= since));
      NextToken = out.NextToken;
      if (!NextToken) break;
    }
    const first = candidates.sort((a, b) => (a.StartedOn?.getTime() ?? 0) - (b.StartedOn?.getTime() ?? 0))[0];
    if (!first?.RunId) return undefined;
    log.warn(
      'adopting a DataBrew run that started after this stage was scheduled (a run carries no tag: it may have been started by another caller)',
      {
        stage: ctx.stageId,
        job: name,
        runId: first.RunId,
        runStartedAt: first.StartedOn?.toISOString(),
        runStartedBy: first.StartedBy,
        stageScheduledAt: new Date(since).toISOString(),
      },
    );
    return first.RunId;
  },
  async start(ctx) {
    const out = await ctx.clients.databrew.send(new StartJobRunCommand({ Name: jobName(ctx.params) }));
    if (!out.RunId) throw new Error('DataBrew StartJobRun returned no RunId');
    return out.RunId;
  },
  async describe(ctx, jobId) {
    const out = await ctx.clients.databrew.send(new DescribeJobRunCommand({ Name: jobName(ctx.params), RunId: jobId }));
    return mapDataBrewState(out);
  },
  async stop(ctx, jobId) {
    try {
      await ctx.clients.databrew.send(new StopJobRunCommand({ Name: jobName(ctx.params), RunId: jobId }));
    } catch (err) {
      // A run that ended before the stop reached it need not be stopped: judge by its state.
      if ((await databrewJob.describe(ctx, jobId)).state === 'running') throw err;
    }
  },
  async collect(ctx, jobId) {
    const name = jobName(ctx.params);
    const run = await ctx.clients.databrew.send(new DescribeJobRunCommand({ Name: name, RunId: jobId }));
    const outputs = (run.Outputs ?? [])
      .map((o) => (o.Location?.Bucket ? `s3://${o.Location.Bucket}/${o.Location.Key ?? ''}` : undefined))
      .filter((u): u is string => u !== undefined);
    return {
      summary: `DataBrew job ${name} run ${jobId} succeeded${run.ExecutionTime !== undefined ? ` in ${run.ExecutionTime}s` : ''}`,
      output: {
        jobName: name,
        runId: jobId,
        ...(run.DatasetName ? { datasetName: run.DatasetName } : {}),
        ...(run.ExecutionTime !== undefined ? { executionTimeSeconds: run.ExecutionTime } : {}),
        ...(outputs.length ? { outputs: outputs.slice(0, 10) } : {}),
      },
    };
  },
};
