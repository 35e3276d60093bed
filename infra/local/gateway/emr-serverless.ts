/**
 * EMR Serverless job runs. moto keeps applications (forwarded), but its job runs are SUCCESS from
 * the first GetJobRun and it ignores clientToken, so the gateway owns StartJobRun / GetJobRun /
 * CancelJobRun / ListJobRuns (REST-JSON; classify.ts names them from method + path) for the
 * applications moto knows. The same clientToken on one application returns the same job run.
 * Scenarios: service "emr-serverless", match = a substring of the job run name (or of the
 * entry point when the run has no name).
 *
 * Limits, as AWS applies them:
 *  - the account's "Max concurrent vCPUs" quota (capacity.ts emrServerless.maxConcurrentVcpus, per
 *    Region; unset = unlimited): StartJobRun answers ServiceQuotaExceededException (HTTP 402) when
 *    the vCPUs of the Region's job runs not yet ended (queued or running) plus the new run's exceed
 *    it. A run's vCPUs are its driver's plus its executors' (common/emr-serverless-capacity.ts:
 *    its sparkSubmitParameters, else EMR Serverless's defaults, 4 + 3 × 4).
 *  - an application's schedulerConfiguration (EMR 7.0.0+ job concurrency and queuing), which moto
 *    drops: kept here from CreateApplication / UpdateApplication and merged into their answers and
 *    GetApplication's. From emr-7.3.0 it is on by default (maxConcurrentRuns 15, queueTimeoutMinutes
 *    360), as on AWS. Runs beyond maxConcurrentRuns wait in QUEUED, first come first served, until
 *    a run of the application ends (derived on read like the states: a queued run's start is the
 *    moment a slot frees). The queue timeout is not enforced.
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
import { describeRun, requestStop, type LifecycleSpec, type Run, type RunView, type Scenario } from './lifecycle.js';
import { emitOnEnd, isoSeconds, regionOf, runStopRequested } from './events.js';
import { findScenario } from './scenarios.js';
import { countRefusal, countStart, limitFor, registerActive } from './capacity.js';
import { sparkRunVcpus, sparkSubmitParametersOf } from '../../../common/emr-serverless-capacity.js';

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
  /** When StartJobRun accepted it (createdAt); `startedAt` is when it left the queue (a getter). */
  submittedAt: number;
  region: string;
  /** The vCPUs it holds of the account's quota until it ends. */
  vcpus: number;
  /** The application's maxConcurrentRuns when it was submitted; undefined: it never queues. */
  queueLimit?: number;
}

interface SchedulerConfiguration {
  maxConcurrentRuns: number;
  queueTimeoutMinutes: number;
}

const runs = new Map<string, ServerlessRun>();
/** `<applicationId>/<clientToken>` → run. */
const byToken = new Map<string, ServerlessRun>();
/** Each application's runs in the order they were submitted (its queue). */
const byApplication = new Map<string, ServerlessRun[]>();
/** The schedulerConfiguration of the applications that have one (moto drops it). */
const schedulers = new Map<string, SchedulerConfiguration>();

/** AWS's defaults when job concurrency and queuing is on (SchedulerConfiguration, EMR Serverless API Reference). */
const SCHEDULER_DEFAULTS: SchedulerConfiguration = { maxConcurrentRuns: 15, queueTimeoutMinutes: 360 };

// ---------------------------------------------------------------- the queue (derived on read)

/** Bumped on every change a queue depends on (a run submitted or stopped): the cache key of starts. */
let version = 0;
const startsCache = new Map<string, { version: number; starts: Map<ServerlessRun, number> }>();

/** When a run that took a slot at `start` frees it: its natural end, or its stop's (as describeRun says). */
function slotEnd(run: ServerlessRun, start: number): number {
  const natural = run.scenario.outcome === 'HANG' ? Infinity : start + run.scenario.durationMs;
  if (run.stopRequestedAt !== undefined && run.stopRequestedAt < natural)
    return run.stopRequestedAt + (SPEC.stopping?.ms ?? 0);
  return natural;
}

/**
 * When each run of an application leaves the queue: at once while fewer than its maxConcurrentRuns
 * hold a slot, else when enough of those ahead of it have ended (first come, first served; never
 * before a run submitted earlier). A run cancelled while queued holds no slot.
 */
