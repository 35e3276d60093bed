/**
 * DataBrew job runs. moto keeps datasets, recipes and job definitions (forwarded), but answers the
 * job-run operations with 404 HTML, so the gateway owns StartJobRun / DescribeJobRun / StopJobRun /
 * ListJobRuns (REST-JSON; classify.ts names them from method + path). The job must exist in moto.
 * Scenarios: service "databrew", match = the exact job Name.
 */
import { randomBytes } from 'node:crypto';
import {
  AwsError,
  epochSeconds,
  isObject,
  pageSizeOf,
  requireString,
  takePage,
  type Emulator,
  type HandlerContext,
  type JsonObject,
} from './aws.js';
import { describeRun, requestStop, type LifecycleSpec, type Run, type Scenario } from './lifecycle.js';
import { findScenario } from './scenarios.js';

const SPEC: LifecycleSpec = {
  pending: { state: 'STARTING', ms: 200 },
  running: 'RUNNING',
  stopping: { state: 'STOPPING', ms: 300 },
  stopped: 'STOPPED',
  outcomes: { SUCCEEDED: 'SUCCEEDED', FAILED: 'FAILED', TIMEOUT: 'TIMEOUT' },
};

const DEFAULT_SCENARIO: Scenario = { durationMs: 1500, outcome: 'SUCCEEDED' };
const VALIDATION = 'ValidationException';

interface BrewRun extends Run {
  jobName: string;
  job: JsonObject;
  startedBy: string;
}

/** Insertion order == start order; ListJobRuns answers newest first. */
const runs = new Map<string, BrewRun>();

async function describeJob(name: string, ctx: HandlerContext): Promise<JsonObject> {
  const { status, body } = await ctx.moto.rest('GET', `/jobs/${encodeURIComponent(name)}`, undefined, ctx.headers);
  if (status === 200 && isObject(body)) return body;
  if (status === 404) throw new AwsError('ResourceNotFoundException', `Job ${name} wasn't found.`, 404);
  throw new AwsError('InternalServerException', `DescribeJob on moto failed with HTTP ${status}`, 500);
}

function findRun(input: JsonObject, ctx: HandlerContext): BrewRun {
  const name = requireString(input, 'Name', VALIDATION);
  const runId = requireString(input, 'RunId', VALIDATION);
  ctx.call.resource = name;
  const run = runs.get(runId);
  if (run === undefined || run.jobName !== name)
    throw new AwsError('ResourceNotFoundException', `Job run ${runId} of job ${name} wasn't found.`, 404);
  return run;
}

function toJobRun(run: BrewRun, now: number): JsonObject {
  const view = describeRun(SPEC, run, now);
  const out: JsonObject = {
    Attempt: 0,
    JobName: run.jobName,
    RunId: run.id,
    State: view.state,
    StartedBy: run.startedBy,
    StartedOn: epochSeconds(run.startedAt),
    ExecutionTime: Math.floor(((view.endedAt ?? now) - run.startedAt) / 1000),
    LogSubscription: 'ENABLE',
    LogGroupName: '/aws-glue-databrew/jobs',
  };
  for (const key of [
    'DatasetName',
    'Outputs',
    'DataCatalogOutputs',
    'DatabaseOutputs',
    'RecipeReference',
    'JobSample',
    'ProfileConfiguration',
    'ValidationConfigurations',
  ]) {
    if (run.job[key] !== undefined) out[key] = run.job[key];
  }
  if (view.endedAt !== undefined) out.CompletedOn = epochSeconds(view.endedAt);
  if (view.outcome === 'FAILED') out.ErrorMessage = run.scenario.message ?? 'Job run failed';
  if (view.outcome === 'TIMEOUT' && run.scenario.message !== undefined) out.ErrorMessage = run.scenario.message;
  return out;
}

/** The caller's account, from the SigV4 access key is unknowable locally: moto's default account. */
function caller(ctx: HandlerContext): string {
  const key = /Credential=([^/]+)/.exec(String(ctx.headers.authorization ?? ''))?.[1] ?? 'unknown';
  return `arn:aws:iam::123456789012:user/${key}`;
}

async function startJobRun(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const name = requireString(input, 'Name', VALIDATION);
  ctx.call.resource = name;
  const job = await describeJob(name, ctx);
  const run: BrewRun = {
    id: `db_${randomBytes(32).toString('hex')}`,
    startedAt: Date.now(),
    scenario: findScenario('databrew', (m) => m === name) ?? DEFAULT_SCENARIO,
    jobName: name,
    job,
    startedBy: caller(ctx),
  };
  runs.set(run.id, run);
  return { RunId: run.id };
}

async function describeJobRun(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  return toJobRun(findRun(input, ctx), ctx.now);
}

async function stopJobRun(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const run = findRun(input, ctx);
  const view = requestStop(SPEC, run, ctx.now);
  if (view.terminal)
    throw new AwsError(VALIDATION, `Job run ${run.id} is in terminal state ${view.state} and cannot be stopped.`);
  return { RunId: run.id };
}

async function listJobRuns(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const name = requireString(input, 'Name', VALIDATION);
  ctx.call.resource = name;
  await describeJob(name, ctx);
  const all = [...runs.values()].filter((r) => r.jobName === name).reverse();
  const tag = `databrew-runs:${name}`;
  const size = pageSizeOf(ctx.query.get('maxResults'), 100, 100, VALIDATION, 'maxResults');
  const { page, next } = takePage(all, ctx.query.get('nextToken') ?? undefined, size, tag, VALIDATION);
  return { JobRuns: page.map((r) => toJobRun(r, ctx.now)), ...(next ? { NextToken: next } : {}) };
}

export const databrew: Emulator = {
  service: 'databrew',
  spec: SPEC,
  defaultScenario: DEFAULT_SCENARIO,
  matchDescription: 'the exact DataBrew job Name',
  supportsResult: false,
  operations: {
    StartJobRun: startJobRun,
    DescribeJobRun: describeJobRun,
    StopJobRun: stopJobRun,
    ListJobRuns: listJobRuns,
  },
  reset: () => runs.clear(),
};
