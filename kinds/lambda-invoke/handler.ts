/**
 * `lambda.invoke`: Lambda Invoke with InvocationType RequestResponse; the stage waits for the
 * function's answer. `params` is the Invoke request (FunctionName, Payload, Qualifier, LogType,
 * ClientContext); a `Payload` object is sent as JSON.
 *
 * Outcomes: a FunctionError (the function threw, timed out or ran out of memory) fails the stage,
 * non-retryable, with the function's errorType and errorMessage; throttling
 * (TooManyRequestsException) and 5xx are retried by the stage's retry policy.
 *
 * Idempotency: Invoke has no client token, so a retry after a lost answer (a crash, a timeout, a
 * 5xx) can run the function again: at-least-once. Sluice passes the stage's idempotency key to the
 * function in its client context, under `custom.sluiceIdempotencyKey` (Python:
 * `context.client_context.custom['sluiceIdempotencyKey']`), so a function whose effect must happen
 * once can deduplicate on it.
 */
import { lambdaFunctionName } from './kind';
import {
  GetAccountSettingsCommand,
  GetFunctionConcurrencyCommand,
  InvokeCommand,
  type InvokeCommandInput,
} from '@aws-sdk/client-lambda';
import type { StageUsage } from '../../common/run-types';
import { ApplicationFailure } from '@temporalio/activity';
import { ERROR_TYPES } from '../../common/constants';
import { stageInputFailure } from '../../activities/errors';
import type { ImmediateHandler } from '../../activities/stage-handler';

/** The response payload kept in the stage result (which lives in the workflow history): small. */
export const PAYLOAD_OUTPUT_LIMIT = 2048;
/** Lambda's own limit on the decoded ClientContext JSON. */
const CLIENT_CONTEXT_LIMIT = 3583;
export const LAMBDA_KEY_FIELD = 'sluiceIdempotencyKey';

/** `Payload` as bytes: a string is sent as is, anything else as JSON. */
export function encodePayload(payload: unknown): Uint8Array | undefined {
  if (payload === undefined || payload === null) return undefined;
  return Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload), 'utf8');
}

/**
 * The ClientContext to send: the user's own (base64 JSON, as AWS takes it) with the idempotency key
 * added under `custom`. A user ClientContext that is not base64 JSON is sent unchanged.
 */
export function clientContextWithKey(userContext: unknown, key: string): string | undefined {
  let ctx: Record<string, unknown> = {};
  if (typeof userContext === 'string' && userContext !== '') {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(userContext, 'base64').toString('utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return userContext;
      ctx = parsed as Record<string, unknown>;
    } catch {
      return userContext;
    }
  }
  const custom = ctx.custom !== null && typeof ctx.custom === 'object' ? (ctx.custom as Record<string, unknown>) : {};
  const json = JSON.stringify({ ...ctx, custom: { ...custom, [LAMBDA_KEY_FIELD]: key } });
  if (Buffer.byteLength(json) > CLIENT_CONTEXT_LIMIT) return typeof userContext === 'string' ? userContext : undefined;
  return Buffer.from(json, 'utf8').toString('base64');
}

/** The response payload for the stage result: parsed JSON when it is JSON, cut to a small size either way. */
export function payloadOutput(bytes: Uint8Array | undefined): {
  payload?: unknown;
  payloadBytes: number;
  payloadTruncated?: true;
} {
  if (!bytes || bytes.length === 0) return { payloadBytes: 0 };
  const text = Buffer.from(bytes).toString('utf8');
  if (bytes.length > PAYLOAD_OUTPUT_LIMIT)
    return { payload: text.slice(0, PAYLOAD_OUTPUT_LIMIT), payloadBytes: bytes.length, payloadTruncated: true };
  try {
    return { payload: JSON.parse(text) as unknown, payloadBytes: bytes.length };
  } catch {
    return { payload: text, payloadBytes: bytes.length };
  }
}

/** errorType / errorMessage of a FunctionError payload (Node.js, Python, Java... all use these names). */
export function functionErrorOf(bytes: Uint8Array | undefined): { errorType?: string; errorMessage: string } {
  const text = bytes ? Buffer.from(bytes).toString('utf8') : '';
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const p = parsed as Record<string, unknown>;
      const errorMessage = typeof p.errorMessage === 'string' ? p.errorMessage : text;
      return typeof p.errorType === 'string' ? { errorType: p.errorType, errorMessage } : { errorMessage };
    }
    if (typeof parsed === 'string') return { errorMessage: parsed };
  } catch {
    // not JSON: keep the text
  }
  return { errorMessage: text.slice(0, PAYLOAD_OUTPUT_LIMIT) || '(no error payload)' };
}

