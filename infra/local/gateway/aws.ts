/**
 * Shared AWS-protocol pieces for the emulated (owned) operations: the emulator table entry type,
 * typed service errors, and the small moto client used to read resource definitions that moto owns
 * (a Glue job's MaxConcurrentRuns, an Athena workgroup's output location).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { CallRecord } from './calls.js';
import type { LifecycleSpec, Scenario } from './lifecycle.js';

export type JsonObject = Record<string, unknown>;

/** A modeled AWS error. Serialised as awsJson: HTTP 400 + {"__type","Message"} + x-amzn-ErrorType. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Extra modeled members, e.g. Athena's AthenaErrorCode. */
    readonly fields: JsonObject = {},
  ) {
    super(message);
  }
}

export interface MotoJsonResponse {
  status: number;
  body: unknown;
}

export interface Moto {
  /** Calls an awsJson operation on moto, e.g. target "AWSGlue.GetJob". */
  json(
    target: string,
    input: JsonObject,
    headers: IncomingHttpHeaders,
    contentType?: string,
  ): Promise<MotoJsonResponse>;
  /** Calls a REST-JSON operation on moto, e.g. GET /jobs/<name> (DataBrew DescribeJob). */
  rest(
    method: string,
    path: string,
    input: JsonObject | undefined,
    headers: IncomingHttpHeaders,
  ): Promise<MotoJsonResponse>;
}

export interface HandlerContext {
  now: number;
  moto: Moto;
  /** The original request headers (moto reads the region from the Authorization credential scope). */
  headers: IncomingHttpHeaders;
  /** The call-log entry for this request; handlers may fill in `resource` (e.g. a new QueryExecutionId). */
  call: CallRecord;
  /** REST-JSON query string (e.g. maxResults, nextToken); empty for awsJson. Path labels are merged into the input. */
  query: URLSearchParams;
}

export type Handler = (input: JsonObject, ctx: HandlerContext) => Promise<JsonObject>;

/**
 * A service API the gateway answers that has no job lifecycle (Service Quotas): operations by
 * X-Amz-Target (`${targetPrefix}.${op}`), everything else of the service forwarded to moto.
 */
export interface ApiEmulator {
  service: string;
  targetPrefix: string;
  operations: Record<string, Handler>;
  /** Forget its state (POST /_sluice/reset). */
  reset(): void;
}

/**
 * One table entry per emulated service. Requests whose X-Amz-Target is `${targetPrefix}.${op}` with
 * `op` in `operations` are answered here; every other operation of the service goes to moto.
 * REST-JSON services (DataBrew, EMR Serverless) have no targetPrefix: classify.ts names their
 * operations from method + path (REST_OPERATIONS), and `service` must be the classified service.
 * Several emulators may share a targetPrefix (Glue job runs and Glue crawls) as long as their
 * operations differ.
 */
export interface Emulator {
  service: string;
  targetPrefix?: string;
  spec: LifecycleSpec;
  /** Used when no scenario matches. */
  defaultScenario: Scenario;
  /** How a scenario's `match` selects runs, described for error messages/docs. */
  matchDescription: string;
  /** Whether scenarios may carry a `result` table. */
  supportsResult: boolean;
  operations: Record<string, Handler>;
  /**
   * Operations whose request or answer is not a JSON document (Lambda Invoke: raw payload bytes in,
   * payload + X-Amz-Function-Error out), by classified operation name. A raw handler answers with a
   * {@link RawReply}, or undefined to let moto answer.
   */
  raw?: Record<string, RawHandler>;
  /** Forget all runs (POST /_sluice/reset). */
  reset(): void;
}

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type RawHandler = (
  request: { body: Buffer; query: URLSearchParams; pathParams: Record<string, string> },
  ctx: HandlerContext,
) => Promise<RawReply | undefined>;

// ---- input helpers: AWS validates inputs and answers with a typed error, so do we.

export function requireString(input: JsonObject, key: string, errorCode: string): string {
  const v = input[key];
  if (typeof v !== 'string' || v === '')
    throw new AwsError(errorCode, `${key} is required and must be a non-empty string`);
  return v;
}

export function optionalString(input: JsonObject, key: string, errorCode: string): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AwsError(errorCode, `${key} must be a string`);
  return v;
}

export function optionalObject(input: JsonObject, key: string, errorCode: string): JsonObject | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new AwsError(errorCode, `${key} must be an object`);
  return v as JsonObject;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON protocols carry timestamps as epoch seconds (fractional allowed). */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}

/**
 * Opaque pagination. Tokens encode the offset plus a tag so a token from one listing is not
 * silently accepted by another.
 */
export function encodeToken(tag: string, offset: number): string {
  return Buffer.from(JSON.stringify({ t: tag, o: offset })).toString('base64url');
}

export function decodeToken(token: string | undefined, tag: string, errorCode: string): number {
  if (token === undefined) return 0;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (isObject(parsed) && parsed.t === tag && typeof parsed.o === 'number' && parsed.o >= 0) return parsed.o;
  } catch {
    // fall through
  }
  throw new AwsError(errorCode, 'Invalid NextToken');
}

/**
 * One page of `items` behind an opaque token: the page, and the token of the next page (absent on
 * the last one). The tag binds a token to its listing, so a token from another listing is refused.
 */
export function takePage<T>(
  items: readonly T[],
  token: string | undefined,
  size: number,
  tag: string,
  errorCode: string,
): { page: T[]; next?: string } {
  const offset = decodeToken(token, tag, errorCode);
  const end = offset + size;
  return { page: items.slice(offset, end), ...(end < items.length ? { next: encodeToken(tag, end) } : {}) };
}

export function pageSize(input: JsonObject, def: number, max: number, errorCode: string): number {
  return pageSizeOf(input.MaxResults, def, max, errorCode);
}

/** A page size from a JSON body field or a REST query parameter (`maxResults=20`). */
export function pageSizeOf(value: unknown, def: number, max: number, errorCode: string, name = 'MaxResults'): number {
  if (value === undefined || value === null) return def;
  const v = typeof value === 'string' ? Number(value) : value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new AwsError(errorCode, `${name} must be an integer between 1 and ${max}`);
  }
  return v;
}
