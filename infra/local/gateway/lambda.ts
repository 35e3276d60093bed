/**
 * Lambda Invoke. moto (with `lambda.use_docker: false`, set by stack.sh) keeps the functions and
 * answers Invoke by echoing the payload; it has no way to make a function fail. Scenarios, keyed by
 * the exact function name, add the outcomes an orchestrator must handle:
 *  - SUCCEEDED (or no scenario): moto answers (the echo), after `durationMs` if one is given;
 *  - FAILED: 200 with `X-Amz-Function-Error: Unhandled` and the runtime's error payload
 *    `{errorType, errorMessage, trace}`; a message "ValueError: bad input" gives errorType ValueError;
 *  - TIMEOUT: the same with errorType `Sandbox.Timedout`, as Lambda reports a function timeout;
 *  - HANG: no answer for 15 minutes (Lambda's longest timeout), then TIMEOUT.
 * Every Invoke first checks that the function (and Qualifier) exists in moto with GetFunction: moto
 * 5.2.5 without docker answers 200 for any name, AWS answers ResourceNotFoundException.
 *
 * Concurrency: a synchronous Invoke is in flight for its scenario's `durationMs`. Past the
 * function's reserved concurrency (moto keeps it: Put/Get/DeleteFunctionConcurrency; the gateway
 * only checks PutFunctionConcurrency's value, which moto takes unchecked, even -1), or, for a
 * function without one, past the account's unreserved concurrency in the Region (capacity.ts:
 * lambda.unreservedConcurrency, unlimited unless set), Lambda refuses with HTTP 429
 * TooManyRequestsException, Reason ReservedFunctionConcurrentInvocationLimitExceeded or
 * ConcurrentInvocationLimitExceeded. Asynchronous (Event) invocations are queued by Lambda and
 * never refused for concurrency, so they are neither limited nor counted here.
 */
import { randomUUID } from 'node:crypto';
import {
  AwsError,
  isObject,
  type Emulator,
  type Handler,
  type HandlerContext,
  type RawHandler,
  type RawReply,
} from './aws.js';
import { countRefusal, countStart, limitFor, registerActive } from './capacity.js';
import { regionOf } from './events.js';
import type { LifecycleSpec, Scenario } from './lifecycle.js';
import { findScenario } from './scenarios.js';

/** Invoke is synchronous: the "lifecycle" is only how the call ends. */
const SPEC: LifecycleSpec = {
  pending: { state: 'PENDING', ms: 0 },
  running: 'RUNNING',
  stopped: 'STOPPED',
  outcomes: { SUCCEEDED: 'SUCCEEDED', FAILED: 'FAILED', TIMEOUT: 'TIMEOUT' },
};
const DEFAULT_SCENARIO: Scenario = { durationMs: 0, outcome: 'SUCCEEDED' };
const HANG_MS = 15 * 60_000;

