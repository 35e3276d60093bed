/**
 * EMR steps. moto keeps clusters (RunJobFlow, DescribeCluster, TerminateJobFlows are forwarded),
 * but its steps never finish and CancelSteps answers 500, so the gateway owns AddJobFlowSteps /
 * DescribeStep / ListSteps / CancelSteps for the clusters moto knows. Each step runs on its own
 * clock (as with a StepConcurrencyLevel above the number of steps), so tests stay independent.
 * Scenarios: service "emr", match = a substring of the step Name.
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

async function requireCluster(clusterId: string, ctx: HandlerContext): Promise<JsonObject> {
  const { status, body } = await ctx.moto.json(
    'ElasticMapReduce.DescribeCluster',
    { ClusterId: clusterId },
    ctx.headers,
  );
  if (status === 200 && isObject(body) && isObject(body.Cluster)) return body.Cluster;
  if (isObject(body) && typeof body.__type === 'string' && status < 500)
    throw new AwsError(INVALID, `Cluster id '${clusterId}' is not valid.`);
  throw new AwsError('InternalServerError', `DescribeCluster on moto failed with HTTP ${status}`, 500);
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

async function addJobFlowSteps(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const clusterId = requireString(input, 'JobFlowId', 'ValidationException');
  ctx.call.resource = clusterId;
  const list = input.Steps;
  if (!Array.isArray(list) || !list.every(isObject))
    throw new AwsError('ValidationException', 'Steps must be a list of StepConfig');
  const cluster = await requireCluster(clusterId, ctx);
  const state = isObject(cluster.Status) ? cluster.Status.State : undefined;
  if (typeof state === 'string' && GONE.includes(state)) {
    throw new AwsError(
      'ValidationException',
      'A job flow that is shutting down, terminated, or finished may not be modified.',
    );
  }
  const now = Date.now();
  const executionRoleArn = optionalString(input, 'ExecutionRoleArn', 'ValidationException');
  const ids: string[] = [];
  for (const cfg of list) {
    const name = requireString(cfg, 'Name', 'ValidationException');
    const jar = isObject(cfg.HadoopJarStep) ? cfg.HadoopJarStep : undefined;
    if (jar === undefined || typeof jar.Jar !== 'string')
      throw new AwsError('ValidationException', 'HadoopJarStep.Jar is required');
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
    ids.push(step.id);
  }
  return { StepIds: ids };
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