function queueStarts(applicationId: string): Map<ServerlessRun, number> {
  const cached = startsCache.get(applicationId);
  if (cached?.version === version) return cached.starts;
  const starts = new Map<ServerlessRun, number>();
  const held: number[] = [];
  let lastStart = -Infinity;
  for (const r of byApplication.get(applicationId) ?? []) {
    let start = r.submittedAt;
    if (r.queueLimit !== undefined) {
      const busy = held.filter((end) => end > start).sort((a, b) => a - b);
      if (busy.length >= r.queueLimit) start = busy[busy.length - r.queueLimit] ?? start;
      start = Math.max(start, lastStart);
    }
    starts.set(r, start);
    if (r.stopRequestedAt !== undefined && r.stopRequestedAt < start) continue;
    held.push(slotEnd(r, start));
    if (r.queueLimit !== undefined) lastStart = start;
  }
  startsCache.set(applicationId, { version, starts });
  return starts;
}

/** A run's state now: QUEUED until it leaves the queue (unless cancelled there), then its lifecycle. */
function viewOf(run: ServerlessRun, now: number): RunView {
  const cancelledQueued = run.stopRequestedAt !== undefined && run.stopRequestedAt <= now;
  if (now < run.startedAt && !cancelledQueued)
    return { state: 'QUEUED', terminal: false, changedAt: run.submittedAt, stopped: false };
  return describeRun(SPEC, run, now);
}

/** Runs not yet ended (queued or running), per application: the capacity counters' active count. */
function activeRuns(now: number): Map<string, number> {
  const active = new Map<string, number>();
  for (const run of runs.values())
    if (!viewOf(run, now).terminal) active.set(run.applicationId, (active.get(run.applicationId) ?? 0) + 1);
  return active;
}
registerActive('emr-serverless', activeRuns);

/** The vCPUs the Region's runs not yet ended hold. */
function activeVcpus(region: string, now: number): number {
  let total = 0;
  for (const run of runs.values()) if (run.region === region && !viewOf(run, now).terminal) total += run.vcpus;
  return total;
}

// ---------------------------------------------------------------- applications (moto's, plus schedulerConfiguration)

/** moto's error answer as the service's typed error. */
function motoError(status: number, body: unknown, operation: string): AwsError {
  const b = isObject(body) ? body : {};
  const code =
    typeof b.__type === 'string'
      ? b.__type.split('#').pop()!
      : status === 404
        ? 'ResourceNotFoundException'
        : VALIDATION;
  const message = typeof b.message === 'string' ? b.message : typeof b.Message === 'string' ? b.Message : '';
  return new AwsError(code, message || `${operation} on moto failed with HTTP ${status}`, status >= 400 ? status : 500);
}

/** emr-7.3.0 → [7, 3, 0]; undefined when the label is not an emr-x.y.z release. */
function releaseVersion(label: unknown): number[] | undefined {
  const m = typeof label === 'string' ? /^emr-(\d+)\.(\d+)\.(\d+)/.exec(label) : null;
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function atLeast(v: number[] | undefined, min: number[]): boolean {
  if (v === undefined) return false;
  for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== (min[i] ?? 0)) return (v[i] ?? 0) > (min[i] ?? 0);
  return true;
}

