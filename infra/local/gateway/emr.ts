/**
 * EMR clusters and steps. moto keeps the clusters (their definition, tags, ARN, instances), but a
 * cluster there is WAITING the moment RunJobFlow returns and TERMINATED the moment
 * TerminateJobFlows does (no StateChangeReason; an unknown id answers 500), its steps never finish
 * and CancelSteps answers 500. So the gateway:
 *  - steps: owns AddJobFlowSteps / DescribeStep / ListSteps / CancelSteps for the clusters moto
 *    knows. Each step runs on its own clock (as with a StepConcurrencyLevel above the number of
 *    steps), so tests stay independent. Scenarios: service "emr", match = a substring of the step Name.
 *  - clusters: forwards RunJobFlow to moto (without its Steps, which become gateway steps) and
 *    overlays the lifecycle on DescribeCluster / ListClusters / TerminateJobFlows:
 *    STARTING → BOOTSTRAPPING (the second half of the scenario's durationMs) → WAITING, or RUNNING
 *    while one of its steps is active; TerminateJobFlows → TERMINATING (300 ms) → TERMINATED
 *    (USER_REQUEST). Without KeepJobFlowAliveWhenNoSteps the cluster ends itself once ready and its
 *    steps ended (ALL_STEPS_COMPLETED). Scenarios: service "emr-cluster", match = a substring of
 *    the cluster Name; SUCCEEDED (ready after durationMs), FAILED (TERMINATING, then
 *    TERMINATED_WITH_ERRORS after durationMs; the message is the StateChangeReason's, "CODE: text"
 *    sets its Code, BOOTSTRAP_FAILURE by default), HANG (STARTING until terminated). Clusters the
 *    gateway did not start (before a restart) show moto's own state.
 */
import { randomBytes } from 'node:crypto';
import {
  AwsError,
  epochSeconds,
  isObject,
  optionalString,
  requireString,
  takePage,
  type Emulator,
  type HandlerContext,
  type JsonObject,
} from './aws.js';
import { describeRun, requestStop, type LifecycleSpec, type Run, type Scenario } from './lifecycle.js';
import { emitOnEnd, runStopRequested } from './events.js';
import { findScenario } from './scenarios.js';

const SPEC: LifecycleSpec = {
  pending: { state: 'PENDING', ms: 200 },
  running: 'RUNNING',
  stopping: { state: 'CANCEL_PENDING', ms: 300 },
  stopped: 'CANCELLED',
  outcomes: { SUCCEEDED: 'COMPLETED', FAILED: 'FAILED' },
};

const DEFAULT_SCENARIO: Scenario = { durationMs: 1500, outcome: 'SUCCEEDED' };
const INVALID = 'InvalidRequestException';
const GONE = ['TERMINATING', 'TERMINATED', 'TERMINATED_WITH_ERRORS'];
/** ListSteps pages hold 50 steps, as on AWS. */
const PAGE = 50;

interface Step extends Run {
  clusterId: string;
  name: string;
  actionOnFailure: string;
  config: JsonObject;
  executionRoleArn?: string;
}

/** Insertion order == creation order; ListSteps answers newest first. */
const steps = new Map<string, Step>();

/** The cluster as DescribeCluster answers it (moto's, with the gateway's lifecycle overlaid). */
async function requireCluster(clusterId: string, ctx: HandlerContext): Promise<JsonObject> {
  const { status, body } = await ctx.moto.json(
    'ElasticMapReduce.DescribeCluster',
    { ClusterId: clusterId },
    ctx.headers,
  );
  if (status === 200 && isObject(body) && isObject(body.Cluster)) return overlay(body.Cluster, ctx.now);
  if (isObject(body) && typeof body.__type === 'string' && status < 500)
    throw new AwsError(INVALID, `Cluster id '${clusterId}' is not valid.`);
  throw new AwsError('InternalServerError', `DescribeCluster on moto failed with HTTP ${status}`, 500);
}

function stateOf(cluster: JsonObject): string | undefined {
  const state = isObject(cluster.Status) ? cluster.Status.State : undefined;
  return typeof state === 'string' ? state : undefined;
}