/** A Lambda invocation's usage from its log tail's REPORT line (base64, as Invoke returns LogResult). */
export function lambdaUsage(logResult: string | undefined): StageUsage | undefined {
  if (!logResult) return undefined;
  const tail = Buffer.from(logResult, 'base64').toString('utf8');
  const report = tail.split('\n').find((l) => l.startsWith('REPORT '));
  const billed = report && /Billed Duration: (\d+(?:\.\d+)?) ms/.exec(report);
  const memory = report && /Memory Size: (\d+) MB/.exec(report);
  if (!billed || !memory) return undefined;
  const billedMs = Number(billed[1]);
  const memoryMB = Number(memory[1]);
  return { lambda: { billedMs, memoryMB }, basis: `Billed Duration ${billedMs} ms × ${memoryMB} MB` };
}

export const lambdaInvoke: ImmediateHandler = {
  kind: 'lambda.invoke',
  mode: 'immediate',
  service: 'Lambda',
  // Reserved concurrency reached, the account's concurrency reached, or invocations too fast.
  capacityErrors: ['TooManyRequestsException'],
  async capacity(ctx) {
    const FunctionName = lambdaFunctionName(String(ctx.params.FunctionName));
    const out = await ctx.clients.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName }));
    if (out.ReservedConcurrentExecutions !== undefined && out.ReservedConcurrentExecutions > 0)
      return {
        slots: out.ReservedConcurrentExecutions,
        source: 'Lambda GetFunctionConcurrency ReservedConcurrentExecutions',
      };
    try {
      const account = await ctx.clients.lambda.send(new GetAccountSettingsCommand({}));
      const unreserved = account.AccountLimit?.UnreservedConcurrentExecutions;
      if (unreserved !== undefined && unreserved > 0)
        return { slots: unreserved, source: 'Lambda GetAccountSettings UnreservedConcurrentExecutions' };
    } catch {
      // Not allowed or not answered (an older role, a local endpoint): Lambda's default account concurrency.
    }
    return { slots: 1000, source: "Lambda's default account concurrency (1000)" };
  },
  async run(ctx) {
    const { Payload, ClientContext, ...rest } = ctx.params;
    if (typeof rest.FunctionName !== 'string' || rest.FunctionName === '') {
      throw stageInputFailure(
        `stage ${ctx.stageId}: lambda.invoke needs params.FunctionName (received ${JSON.stringify(rest.FunctionName)})`,
      );
    }
    const clientContext = clientContextWithKey(ClientContext, ctx.idempotencyKey);
    const payload = encodePayload(Payload);
    const input: InvokeCommandInput = {
      // Tail: the answer carries the log tail, whose REPORT line gives the billed duration (usage).
      LogType: 'Tail',
      ...(rest as unknown as InvokeCommandInput),
      InvocationType: 'RequestResponse',
      ...(payload ? { Payload: payload } : {}),
      ...(clientContext ? { ClientContext: clientContext } : {}),
    };
    const out = await ctx.clients.lambda.send(new InvokeCommand(input));
    const fn = input.FunctionName as string;
    const requestId = out.$metadata.requestId;
    if (out.FunctionError) {
      const { errorType, errorMessage } = functionErrorOf(out.Payload);
      const what = errorType ? `${errorType}: ${errorMessage}` : errorMessage;
      throw ApplicationFailure.create({
        message: `Lambda function ${fn} failed (${out.FunctionError}): ${what}`,
        type: ERROR_TYPES.jobFailed,
        nonRetryable: true,
        details: [
          {
            service: 'Lambda',
            functionName: fn,
            functionError: out.FunctionError,
            errorType: errorType ?? null,
            awsMessage: errorMessage,
            requestId: requestId ?? null,
          },
        ],
      });
    }
    const result = payloadOutput(out.Payload);
    // Only the REPORT line's figures are kept: the log tail itself may hold the function's data.
    const usage = lambdaUsage(out.LogResult);
    return {
      ...(usage ? { usage } : {}),
      summary: `invoked ${fn}${out.ExecutedVersion ? ` (version ${out.ExecutedVersion})` : ''}: status ${out.StatusCode}, ${result.payloadBytes} bytes returned`,
      output: {
        functionName: fn,
        StatusCode: out.StatusCode,
        ...(out.ExecutedVersion ? { ExecutedVersion: out.ExecutedVersion } : {}),
        ...result,
        ...(requestId ? { requestId } : {}),
      },
    };
  },
};
