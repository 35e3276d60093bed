/**
 * Step Functions executions. moto keeps state machines (Create/Describe/List... are forwarded to
 * it) but its executions never finish in the default mode, and its real-execution mode breaks after
 * one execution, so the gateway owns StartExecution / DescribeExecution / StopExecution /
 * ListExecutions, validating the state machine against moto.
 *
 * Names are the idempotency of StartExecution, as on AWS: the same name and input while the
 * execution runs return that execution; a different input, or a name whose execution has ended,
 * is ExecutionAlreadyExists. A SUCCEEDED execution's output is its input (as a Pass state would
 * give). Scenarios match the state machine's name or ARN exactly. Call-log resource: the state
 * machine ARN.
 */
import { randomUUID } from 'node:crypto';
import {
  AwsError,
  epochSeconds,
  isObject,
  optionalString,
  pageSize,
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
  // Step Functions has no pending state: an execution is RUNNING from the start.
  pending: { state: 'RUNNING', ms: 0 },
  running: 'RUNNING',
  stopped: 'ABORTED',
  outcomes: { SUCCEEDED: 'SUCCEEDED', FAILED: 'FAILED', TIMEOUT: 'TIMED_OUT' },
};

const DEFAULT_SCENARIO: Scenario = { durationMs: 500, outcome: 'SUCCEEDED' };
const INVALID_ARN = 'InvalidArn';
const NAME = /^[A-Za-z0-9_-]{1,80}$/;

interface Execution extends Run {
  /** The execution ARN (the run id). */
  stateMachineArn: string;
  name: string;
  input: string;
  stopError?: string;
  stopCause?: string;
}

const executions = new Map<string, Execution>();

/** arn:aws:states:<region>:<account>:stateMachine:<name>[:<version or alias>] → parts. */
function parseStateMachineArn(arn: string): { prefix: string; name: string } {
  const m = /^(arn:[^:]+:states:[^:]+:\d{12}):stateMachine:([^:]+)(?::[^:]+)?$/.exec(arn);
  if (m === null) throw new AwsError(INVALID_ARN, `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
  return { prefix: m[1] as string, name: m[2] as string };
}

async function requireStateMachine(arn: string, ctx: HandlerContext): Promise<JsonObject> {
  const { status, body } = await ctx.moto.json(
    'AWSStepFunctions.DescribeStateMachine',
    { stateMachineArn: arn },
    ctx.headers,
  );
  if (status === 200 && isObject(body)) return body;
  if (isObject(body) && typeof body.__type === 'string') {
    const code = body.__type.split('#').pop() ?? 'StateMachineDoesNotExist';
    throw new AwsError(
      code,
      typeof body.message === 'string' ? body.message : `State Machine Does Not Exist: '${arn}'`,
    );
  }
  throw new AwsError('InternalServerError', `DescribeStateMachine on moto failed with HTTP ${status}`, 500);
}

function requireExecution(input: JsonObject, ctx: HandlerContext): Execution {
  const arn = requireString(input, 'executionArn', INVALID_ARN);
  ctx.call.resource = arn;
  const e = executions.get(arn);
  if (e === undefined) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
  ctx.call.resource = e.stateMachineArn;
  return e;
}

function toDescription(e: Execution, now: number): JsonObject {
  const view = describeRun(SPEC, e, now);
  const out: JsonObject = {
    executionArn: e.id,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: view.state,
    startDate: epochSeconds(e.startedAt),
    input: e.input,
    inputDetails: { included: true },
  };
  if (view.endedAt !== undefined) out.stopDate = epochSeconds(view.endedAt);
  if (view.state === 'SUCCEEDED') {
    out.output = e.input;
    out.outputDetails = { included: true };
  }
  if (view.outcome === 'FAILED') {
    out.error = 'States.TaskFailed';
    out.cause = e.scenario.message ?? 'Execution failed';
  }
  if (view.outcome === 'TIMEOUT') {
    out.error = 'States.Timeout';
    out.cause = e.scenario.message ?? 'The execution exceeded its TimeoutSeconds';
  }
  if (view.stopped) {
    if (e.stopError !== undefined) out.error = e.stopError;
    if (e.stopCause !== undefined) out.cause = e.stopCause;
  }
  return out;
}

async function startExecution(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const smArn = requireString(input, 'stateMachineArn', INVALID_ARN);
  ctx.call.resource = smArn;
  const { prefix, name: smName } = parseStateMachineArn(smArn);
  const sm = await requireStateMachine(smArn, ctx);
  if (sm.status === 'DELETING')
    throw new AwsError('StateMachineDeleting', `State Machine is being deleted: '${smArn}'`);
  const name = optionalString(input, 'name', 'InvalidName') ?? randomUUID();
  if (!NAME.test(name))
    throw new AwsError('InvalidName', `Invalid Name: '${name}' (1 to 80 characters: letters, digits, '-' and '_')`);
  const body = optionalString(input, 'input', 'InvalidExecutionInput') ?? '{}';
  try {
    JSON.parse(body);
  } catch {
    throw new AwsError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${body.slice(0, 100)}'`);
  }
  const arn = `${prefix}:execution:${smName}:${name}`;
  // Re-read the clock after the await; the lookup + insert below are synchronous.
  const now = Date.now();
  const existing = executions.get(arn);
  if (existing !== undefined) {
    if (existing.input === body && !describeRun(SPEC, existing, now).terminal) {
      return { executionArn: existing.id, startDate: epochSeconds(existing.startedAt) };
    }
    throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
  }
  const e: Execution = {
    id: arn,
    startedAt: now,
    scenario: findScenario('sfn', (match) => match === smName || match === smArn) ?? DEFAULT_SCENARIO,
    stateMachineArn: smArn,
    name,
    input: body,
  };
  executions.set(arn, e);
  emitOnEnd(SPEC, e, ctx.headers, (view) => ({
    source: 'aws.states',
    detailType: 'Step Functions Execution Status Change',
    detail: {
      executionArn: e.id,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: view.state,
      startDate: e.startedAt,
      stopDate: view.endedAt ?? null,
      input: e.input,
      inputDetails: { included: true },
    },
    resources: [e.id],
  }));
  return { executionArn: arn, startDate: epochSeconds(now) };
}

