/**
 * Glue job runs. moto keeps the job definitions (CreateJob/GetJob/... are forwarded to it), but its
 * run lifecycle is unusable for an orchestrator (SUCCEEDED on the first poll, no BatchStopJobRun,
 * no FAILED path), so the gateway owns StartJobRun / GetJobRun / GetJobRuns / BatchStopJobRun.
 * moto 5.2.5 has no UpdateJob at all (HTML 500, a SyntaxError in the SDK), so the gateway answers
 * it too, on moto's definitions: a changed MaxConcurrentRuns then holds for the next StartJobRun.
 */
import { randomBytes } from 'node:crypto';
import {
  AwsError,
  epochSeconds,
  isObject,
  optionalObject,
  pageSize,
  requireString,
  takePage,
  type Emulator,
  type HandlerContext,
  type JsonObject,
} from './aws.js';
import { describeRun, requestStop, type LifecycleSpec, type Run, type Scenario } from './lifecycle.js';
import { countRefusal, countStart, registerActive } from './capacity.js';
import { emitOnEnd, runStopRequested } from './events.js';
import { findScenario } from './scenarios.js';

const SPEC: LifecycleSpec = {
  pending: { state: 'STARTING', ms: 200 },
  running: 'RUNNING',
  stopping: { state: 'STOPPING', ms: 300 },
  stopped: 'STOPPED',
  outcomes: { SUCCEEDED: 'SUCCEEDED', FAILED: 'FAILED', TIMEOUT: 'TIMEOUT' },
};

const DEFAULT_SCENARIO: Scenario = { durationMs: 1500, outcome: 'SUCCEEDED' };
const INVALID = 'InvalidInputException';

interface GlueRun extends Run {
  jobName: string;
  arguments: Record<string, string>;
  /** Copied from the job definition / start request so GetJobRun looks like AWS's. */
  details: JsonObject;
}

/** Insertion order == start order, which GetJobRuns reverses (newest first). */
const runs = new Map<string, GlueRun>();

/** GetJob on moto; throws EntityNotFoundException (moto's own error) when the job does not exist. */
async function getJob(jobName: string, ctx: HandlerContext): Promise<JsonObject> {
  const { status, body } = await ctx.moto.json('AWSGlue.GetJob', { JobName: jobName }, ctx.headers);
  if (status === 200 && isObject(body) && isObject(body.Job)) return body.Job;
  if (isObject(body) && body.__type === 'EntityNotFoundException') {
    throw new AwsError('EntityNotFoundException', `Job ${jobName} not found.`);
  }
  throw new AwsError('InternalServiceException', `GetJob on moto failed with HTTP ${status}`, 500);
}

function findRun(jobName: string, runId: string): GlueRun | undefined {
  const run = runs.get(runId);
  return run?.jobName === jobName ? run : undefined;
}

function toJobRun(run: GlueRun, now: number): JsonObject {
  const view = describeRun(SPEC, run, now);
  const end = view.endedAt ?? now;
  const jobRun: JsonObject = {
    Id: run.id,
    Attempt: 0,
    JobName: run.jobName,
    StartedOn: epochSeconds(run.startedAt),
    LastModifiedOn: epochSeconds(view.changedAt),
    JobRunState: view.state,
    Arguments: run.arguments,
    PredecessorRuns: [],
    ExecutionTime: Math.floor((end - run.startedAt) / 1000),
    LogGroupName: '/aws-glue/jobs',
    ...run.details,
  };
  if (view.endedAt !== undefined) jobRun.CompletedOn = epochSeconds(view.endedAt);
  if (view.outcome === 'FAILED') jobRun.ErrorMessage = run.scenario.message ?? 'Job run failed';
  if (view.outcome === 'TIMEOUT' && run.scenario.message !== undefined) jobRun.ErrorMessage = run.scenario.message;
  return jobRun;
}

async function startJobRun(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const jobName = requireString(input, 'JobName', INVALID);
  ctx.call.resource = jobName;
  const job = await getJob(jobName, ctx);
  // Re-read the clock after the await: the count + insert below are synchronous, so two
  // concurrent starts cannot both slip under MaxConcurrentRuns.
  const now = Date.now();

  const exec = isObject(job.ExecutionProperty) ? job.ExecutionProperty : {};
  const maxConcurrent = typeof exec.MaxConcurrentRuns === 'number' ? exec.MaxConcurrentRuns : 1;
  let active = 0;
  for (const run of runs.values()) {
    if (run.jobName === jobName && !describeRun(SPEC, run, now).terminal) active++;
  }
  if (active >= maxConcurrent) {
    countRefusal('glue', jobName, maxConcurrent);
    throw new AwsError('ConcurrentRunsExceededException', `Concurrent runs exceeded for ${jobName}`);
  }

  const args = optionalObject(input, 'Arguments', INVALID) ?? {};
  const details: JsonObject = { Timeout: input.Timeout ?? job.Timeout ?? 2880 };
  for (const key of ['WorkerType', 'NumberOfWorkers', 'MaxCapacity', 'GlueVersion', 'ExecutionClass'] as const) {
    const v = input[key] ?? job[key];
    if (v !== undefined) details[key] = v;
  }
  const run: GlueRun = {
    id: `jr_${randomBytes(32).toString('hex')}`,
    startedAt: now,
    scenario: findScenario('glue', (match) => match === jobName) ?? DEFAULT_SCENARIO,
    jobName,
    arguments: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, String(v)])),
    details,
  };
  runs.set(run.id, run);
  countStart('glue', jobName, active + 1, maxConcurrent);
  emitOnEnd(SPEC, run, ctx.headers, (view) => ({
    source: 'aws.glue',
    detailType: 'Glue Job State Change',
    detail: {
      jobName: run.jobName,
      severity: view.outcome === 'FAILED' ? 'ERROR' : view.outcome === 'TIMEOUT' ? 'WARN' : 'INFO',
      state: view.state,
      jobRunId: run.id,
      message:
        view.outcome === 'FAILED'
          ? (run.scenario.message ?? 'Job run failed')
          : `Job run ${view.state === 'SUCCEEDED' ? 'succeeded' : view.state.toLowerCase()}`,
    },
  }));
  return { JobRunId: run.id };
}