/** "my-fn", "my-fn:prod", "123456789012:function:my-fn", "arn:aws:lambda:us-east-1:123456789012:function:my-fn:1" → "my-fn". */
export function functionNameOf(nameOrArn: string): string {
  const parts = nameOrArn.split(':');
  const afterFunction = parts[parts.indexOf('function') + 1];
  return parts.includes('function') && afterFunction !== undefined ? afterFunction : (parts[0] ?? nameOrArn);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The function's configured memory (MB), from moto's GetFunction; throws AWS's errors for an unknown one. */
async function requireFunction(name: string, qualifier: string | null, ctx: HandlerContext): Promise<number> {
  const path = `/2015-03-31/functions/${encodeURIComponent(name)}${qualifier ? `?Qualifier=${encodeURIComponent(qualifier)}` : ''}`;
  const { status, body } = await ctx.moto.rest('GET', path, undefined, ctx.headers);
  if (status === 200) {
    const config = isObject(body) && isObject(body.Configuration) ? body.Configuration : {};
    return typeof config.MemorySize === 'number' ? config.MemorySize : 128;
  }
  const said = isObject(body) ? (body.message ?? body.Message) : undefined;
  const message = typeof said === 'string' ? said : `Function not found: ${name}`;
  if (status === 404) throw new AwsError('ResourceNotFoundException', message, 404);
  throw new AwsError('ServiceException', `GetFunction on moto failed with HTTP ${status}`, 500);
}

/** The function's reserved concurrency (moto's GetFunctionConcurrency; GetFunction leaves out 0). */
async function reservedConcurrency(name: string, ctx: HandlerContext): Promise<number | undefined> {
  const path = `/2019-09-30/functions/${encodeURIComponent(name)}/concurrency`;
  const { status, body } = await ctx.moto.rest('GET', path, undefined, ctx.headers);
  if (status !== 200)
    throw new AwsError('ServiceException', `GetFunctionConcurrency on moto failed with HTTP ${status}`, 500);
  const n = isObject(body) ? body.ReservedConcurrentExecutions : undefined;
  return typeof n === 'number' ? n : undefined;
}

/** Synchronous invocations in flight, by `<region>/<function name>`. */
const inFlight = new Map<string, number>();
/** Those of functions without reserved concurrency, by Region: the account's unreserved pool in use. */
const unreservedInFlight = new Map<string, number>();

function bump(map: Map<string, number>, key: string, by: number): number {
  const n = (map.get(key) ?? 0) + by;
  if (n === 0) map.delete(key);
  else map.set(key, n);
  return n;
}

registerActive('lambda', () => {
  const byName = new Map<string, number>();
  for (const [key, n] of inFlight) bump(byName, key.slice(key.indexOf('/') + 1), n);
  return byName;
});

/** Lambda's throttle: HTTP 429, the reason in the body, the message AWS sends ("Rate Exceeded."). */
function throttled(reason: string): RawReply {
  const body = Buffer.from(JSON.stringify({ Reason: reason, Type: 'User', message: 'Rate Exceeded.' }));
  return {
    status: 429,
    headers: {
      'content-type': 'application/json',
      'content-length': String(body.length),
      'x-amzn-errortype': 'TooManyRequestsException',
      'x-amzn-requestid': randomUUID(),
    },
    body,
  };
}

function functionError(errorType: string, errorMessage: string, version: string): RawReply {
  const body = Buffer.from(JSON.stringify({ errorType, errorMessage, trace: [] }));
  return {
    status: 200,
    headers: {
      'content-type': 'application/json',
      'content-length': String(body.length),
      'x-amz-function-error': 'Unhandled',
      'x-amz-executed-version': version,
      'x-amzn-requestid': randomUUID(),
    },
    body,
  };
}

const invoke: RawHandler = async (request, ctx) => {
  const raw = request.pathParams.FunctionName ?? '';
  const name = functionNameOf(raw);
  ctx.call.resource = name;
  const qualifier = request.query.get('Qualifier');
  // moto 5.2.5 without docker answers 200 even for a function that does not exist.
  const memoryMB = await requireFunction(name, qualifier, ctx);
  const type = String(ctx.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  if (type !== 'RequestResponse') return answer(request, ctx, name, qualifier, memoryMB);

  const reserved = await reservedConcurrency(name, ctx);
  // Synchronous from the checks to the increments, so two concurrent invocations cannot both fit in one slot.
  const region = regionOf(ctx.headers) ?? 'us-east-1';
  const key = `${region}/${name}`;
  const mine = inFlight.get(key) ?? 0;
  const limit = reserved ?? limitFor(region, 'lambda', 'unreservedConcurrency');
  const pool = reserved === undefined ? (unreservedInFlight.get(region) ?? 0) : mine;
  if (limit !== undefined && pool >= limit) {
    countRefusal('lambda', name, limit);
    return throttled(
      reserved !== undefined
        ? 'ReservedFunctionConcurrentInvocationLimitExceeded'
        : 'ConcurrentInvocationLimitExceeded',
    );
  }
  bump(inFlight, key, 1);
  if (reserved === undefined) bump(unreservedInFlight, region, 1);
  countStart('lambda', name, mine + 1, limit);
  try {
    return await answer(request, ctx, name, qualifier, memoryMB);
  } finally {
    bump(inFlight, key, -1);
    if (reserved === undefined) bump(unreservedInFlight, region, -1);
  }
};

/** The invocation itself: the scenario's outcome after its duration. */
async function answer(
  request: Parameters<RawHandler>[0],
  ctx: HandlerContext,
  name: string,
  qualifier: string | null,
  memoryMB: number,
): Promise<RawReply> {
  const scenario = findScenario('lambda', (match) => match === name);
  const version = qualifier !== null && /^\d+$/.test(qualifier) ? qualifier : '$LATEST';
  if (scenario === undefined || scenario.outcome === 'SUCCEEDED') {
    await sleep(scenario?.durationMs ?? 0);
    // moto's function echoes its input; answered here to add what Lambda adds: the log tail with
    // its REPORT line when LogType is Tail.
    const requestId = randomUUID();
    // The scenario's duration as the function's (billed rounded up to the millisecond), so tests can check the cost.
    const durationMs = (scenario?.durationMs ?? 0) + 0.37;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(request.body.length),
      'x-amz-executed-version': version,
      'x-amzn-requestid': requestId,
    };
    if (String(ctx.headers['x-amz-log-type'] ?? '').toLowerCase() === 'tail') {
      const tail =
        `START RequestId: ${requestId} Version: ${version}\n` +
        `END RequestId: ${requestId}\n` +
        `REPORT RequestId: ${requestId}\tDuration: ${durationMs.toFixed(2)} ms\tBilled Duration: ${Math.ceil(durationMs)} ms\tMemory Size: ${memoryMB} MB\tMax Memory Used: ${Math.min(memoryMB, 64)} MB\t\n`;
      headers['x-amz-log-result'] = Buffer.from(tail).toString('base64');
    }
    return { status: 200, headers, body: request.body };
  }
  if (scenario.outcome === 'FAILED') {
    await sleep(scenario.durationMs);
    const message = scenario.message ?? 'Function failed';
    const typed = /^([A-Za-z_][\w.]*): ([\s\S]*)$/.exec(message);
    return typed
      ? functionError(typed[1] as string, typed[2] as string, version)
      : functionError('Error', message, version);
  }
  const ms = scenario.outcome === 'HANG' ? HANG_MS : scenario.durationMs;
  await sleep(ms);
  const timeout =
    scenario.message ??
    `${new Date().toISOString()} ${randomUUID()} Task timed out after ${(ms / 1000).toFixed(2)} seconds`;
  return functionError('Sandbox.Timedout', timeout, version);
}

/**
 * PutFunctionConcurrency: moto stores any value (-1, 5000); Lambda takes a whole number >= 0 and
 * refuses others with a ValidationException. A valid one is stored on moto, which answers it.
 */
const putFunctionConcurrency: Handler = async (input, ctx) => {
  const name = functionNameOf(typeof input.FunctionName === 'string' ? input.FunctionName : '');
  ctx.call.resource = name;
  const n = input.ReservedConcurrentExecutions;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value '${String(n)}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0`,
    );
  }
  const path = `/2017-10-31/functions/${encodeURIComponent(name)}/concurrency`;
  const { status, body } = await ctx.moto.rest('PUT', path, { ReservedConcurrentExecutions: n }, ctx.headers);
  if (status === 200 && isObject(body)) return body;
  const said = isObject(body) ? (body.message ?? body.Message) : undefined;
  if (status === 404)
    throw new AwsError(
      'ResourceNotFoundException',
      typeof said === 'string' ? said : `Function not found: ${name}`,
      404,
    );
  throw new AwsError('ServiceException', `PutFunctionConcurrency on moto failed with HTTP ${status}`, 500);
};

export const lambda: Emulator = {
  service: 'lambda',
  spec: SPEC,
  defaultScenario: DEFAULT_SCENARIO,
  matchDescription: 'the exact Lambda function name',
  supportsResult: false,
  operations: { PutFunctionConcurrency: putFunctionConcurrency },
  raw: { Invoke: invoke },
  // Invocations in flight are not forgotten: each ends on its own and frees its slot.
  reset: () => undefined,
};
