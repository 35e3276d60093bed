/**
 * EMR Serverless job runs. moto keeps applications (forwarded), but its job runs are SUCCESS from
 * the first GetJobRun and it ignores clientToken, so the gateway owns StartJobRun / GetJobRun /
 * CancelJobRun / ListJobRuns (REST-JSON; classify.ts names them from method + path) for the
 * applications moto knows. The same clientToken on one application returns the same job run.
 * Scenarios: service "emr-serverless", match = a substring of the job run name (or of the
 * entry point when the run has no name).
 */
import { randomBytes } from 'node:crypto';
import {
  AwsError,
  epochSeconds,
  isObject,
  optionalObject,
  optionalString,
  pageSizeOf,
  requireString,
  takePage,
  type Emulator,
  type HandlerContext,
  type JsonObject,
} from './aws.js';
import { describeRun, requestStop, type LifecycleSpec, type Run, type Scenario } from './lifecycle.js';
import { emitOnEnd, isoSeconds, runStopRequested } from './events.js';
import { findScenario } from './scenarios.js';

const SPEC: LifecycleSpec = {
  pending: { state: 'PENDING', ms: 200 },
  running: 'RUNNING',
  stopping: { state: 'CANCELLING', ms: 300 },
  stopped: 'CANCELLED',
  outcomes: { SUCCEEDED: 'SUCCESS', FAILED: 'FAILED' },
};

const DEFAULT_SCENARIO: Scenario = { durationMs: 1500, outcome: 'SUCCEEDED' };
const VALIDATION = 'ValidationException';

interface ServerlessRun extends Run {
  applicationId: string;
  arn: string;
  request: JsonObject;
  releaseLabel: string;
  token: string;
}

const runs = new Map<string, ServerlessRun>();
/** `<applicationId>/<clientToken>` → run. */
const byToken = new Map<string, ServerlessRun>();

async function requireApplication(id: string, ctx: HandlerContext): Promise<JsonObject> {
  const { status, body } = await ctx.moto.rest(
    'GET',
    `/applications/${encodeURIComponent(id)}`,
    undefined,
    ctx.headers,
  );
  if (status === 200 && isObject(body) && isObject(body.application)) return body.application;
  if (status < 500) throw new AwsError('ResourceNotFoundException', `Application ${id} does not exist`, 404);
  throw new AwsError('InternalServerException', `GetApplication on moto failed with HTTP ${status}`, 500);
}

function requireRun(input: JsonObject, ctx: HandlerContext): ServerlessRun {
  const app = requireString(input, 'applicationId', VALIDATION);
  const id = requireString(input, 'jobRunId', VALIDATION);
  ctx.call.resource = app;
  const run = runs.get(id);
  if (run === undefined || run.applicationId !== app)
    throw new AwsError('ResourceNotFoundException', `Job run ${id} does not exist`, 404);
  return run;
}

function toJobRun(run: ServerlessRun, now: number): JsonObject {
  const view = describeRun(SPEC, run, now);
  const seconds = Math.floor(((view.endedAt ?? now) - run.startedAt) / 1000);
  const out: JsonObject = {
    applicationId: run.applicationId,
    jobRunId: run.id,
    arn: run.arn,
    createdBy: 'arn:aws:iam::123456789012:user/sluice-local',
    createdAt: epochSeconds(run.startedAt),
    updatedAt: epochSeconds(view.changedAt),
    executionRole: run.request.executionRoleArn,
    state: view.state,
    stateDetails: '',
    releaseLabel: run.releaseLabel,
    jobDriver: run.request.jobDriver,
    tags: run.request.tags ?? {},
    executionTimeoutMinutes: run.request.executionTimeoutMinutes ?? 720,
    mode: run.request.mode ?? 'BATCH',
    attempt: 1,
    totalExecutionDurationSeconds: seconds,
    // The capacity the run held (the scenario's, else a default driver: 4 vCPU, 16 GB, 20 GB disk) ×
    // its duration; billed with AWS's one-minute minimum.
    totalResourceUtilization: utilization(run.scenario.usage, seconds),
    billedResourceUtilization: utilization(run.scenario.usage, Math.max(60, seconds)),
  };
  if (run.request.name !== undefined) out.name = run.request.name;
  if (run.request.configurationOverrides !== undefined) out.configurationOverrides = run.request.configurationOverrides;
  if (view.outcome === 'FAILED') out.stateDetails = run.scenario.message ?? 'Job failed';
  if (view.stopped) out.stateDetails = 'Job run cancelled by user';
  return out;
}

function entryPoint(request: JsonObject): string {
  const driver = isObject(request.jobDriver) ? request.jobDriver : {};
  const spark = isObject(driver.sparkSubmit) ? driver.sparkSubmit : {};
  const hive = isObject(driver.hive) ? driver.hive : {};
  const v = spark.entryPoint ?? hive.query;
  return typeof v === 'string' ? v : '';
}