async function getJobRun(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const jobName = requireString(input, 'JobName', INVALID);
  const runId = requireString(input, 'RunId', INVALID);
  ctx.call.resource = jobName;
  const run = findRun(jobName, runId);
  if (run === undefined) throw new AwsError('EntityNotFoundException', `Job Run ${runId} not found for job ${jobName}`);
  return { JobRun: toJobRun(run, ctx.now) };
}

async function getJobRuns(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const jobName = requireString(input, 'JobName', INVALID);
  ctx.call.resource = jobName;
  await getJob(jobName, ctx); // AWS answers EntityNotFoundException for an unknown job
  const all = [...runs.values()].filter((r) => r.jobName === jobName).reverse();
  const tag = `glue-runs:${jobName}`;
  const { page, next } = takePage(
    all,
    typeof input.NextToken === 'string' ? input.NextToken : undefined,
    pageSize(input, 100, 200, INVALID),
    tag,
    INVALID,
  );
  return { JobRuns: page.map((r) => toJobRun(r, ctx.now)), ...(next ? { NextToken: next } : {}) };
}

async function batchStopJobRun(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const jobName = requireString(input, 'JobName', INVALID);
  ctx.call.resource = jobName;
  const ids = input.JobRunIds;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string')) {
    throw new AwsError(INVALID, 'JobRunIds must be a non-empty list of strings');
  }
  const SuccessfulSubmissions: JsonObject[] = [];
  const Errors: JsonObject[] = [];
  for (const id of ids) {
    const run = findRun(jobName, id);
    if (run === undefined) {
      Errors.push({
        JobName: jobName,
        JobRunId: id,
        ErrorDetail: { ErrorCode: 'EntityNotFoundException', ErrorMessage: `Job Run ${id} not found` },
      });
      continue;
    }
    const view = requestStop(SPEC, run, ctx.now);
    runStopRequested(run);
    if (view.terminal) {
      // Real Glue refuses to stop a finished run and reports it per id, not as a request error.
      Errors.push({
        JobName: jobName,
        JobRunId: id,
        ErrorDetail: {
          ErrorCode: INVALID,
          ErrorMessage: `Job Run ${id} is in terminal state ${view.state} and cannot be stopped`,
        },
      });
    } else {
      SuccessfulSubmissions.push({ JobName: jobName, JobRunId: id });
    }
  }
  return { SuccessfulSubmissions, Errors };
}

/**
 * UpdateJob: AWS overwrites the whole definition with JobUpdate. moto has no UpdateJob, so the
 * definition is replaced on moto with DeleteJob + CreateJob (its tags, kept by ARN, survive; its
 * CreatedOn becomes the update's time). Role and Command are checked first, so a JobUpdate moto
 * could not create from never leaves the job deleted.
 */
async function updateJob(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const jobName = requireString(input, 'JobName', INVALID);
  ctx.call.resource = jobName;
  const update = optionalObject(input, 'JobUpdate', INVALID);
  if (update === undefined) throw new AwsError(INVALID, 'JobUpdate is required');
  requireString(update, 'Role', INVALID);
  if (optionalObject(update, 'Command', INVALID) === undefined)
    throw new AwsError(INVALID, 'Command is required and must be an object');
  await getJob(jobName, ctx); // EntityNotFoundException for an unknown job
  const { Name: _ignored, ...definition } = update;
  const deleted = await ctx.moto.json('AWSGlue.DeleteJob', { JobName: jobName }, ctx.headers);
  if (deleted.status !== 200)
    throw new AwsError('InternalServiceException', `DeleteJob on moto failed with HTTP ${deleted.status}`, 500);
  const created = await ctx.moto.json('AWSGlue.CreateJob', { ...definition, Name: jobName }, ctx.headers);
  if (created.status !== 200)
    throw new AwsError('InternalServiceException', `CreateJob on moto failed with HTTP ${created.status}`, 500);
  return { JobName: jobName };
}

/** Non-terminal runs per job name, for the capacity counters. */
function activeRuns(now: number): Map<string, number> {
  const active = new Map<string, number>();
  for (const run of runs.values()) {
    if (!describeRun(SPEC, run, now).terminal) active.set(run.jobName, (active.get(run.jobName) ?? 0) + 1);
  }
  return active;
}
registerActive('glue', activeRuns);

export const glue: Emulator = {
  service: 'glue',
  targetPrefix: 'AWSGlue',
  spec: SPEC,
  defaultScenario: DEFAULT_SCENARIO,
  matchDescription: 'the exact Glue JobName',
  supportsResult: false,
  operations: {
    StartJobRun: startJobRun,
    GetJobRun: getJobRun,
    GetJobRuns: getJobRuns,
    BatchStopJobRun: batchStopJobRun,
    UpdateJob: updateJob,
  },
  reset: () => runs.clear(),
};
