/**
 * Fault injection: make the next N requests of one operation fail (throttle / server error) or slow
 * down (latency), so retry and error-classification code paths can be tested against the real SDK.
 * `partial-failure` (Kinesis PutRecords, Firehose PutRecordBatch) refuses the first `records`
 * records of the call with a per-record error code, as AWS does under load (see streams.ts).
 * A latency fault with latencyMs 0 lets requests through unchanged: queued before another fault,
 * it lets that fault hit the (N+1)th request.
 * `access-denied` answers as AWS does when IAM refuses the call (AccessDeniedException for the
 * JSON protocols, `AccessDenied` in S3's XML), and `error` with any other error code AWS uses for a
 * request it refuses (ValidationException, EntityNotFoundException, NoSuchBucket...), so the
 * non-retryable side of the error classification is tested against the real SDK too.
 * A request consumes at most one fault (the oldest matching one).
 */

export type FaultKind = 'throttle' | 'server-error' | 'latency' | 'partial-failure' | 'access-denied' | 'error';

export interface Fault {
  service: string;
  /** Operation name (e.g. StartJobRun, PutObject) or '*' for every operation of the service. */
  operation: string;
  /** Only requests on this resource (JobName, bucket, QueryExecutionId...); any resource when absent. */
  resource?: string;
  kind: FaultKind;
  /** Requests left to affect; -1 = forever. */
  remaining: number;
  latencyMs: number;
  /** partial-failure: how many records (the first ones) of the call fail. */
  records?: number;
  /** partial-failure: the per-record ErrorCode (default: the service's throttling code); error: the error code (required). */
  errorCode?: string;
  /** access-denied / error: the error message (default: AWS's own wording for access denied). */
  message?: string;
  /** error: the HTTP status (default 400; 4xx only, as AWS answers a refused request). */
  status?: number;
}

const KINDS: readonly FaultKind[] = [
  'throttle',
  'server-error',
  'latency',
  'partial-failure',
  'access-denied',
  'error',
];
/** Operations a partial-failure fault applies to. */
const BATCH_PUTS = ['kinesis PutRecords', 'firehose PutRecordBatch'];
const DEFAULT_LATENCY_MS = 1000;

let faults: Fault[] = [];

/** Validates a POST /_sluice/faults body; returns the fault or an error message. */
export function parseFault(body: unknown): Fault | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object';
  const b = body as Record<string, unknown>;
  if (typeof b.service !== 'string' || b.service === '')
    return 'service must be a non-empty string (e.g. "glue", "athena", "s3")';
  if (typeof b.operation !== 'string' || b.operation === '')
    return 'operation must be a non-empty string (e.g. "StartJobRun", or "*")';
  if (typeof b.kind !== 'string' || !KINDS.includes(b.kind as FaultKind))
    return `kind must be one of ${KINDS.join(', ')}`;
  const times = b.times ?? 1;
  if (typeof times !== 'number' || !Number.isInteger(times) || (times < 1 && times !== -1)) {
    return 'times must be a positive integer, or -1 for forever';
  }
  const latencyMs = b.latencyMs ?? DEFAULT_LATENCY_MS;
  if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0)
    return 'latencyMs must be a number >= 0';
  if (b.resource !== undefined && (typeof b.resource !== 'string' || b.resource === ''))
    return 'resource, when given, must be a non-empty string';
  if (b.kind === 'partial-failure') {
    if (!BATCH_PUTS.includes(`${b.service} ${b.operation}`))
      return `partial-failure applies to ${BATCH_PUTS.join(' or ')}`;
    if (typeof b.records !== 'number' || !Number.isInteger(b.records) || b.records < 1)
      return 'records (how many records of the call fail, the first ones) must be a positive integer';
    if (b.errorCode !== undefined && (typeof b.errorCode !== 'string' || b.errorCode === ''))
      return 'errorCode, when given, must be a non-empty string';
  }
  if (b.kind === 'error') {
    if (typeof b.errorCode !== 'string' || !/^[A-Za-z][A-Za-z0-9.]*$/.test(b.errorCode))
      return 'errorCode (the AWS error code, e.g. "ValidationException") must be a non-empty string of letters and digits';
    if (
      b.status !== undefined &&
      (typeof b.status !== 'number' || !Number.isInteger(b.status) || b.status < 400 || b.status > 499)
    )
      return 'status, when given, must be a 4xx HTTP status (a refused request; use server-error for 5xx)';
  }
  if (
    (b.kind === 'error' || b.kind === 'access-denied') &&
    b.message !== undefined &&
    (typeof b.message !== 'string' || b.message === '')
  )
    return 'message, when given, must be a non-empty string';
  return {
    ...(b.kind === 'partial-failure'
      ? { records: b.records as number, ...(typeof b.errorCode === 'string' ? { errorCode: b.errorCode } : {}) }
      : {}),
    ...(b.kind === 'error'
      ? { errorCode: b.errorCode as string, status: (b.status as number | undefined) ?? 400 }
      : {}),
    ...((b.kind === 'error' || b.kind === 'access-denied') && typeof b.message === 'string'
      ? { message: b.message }
      : {}),
    service: b.service,
    operation: b.operation,
    ...(typeof b.resource === 'string' ? { resource: b.resource } : {}),
    kind: b.kind as FaultKind,
    remaining: times,
    latencyMs,
  };
}

export function addFault(fault: Fault): void {
  faults.push(fault);
}

/** Consumes one use of the first fault matching this request, if any. */
export function takeFault(service: string, operation: string, resource: string | undefined): Fault | undefined {
  const fault = faults.find(
    (f) =>
      f.service === service &&
      (f.operation === operation || f.operation === '*') &&
      (f.resource === undefined || f.resource === resource),
  );
  if (fault === undefined) return undefined;
  if (fault.remaining > 0 && --fault.remaining === 0) faults = faults.filter((f) => f !== fault);
  return fault;
}

export function listFaults(): readonly Fault[] {
  return faults;
}

export function clearFaults(): void {
  faults = [];
}
