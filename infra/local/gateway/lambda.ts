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
 */
import { randomUUID } from 'node:crypto';
import { AwsError, isObject, type Emulator, type HandlerContext, type RawHandler, type RawReply } from './aws.js';
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
};

export const lambda: Emulator = {
  service: 'lambda',
  spec: SPEC,
  defaultScenario: DEFAULT_SCENARIO,
  matchDescription: 'the exact Lambda function name',
  supportsResult: false,
  operations: {},
  raw: { Invoke: invoke },
  reset: () => undefined,
};