/** A request's schedulerConfiguration, validated as AWS does and with AWS's defaults filled in. */
function schedulerOf(input: JsonObject, releaseLabel: unknown): SchedulerConfiguration | undefined {
  const given = optionalObject(input, 'schedulerConfiguration', VALIDATION);
  if (given === undefined) return undefined;
  if (!atLeast(releaseVersion(releaseLabel), [7, 0, 0]))
    throw new AwsError(VALIDATION, 'Job concurrency and queuing is supported with release labels emr-7.0.0 and above');
  const intIn = (key: keyof SchedulerConfiguration, min: number, max: number): number => {
    const v = given[key];
    if (v === undefined || v === null) return SCHEDULER_DEFAULTS[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw new AwsError(VALIDATION, `schedulerConfiguration.${key} must be an integer from ${min} to ${max}`);
    return v;
  };
  return {
    maxConcurrentRuns: intIn('maxConcurrentRuns', 1, 1000),
    queueTimeoutMinutes: intIn('queueTimeoutMinutes', 15, 720),
  };
}

function withScheduler(application: unknown): unknown {
  if (!isObject(application) || typeof application.applicationId !== 'string') return application;
  const scheduler = schedulers.get(application.applicationId);
  return scheduler === undefined ? application : { ...application, schedulerConfiguration: { ...scheduler } };
}

async function createApplication(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const releaseLabel = requireString(input, 'releaseLabel', VALIDATION);
  const scheduler = schedulerOf(input, releaseLabel);
  const body: JsonObject = { ...input };
  delete body.schedulerConfiguration;
  const { status, body: out } = await ctx.moto.rest('POST', '/applications', body, ctx.headers);
  if (status !== 200 || !isObject(out) || typeof out.applicationId !== 'string')
    throw motoError(status, out, 'CreateApplication');
  ctx.call.resource = out.applicationId;
  // From emr-7.3.0, job concurrency and queuing is on unless configured otherwise.
  const effective =
    scheduler ?? (atLeast(releaseVersion(releaseLabel), [7, 3, 0]) ? { ...SCHEDULER_DEFAULTS } : undefined);
  if (effective !== undefined) schedulers.set(out.applicationId, effective);
  return out;
}

async function getApplication(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const id = requireString(input, 'applicationId', VALIDATION);
  const { status, body } = await ctx.moto.rest(
    'GET',
    `/applications/${encodeURIComponent(id)}`,
    undefined,
    ctx.headers,
  );
  if (status !== 200 || !isObject(body)) throw motoError(status, body, 'GetApplication');
  return { ...body, application: withScheduler(body.application) };
}

async function updateApplication(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const id = requireString(input, 'applicationId', VALIDATION);
  const current = await requireApplication(id, ctx);
  const scheduler = schedulerOf(input, input.releaseLabel ?? current.releaseLabel);
  const body: JsonObject = { ...input };
  delete body.applicationId;
  delete body.schedulerConfiguration;
  const path = `/applications/${encodeURIComponent(id)}`;
  const { status, body: out } = await ctx.moto.rest('PATCH', path, body, ctx.headers);
  if (status !== 200 || !isObject(out)) throw motoError(status, out, 'UpdateApplication');
  if (scheduler !== undefined) schedulers.set(id, scheduler);
  return { ...out, application: withScheduler(out.application) };
}

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
  const view = viewOf(run, now);
  // Time in the queue is not execution time.
  const seconds = Math.max(0, Math.floor(((view.endedAt ?? now) - Math.min(run.startedAt, now)) / 1000));
  const out: JsonObject = {
    applicationId: run.applicationId,
    jobRunId: run.id,
    arn: run.arn,
    createdBy: 'arn:aws:iam::123456789012:user/sluice-local',
    createdAt: epochSeconds(run.submittedAt),
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

  // The account's vCPU quota, checked (like the token) synchronously with the insert below.
  const now = Date.now();
  const region = regionOf(ctx.headers) ?? 'us-east-1';
  const vcpus = sparkRunVcpus(sparkSubmitParametersOf(input.jobDriver)).vcpus;
  const limit = limitFor(region, 'emrServerless', 'maxConcurrentVcpus');
  if (limit !== undefined && activeVcpus(region, now) + vcpus > limit) {
    countRefusal('emr-serverless', applicationId, limit);
    // The error AWS models for an account quota reached (HTTP 402); the wording is ours.
    throw new AwsError(
      'ServiceQuotaExceededException',
      `The job run needs ${vcpus} vCPUs and would exceed the account's maximum concurrent vCPUs (${limit}) in ${region}`,
      402,
    );
  }

  const id = [...randomBytes(16)].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
  const label = name ?? entryPoint(input);
  const request: JsonObject = { ...input };
  delete request.applicationId;
  delete request.clientToken;
  const scheduler = schedulers.get(applicationId);
  const run = {
    id,
    startedAt: now,
    submittedAt: now,
    scenario: findScenario('emr-serverless', (m) => label.includes(m)) ?? DEFAULT_SCENARIO,
    applicationId,
    arn: `arn:aws:emr-serverless:us-east-1:123456789012:/applications/${applicationId}/jobruns/${id}`,
    request,
    releaseLabel: typeof app.releaseLabel === 'string' ? app.releaseLabel : 'emr-7.0.0',
    token,
    region,
    vcpus,
    ...(scheduler !== undefined ? { queueLimit: scheduler.maxConcurrentRuns } : {}),
  } as ServerlessRun;
  // When it leaves the queue, derived from the runs ahead of it each time it is read.
  Object.defineProperty(run, 'startedAt', {
    get: () => queueStarts(applicationId).get(run) ?? run.submittedAt,
    enumerable: true,
  });
  runs.set(id, run);
  byToken.set(`${applicationId}/${token}`, run);
  const queue = byApplication.get(applicationId) ?? [];
  queue.push(run);
  byApplication.set(applicationId, queue);
  version++;
  countStart('emr-serverless', applicationId, activeRuns(now).get(applicationId) ?? 0, limit);
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
      createdAt: isoSeconds(run.submittedAt),
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
  version++;
  // A stop frees its slot earlier: the runs queued behind it start (and end) earlier too.
  for (const r of byApplication.get(run.applicationId) ?? []) runStopRequested(r);
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
    CreateApplication: createApplication,
    GetApplication: getApplication,
    UpdateApplication: updateApplication,
  },
  reset: () => {
    runs.clear();
    byToken.clear();
    byApplication.clear();
    schedulers.clear();
    startsCache.clear();
    version++;
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