async function describeExecution(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  return toDescription(requireExecution(input, ctx), ctx.now);
}

async function stopExecution(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const e = requireExecution(input, ctx);
  const view = requestStop(SPEC, e, ctx.now);
  runStopRequested(e);
  if (!view.terminal) {
    const error = optionalString(input, 'error', 'ValidationException');
    const cause = optionalString(input, 'cause', 'ValidationException');
    if (error !== undefined) e.stopError = error;
    if (cause !== undefined) e.stopCause = cause;
  }
  // Like moto (and AWS for an execution that has ended): accepted, the execution keeps its state.
  return { stopDate: epochSeconds(describeRun(SPEC, e, ctx.now).endedAt ?? ctx.now) };
}

async function listExecutions(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const smArn = requireString(input, 'stateMachineArn', INVALID_ARN);
  ctx.call.resource = smArn;
  await requireStateMachine(smArn, ctx);
  const filter = optionalString(input, 'statusFilter', 'ValidationException');
  const all = [...executions.values()]
    .filter((e) => e.stateMachineArn === smArn)
    .map((e) => toDescription(e, ctx.now))
    .filter((d) => filter === undefined || d.status === filter)
    .reverse();
  const tag = `sfn-list:${smArn}:${filter ?? ''}`;
  const size = pageSize(
    { MaxResults: input.maxResults === 0 ? undefined : input.maxResults },
    100,
    1000,
    'ValidationException',
  );
  const { page, next } = takePage(all, optionalString(input, 'nextToken', 'InvalidToken'), size, tag, 'InvalidToken');
  return {
    executions: page.map((d) => ({
      executionArn: d.executionArn,
      stateMachineArn: d.stateMachineArn,
      name: d.name,
      status: d.status,
      startDate: d.startDate,
      ...(d.stopDate !== undefined ? { stopDate: d.stopDate } : {}),
    })),
    ...(next ? { nextToken: next } : {}),
  };
}

export const sfn: Emulator = {
  service: 'sfn',
  targetPrefix: 'AWSStepFunctions',
  spec: SPEC,
  defaultScenario: DEFAULT_SCENARIO,
  matchDescription: 'the exact state machine name or ARN',
  supportsResult: false,
  operations: {
    StartExecution: startExecution,
    DescribeExecution: describeExecution,
    StopExecution: stopExecution,
    ListExecutions: listExecutions,
  },
  reset: () => executions.clear(),
};