async function startJobRun(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const applicationId = requireString(input, 'applicationId', VALIDATION);
  ctx.call.resource = applicationId;
  const token = requireString(input, 'clientToken', VALIDATION);
  requireString(input, 'executionRoleArn', VALIDATION);
  if (optionalObject(input, 'jobDriver', VALIDATION) === undefined)
    throw new AwsError(VALIDATION, 'jobDriver is required');
  const name = optionalString(input, 'name', VALIDATION);
  const app = await requireApplication(applicationId, ctx);
  if (app.state === 'TERMINATED') throw new AwsError(VALIDATION, `Application ${applicationId} is in TERMINATED state`);
  // Idempotency, checked after the await so concurrent retries with one token cannot both create.
  const existing = byToken.get(`${applicationId}/${token}`);
  if (existing !== undefined) return { applicationId, jobRunId: existing.id, arn: existing.arn };

  const id = [...randomBytes(16)].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
  const label = name ?? entryPoint(input);
  const request: JsonObject = { ...input };
  delete request.applicationId;
  delete request.clientToken;
  const run: ServerlessRun = {
    id,
    startedAt: Date.now(),
    scenario: findScenario('emr-serverless', (m) => label.includes(m)) ?? DEFAULT_SCENARIO,
    applicationId,
    arn: `arn:aws:emr-serverless:us-east-1:123456789012:/applications/${applicationId}/jobruns/${id}`,
    request,
    releaseLabel: typeof app.releaseLabel === 'string' ? app.releaseLabel : 'emr-7.0.0',
    token,
  };
  runs.set(id, run);
  byToken.set(`${applicationId}/${token}`, run);
  emitOnEnd(SPEC, run, ctx.headers, (view) => ({
    source: 'aws.emr-serverless',
    detailType: 'EMR Serverless Job Run State Change',
    detail: {
      jobRunId: run.id,
      applicationId: run.applicationId,
      arn: run.arn,
      releaseLabel: run.releaseLabel,
      state: view.state,
      previousState: 'RUNNING',
      createdBy: 'arn:aws:iam::123456789012:role/sluice',
      updatedAt: isoSeconds(view.changedAt),
      createdAt: isoSeconds(run.startedAt),
    },
    resources: [run.arn],
  }));
  return { applicationId, jobRunId: id, arn: run.arn };
}

async function getJobRun(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  return { jobRun: toJobRun(requireRun(input, ctx), ctx.now) };
}

async function cancelJobRun(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const run = requireRun(input, ctx);
  const view = requestStop(SPEC, run, ctx.now);
  runStopRequested(run);
  if (view.terminal)
    throw new AwsError(VALIDATION, `Job run ${run.id} is in ${view.state} state and cannot be cancelled`);
  return { applicationId: run.applicationId, jobRunId: run.id };
}

async function listJobRuns(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const applicationId = requireString(input, 'applicationId', VALIDATION);
  ctx.call.resource = applicationId;
  await requireApplication(applicationId, ctx);
  const states = ctx.query.getAll('states');
  const all = [...runs.values()]
    .filter((r) => r.applicationId === applicationId)
    .reverse()
    .map((r) => toJobRun(r, ctx.now))
    .filter((r) => states.length === 0 || states.includes(r.state as string))
    .map((r) => ({
      applicationId: r.applicationId,
      id: r.jobRunId,
      arn: r.arn,
      ...(r.name !== undefined ? { name: r.name } : {}),
      createdBy: r.createdBy,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      executionRole: r.executionRole,
      state: r.state,
      stateDetails: r.stateDetails,
      releaseLabel: r.releaseLabel,
      type: 'Spark',
      mode: r.mode,
      attempt: r.attempt,
    }));
  const tag = `emr-serverless-runs:${applicationId}`;
  const size = pageSizeOf(ctx.query.get('maxResults'), 50, 50, VALIDATION, 'maxResults');
  const { page, next } = takePage(all, ctx.query.get('nextToken') ?? undefined, size, tag, VALIDATION);
  return { jobRuns: page, ...(next ? { nextToken: next } : {}) };
}

export const emrServerless: Emulator = {
  service: 'emr-serverless',
  spec: SPEC,
  defaultScenario: DEFAULT_SCENARIO,
  matchDescription: 'a substring of the job run name (or of the entry point when unnamed)',
  supportsResult: false,
  operations: {
    StartJobRun: startJobRun,
    GetJobRun: getJobRun,
    CancelJobRun: cancelJobRun,
    ListJobRuns: listJobRuns,
  },
  reset: () => {
    runs.clear();
    byToken.clear();
  },
};

function utilization(capacity: Record<string, number> | undefined, seconds: number): JsonObject {
  const hours = seconds / 3600;
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  return {
    vCPUHour: round((capacity?.vCPU ?? 4) * hours),
    memoryGBHour: round((capacity?.memoryGB ?? 16) * hours),
    storageGBHour: round((capacity?.storageGB ?? 20) * hours),
  };
}