function stepId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `s-${[...randomBytes(13)].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

function toStatus(step: Step, now: number): JsonObject {
  const view = describeRun(SPEC, step, now);
  const timeline: JsonObject = { CreationDateTime: epochSeconds(step.startedAt) };
  const runningAt = step.startedAt + SPEC.pending.ms;
  if ((view.endedAt ?? now) >= runningAt && !(view.stopped && (step.stopRequestedAt ?? Infinity) < runningAt))
    timeline.StartDateTime = epochSeconds(runningAt);
  if (view.endedAt !== undefined) timeline.EndDateTime = epochSeconds(view.endedAt);
  const status: JsonObject = { State: view.state, StateChangeReason: {}, Timeline: timeline };
  if (view.outcome === 'FAILED') {
    const message = step.scenario.message ?? 'Unknown Error.';
    status.FailureDetails = { Reason: message };
  }
  if (view.stopped) status.StateChangeReason = { Message: 'Cancelled by user' };
  return status;
}

function toStep(step: Step, now: number): JsonObject {
  const out: JsonObject = {
    Id: step.id,
    Name: step.name,
    Config: step.config,
    ActionOnFailure: step.actionOnFailure,
    Status: toStatus(step, now),
  };
  if (step.executionRoleArn !== undefined) out.ExecutionRoleArn = step.executionRoleArn;
  return out;
}

/** Registers StepConfigs on a cluster (AddJobFlowSteps, or the Steps of RunJobFlow). */
function addSteps(clusterId: string, list: unknown, now: number, executionRoleArn?: string): string[] {
  if (!Array.isArray(list) || !list.every(isObject))
    throw new AwsError('ValidationException', 'Steps must be a list of StepConfig');
  const prepared = list.map((cfg) => {
    const name = requireString(cfg, 'Name', 'ValidationException');
    const jar = isObject(cfg.HadoopJarStep) ? cfg.HadoopJarStep : undefined;
    if (jar === undefined || typeof jar.Jar !== 'string')
      throw new AwsError('ValidationException', 'HadoopJarStep.Jar is required');
    return { cfg, name, jar };
  });
  return prepared.map(({ cfg, name, jar }) => {
    const step: Step = {
      id: stepId(),
      startedAt: now,
      scenario: findScenario('emr', (m) => name.includes(m)) ?? DEFAULT_SCENARIO,
      clusterId,
      name,
      actionOnFailure: typeof cfg.ActionOnFailure === 'string' ? cfg.ActionOnFailure : 'CONTINUE',
      config: {
        Jar: jar.Jar,
        Properties: jar.Properties ?? {},
        Args: jar.Args ?? [],
        ...(jar.MainClass !== undefined ? { MainClass: jar.MainClass } : {}),
      },
      ...(executionRoleArn !== undefined ? { executionRoleArn } : {}),
    };
    steps.set(step.id, step);
    emitOnEnd(SPEC, step, {}, (view) => ({
      source: 'aws.emr',
      detailType: 'EMR Step Status Change',
      detail: {
        severity: view.state === 'COMPLETED' ? 'INFO' : 'WARN',
        actionOnFailure: step.actionOnFailure,
        stepId: step.id,
        name: step.name,
        clusterId: step.clusterId,
        state: view.state,
        message: `Step ${step.id} (${step.name}) in Amazon EMR cluster ${step.clusterId} ${view.state.toLowerCase()}.`,
      },
    }));
    return step.id;
  });
}

async function addJobFlowSteps(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const clusterId = requireString(input, 'JobFlowId', 'ValidationException');
  ctx.call.resource = clusterId;
  if (!Array.isArray(input.Steps) || !input.Steps.every(isObject))
    throw new AwsError('ValidationException', 'Steps must be a list of StepConfig');
  const state = stateOf(await requireCluster(clusterId, ctx));
  if (state !== undefined && GONE.includes(state)) {
    throw new AwsError(
      'ValidationException',
      'A job flow that is shutting down, terminated, or finished may not be modified.',
    );
  }
  const executionRoleArn = optionalString(input, 'ExecutionRoleArn', 'ValidationException');
  return { StepIds: addSteps(clusterId, input.Steps, Date.now(), executionRoleArn) };
}

function requireStep(clusterId: string, id: string): Step {
  const step = steps.get(id);
  if (step === undefined || step.clusterId !== clusterId) throw new AwsError(INVALID, `Step id '${id}' is not valid.`);
  return step;
}

async function describeStep(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const clusterId = requireString(input, 'ClusterId', INVALID);
  const id = requireString(input, 'StepId', INVALID);
  await requireCluster(clusterId, ctx);
  return { Step: toStep(requireStep(clusterId, id), ctx.now) };
}

async function listSteps(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const clusterId = requireString(input, 'ClusterId', INVALID);
  await requireCluster(clusterId, ctx);
  const states = Array.isArray(input.StepStates) ? input.StepStates : undefined;
  const ids = Array.isArray(input.StepIds) ? input.StepIds : undefined;
  const all = [...steps.values()]
    .filter((s) => s.clusterId === clusterId && (ids === undefined || ids.includes(s.id)))
    .reverse()
    .map((s) => toStep(s, ctx.now))
    .filter((s) => states === undefined || states.includes((s.Status as JsonObject).State));
  const tag = `emr-steps:${clusterId}`;
  const { page, next } = takePage(all, typeof input.Marker === 'string' ? input.Marker : undefined, PAGE, tag, INVALID);
  return { Steps: page, ...(next ? { Marker: next } : {}) };
}

async function cancelSteps(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const clusterId = requireString(input, 'ClusterId', INVALID);
  const ids = input.StepIds;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string'))
    throw new AwsError(INVALID, 'StepIds must be a non-empty list of strings');
  await requireCluster(clusterId, ctx);
  const CancelStepsInfoList = ids.map((id: string) => {
    const step = steps.get(id);
    if (step === undefined || step.clusterId !== clusterId)
      return { StepId: id, Status: 'FAILED', Reason: `Step id '${id}' is not valid.` };
    const view = requestStop(SPEC, step, ctx.now);
    runStopRequested(step);
    // Real EMR refuses per step, in the list, when the step can no longer be cancelled.
    if (view.terminal)
      return { StepId: id, Status: 'FAILED', Reason: `Step ${id} is in state ${view.state} and cannot be cancelled.` };
    return { StepId: id, Status: 'SUBMITTED' };
  });
  return { CancelStepsInfoList };
}

export const emr: Emulator = {
  service: 'emr',
  targetPrefix: 'ElasticMapReduce',
  spec: SPEC,
  defaultScenario: DEFAULT_SCENARIO,
  matchDescription: 'a substring of the EMR step Name',
  supportsResult: false,
  operations: {
    AddJobFlowSteps: addJobFlowSteps,
    DescribeStep: describeStep,
    ListSteps: listSteps,
    CancelSteps: cancelSteps,
  },
  reset: () => steps.clear(),
};

// ---------------------------------------------------------------- clusters

/** How clusters start and end; `spec` only names the outcomes scenarios may choose. */
const CLUSTER_SPEC: LifecycleSpec = {
  pending: { state: 'STARTING', ms: 0 },
  running: 'BOOTSTRAPPING',
  stopping: { state: 'TERMINATING', ms: 300 },
  stopped: 'TERMINATED',
  outcomes: { SUCCEEDED: 'WAITING', FAILED: 'TERMINATED_WITH_ERRORS' },
};
const CLUSTER_DEFAULT: Scenario = { durationMs: 1000, outcome: 'SUCCEEDED' };
/** How long TERMINATING lasts. */
const TERMINATING_MS = 300;
/** ListClusters pages hold 50 clusters, as on AWS. */
const CLUSTER_PAGE = 50;
const REASON_CODES = [
  'INTERNAL_ERROR',
  'VALIDATION_ERROR',
  'INSTANCE_FAILURE',
  'INSTANCE_FLEET_TIMEOUT',
  'BOOTSTRAP_FAILURE',
  'USER_REQUEST',
  'STEP_FAILURE',
  'ALL_STEPS_COMPLETED',
];
const DEFAULT_FAILURE =
  'On the master instance (i-0123456789abcdef0), bootstrap action 1 returned a non-zero return code';

interface Cluster {
  id: string;
  createdAt: number;
  scenario: Scenario;
  keepAlive: boolean;
  /** epoch ms of the first TerminateJobFlows that found the cluster alive */
  terminateRequestedAt?: number;
}

const clusters = new Map<string, Cluster>();

export interface ClusterView {
  state: string;
  reason?: { Code: string; Message: string };
  readyAt?: number;
  endedAt?: number;
}

/** Its steps' clocks: whether one is active, and when the last one ended. */
function stepActivity(clusterId: string, now: number): { active: boolean; lastEnd: number } {
  let active = false;
  let lastEnd = 0;
  for (const step of steps.values()) {
    if (step.clusterId !== clusterId) continue;
    const view = describeRun(SPEC, step, now);
    if (!view.terminal) active = true;
    else lastEnd = Math.max(lastEnd, view.endedAt ?? 0);
  }
  return { active, lastEnd };
}

function failureReason(message: string | undefined): { Code: string; Message: string } {
  const m = /^([A-Z_]+): (.+)$/s.exec(message ?? '');
  if (m && REASON_CODES.includes(m[1] as string)) return { Code: m[1] as string, Message: m[2] as string };
  return { Code: 'BOOTSTRAP_FAILURE', Message: message ?? DEFAULT_FAILURE };
}

/** The cluster's state at `now`, derived from its scenario, its steps and the terminate request. */
export function clusterView(c: Cluster, now: number): ClusterView {
  const { scenario, createdAt } = c;
  const readyAt = scenario.outcome === 'SUCCEEDED' ? createdAt + scenario.durationMs : Infinity;
  const failAt = scenario.outcome === 'FAILED' ? createdAt + scenario.durationMs : Infinity;
  // When it starts ending by itself: a failure, or (without KeepJobFlowAliveWhenNoSteps) its steps done.
  let selfEndAt = failAt;
  let selfReason = failureReason(scenario.message);
  if (!c.keepAlive && readyAt !== Infinity) {
    const { active, lastEnd } = stepActivity(c.id, now);
    if (!active && now >= Math.max(readyAt, lastEnd)) {
      selfEndAt = Math.max(readyAt, lastEnd);
      selfReason = { Code: 'ALL_STEPS_COMPLETED', Message: 'Steps completed' };
    }
  }
  const req = c.terminateRequestedAt;
  const ending =
    req !== undefined && req < selfEndAt
      ? { at: req, reason: { Code: 'USER_REQUEST', Message: 'Terminated by user request' }, errors: false }
      : selfEndAt !== Infinity
        ? { at: selfEndAt, reason: selfReason, errors: scenario.outcome === 'FAILED' }
        : undefined;
  const ready = readyAt <= now && (ending === undefined || readyAt <= ending.at) ? { readyAt } : {};
  if (ending !== undefined && now >= ending.at) {
    const endedAt = ending.at + TERMINATING_MS;
    if (now < endedAt) return { state: 'TERMINATING', reason: ending.reason, ...ready };
    return {
      state: ending.errors ? 'TERMINATED_WITH_ERRORS' : 'TERMINATED',
      reason: ending.reason,
      endedAt,
      ...ready,
    };
  }
  if (now >= readyAt) return { state: stepActivity(c.id, now).active ? 'RUNNING' : 'WAITING', readyAt };
  if (scenario.outcome === 'HANG' || now < createdAt + scenario.durationMs / 2) return { state: 'STARTING' };
  return { state: 'BOOTSTRAPPING' };
}

/** moto's cluster (DescribeCluster's Cluster, or a ListClusters summary) with the lifecycle's Status. */
function overlay(cluster: JsonObject, now: number): JsonObject {
  const c = typeof cluster.Id === 'string' ? clusters.get(cluster.Id) : undefined;
  if (c === undefined) return cluster;
  const view = clusterView(c, now);
  const timeline: JsonObject = { CreationDateTime: epochSeconds(c.createdAt) };
  if (view.readyAt !== undefined) timeline.ReadyDateTime = epochSeconds(view.readyAt);
  if (view.endedAt !== undefined) timeline.EndDateTime = epochSeconds(view.endedAt);
  return {
    ...cluster,
    Status: { State: view.state, StateChangeReason: view.reason ?? {}, Timeline: timeline },
  };
}

/** Relays moto's modelled error (e.g. a ValidationException of RunJobFlow) to the caller. */
function motoError(operation: string, status: number, body: unknown): AwsError {
  if (isObject(body) && typeof body.__type === 'string' && status < 500) {
    const message =
      typeof body.message === 'string' ? body.message : typeof body.Message === 'string' ? body.Message : '';
    return new AwsError(body.__type.split('#').pop() as string, message, status);
  }
  return new AwsError('InternalServerError', `${operation} on moto failed with HTTP ${status}`, 500);
}

async function runJobFlow(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const name = requireString(input, 'Name', 'ValidationException');
  const { Steps: stepList, ...request } = input;
  const { status, body } = await ctx.moto.json('ElasticMapReduce.RunJobFlow', request, ctx.headers);
  if (status !== 200 || !isObject(body) || typeof body.JobFlowId !== 'string')
    throw motoError('RunJobFlow', status, body);
  const instances = isObject(input.Instances) ? input.Instances : {};
  const now = Date.now();
  clusters.set(body.JobFlowId, {
    id: body.JobFlowId,
    createdAt: now,
    scenario: findScenario('emr-cluster', (m) => name.includes(m)) ?? CLUSTER_DEFAULT,
    keepAlive: instances.KeepJobFlowAliveWhenNoSteps === true,
  });
  if (stepList !== undefined) addSteps(body.JobFlowId, stepList, now);
  return body;
}

async function describeCluster(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  return { Cluster: await requireCluster(requireString(input, 'ClusterId', INVALID), ctx) };
}

function epochMs(v: unknown): number | undefined {
  if (typeof v === 'number') return v * 1000;
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

async function listClusters(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const states = Array.isArray(input.ClusterStates) ? input.ClusterStates : undefined;
  const after = epochMs(input.CreatedAfter);
  const before = epochMs(input.CreatedBefore);
  // All of moto's clusters (its own state filter would see moto's states, not the lifecycle's).
  const all: JsonObject[] = [];
  let Marker: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const { status, body } = await ctx.moto.json(
      'ElasticMapReduce.ListClusters',
      Marker !== undefined ? { Marker } : {},
      ctx.headers,
    );
    if (status !== 200 || !isObject(body)) throw motoError('ListClusters', status, body);
    if (Array.isArray(body.Clusters)) all.push(...body.Clusters.filter(isObject));
    Marker = typeof body.Marker === 'string' && body.Marker !== '' ? body.Marker : undefined;
    if (Marker === undefined) break;
  }
  const created = (c: JsonObject): number =>
    epochMs(isObject(c.Status) && isObject(c.Status.Timeline) ? c.Status.Timeline.CreationDateTime : undefined) ?? 0;
  const listed = all
    .map((c) => overlay(c, ctx.now))
    .filter((c) => states === undefined || states.includes(stateOf(c)))
    .filter((c) => (after === undefined || created(c) >= after) && (before === undefined || created(c) <= before))
    .sort((a, b) => created(b) - created(a)); // newest first, as on AWS
  const marker = typeof input.Marker === 'string' ? input.Marker : undefined;
  const { page, next } = takePage(listed, marker, CLUSTER_PAGE, 'emr-clusters', INVALID);
  return { Clusters: page, ...(next ? { Marker: next } : {}) };
}

async function terminateJobFlows(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const ids = input.JobFlowIds;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string' && id !== ''))
    throw new AwsError('ValidationException', 'JobFlowIds must be a non-empty list of cluster ids');
  ctx.call.resource = ids.join(',');
  const found: JsonObject[] = [];
  for (const id of ids as string[]) {
    const { status, body } = await ctx.moto.json('ElasticMapReduce.DescribeCluster', { ClusterId: id }, ctx.headers);
    if (status === 200 && isObject(body) && isObject(body.Cluster)) found.push(body.Cluster);
    else if (status < 500) throw new AwsError('ValidationException', 'Specified job flow ID does not exist.');
    else throw motoError('DescribeCluster', status, body);
  }
  if (found.some((c) => c.TerminationProtected === true))
    throw new AwsError(
      'ValidationException',
      'Could not shut down one or more job flows since they are termination protected.',
    );
  for (const id of ids as string[]) {
    const c = clusters.get(id);
    if (c === undefined || c.terminateRequestedAt !== undefined) continue;
    // Accepted whatever the state; it only takes effect on a cluster that is not ending already.
    const state = clusterView(c, ctx.now).state;
    if (!GONE.includes(state)) c.terminateRequestedAt = ctx.now;
  }
  // moto's copy ends at once; the overlay shows TERMINATING first.
  const { status, body } = await ctx.moto.json('ElasticMapReduce.TerminateJobFlows', { JobFlowIds: ids }, ctx.headers);
  if (status !== 200) throw motoError('TerminateJobFlows', status, body);
  return {};
}

export const emrCluster: Emulator = {
  service: 'emr-cluster',
  targetPrefix: 'ElasticMapReduce',
  spec: CLUSTER_SPEC,
  defaultScenario: CLUSTER_DEFAULT,
  matchDescription: 'a substring of the EMR cluster Name',
  supportsResult: false,
  operations: {
    RunJobFlow: runJobFlow,
    DescribeCluster: describeCluster,
    ListClusters: listClusters,
    TerminateJobFlows: terminateJobFlows,
  },
  reset: () => clusters.clear(),
};
