/**
 * Call log: every AWS request that reaches the gateway (owned or forwarded) is recorded, so tests
 * can assert "StartJobRun was called exactly once for my job" even across retries and restarts of
 * workers. Tests run in parallel jest workers against one gateway, so they filter by `resource`
 * (their unique job name / query id / bucket) rather than calling reset.
 */

export interface CallRecord {
  service: string;
  operation: string;
  /** Best effort: JobName for glue, QueryExecutionId for athena, bucket for s3. May be filled in after handling. */
  resource?: string;
  /** ISO-8601 timestamp of arrival. */
  at: string;
}

export interface CallFilter {
  service?: string;
  operation?: string;
  resource?: string;
}

/** Bound memory for long-running dev stacks; tests never get near it. */
const MAX_CALLS = 100_000;

let calls: CallRecord[] = [];

export function recordCall(service: string, operation: string, resource?: string): CallRecord {
  const call: CallRecord = { service, operation, at: new Date().toISOString() };
  if (resource !== undefined) call.resource = resource;
  calls.push(call);
  if (calls.length > MAX_CALLS) calls = calls.slice(calls.length - MAX_CALLS / 2);
  return call;
}

export function queryCalls(filter: CallFilter): CallRecord[] {
  return calls.filter(
    (c) =>
      (filter.service === undefined || c.service === filter.service) &&
      (filter.operation === undefined || c.operation === filter.operation) &&
      (filter.resource === undefined || c.resource === filter.resource),
  );
}

export function clearCalls(): void {
  calls = [];
}
