/**
 * The one place that looks at raw AWS SDK errors and decides what they mean for a stage.
 *
 * - Transient (throttling, 5xx, network, timeouts, concurrent-run limits): {@link ERROR_TYPES.awsTransient},
 *   retryable, so the stage's retry policy backs off and tries again (reattaching, never starting twice).
 * - Everything else AWS refuses (validation, access denied, not found): {@link ERROR_TYPES.awsRequest},
 *   non-retryable: the pipeline or the permissions must change first.
 * - A job that ends badly is not an SDK error: see {@link jobEndedFailure}.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { ERROR_TYPES } from '../common/constants';

/** AWS error codes that mean "try again later", across services. */
const TRANSIENT_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'ProvisionedThroughputExceededException',
  'ConcurrentRunsExceededException',
  'ConcurrentModificationException',
  'InternalServiceException',
  'InternalServerException',
  'InternalServerError',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'OperationTimeoutException',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ECONNABORTED',
]);

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

export interface AwsCall {
  /** e.g. "Glue". */
  service: string;
  /** e.g. "StartJobRun". */
  operation: string;
  jobId?: string;
}

export function isTransientAwsError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  const e = err as SdkLikeError;
  const status = e.$metadata?.httpStatusCode;
  if (e.name && TRANSIENT_CODES.has(e.name)) return true;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  if (e.$retryable) return true;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (e.$fault === 'server') return true;
  // No HTTP answer at all: the connection broke before AWS replied.
  if (status === undefined && /socket hang up|network|ECONNRESET|ECONNREFUSED/i.test(e.message ?? '')) return true;
  return false;
}

/** Turns an SDK error into the ApplicationFailure the stage should fail with. Keeps AWS's message. */
export function awsFailure(err: unknown, call: AwsCall): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = (err ?? {}) as SdkLikeError;
  const code = e.name ?? 'Error';
  const awsMessage = e.message ?? String(err);
  const details = {
    service: call.service,
    operation: call.operation,
    code,
    awsMessage,
    ...(call.jobId ? { jobId: call.jobId } : {}),
    ...(e.$metadata?.httpStatusCode ? { httpStatus: e.$metadata.httpStatusCode } : {}),
    ...(e.$metadata?.requestId ? { requestId: e.$metadata.requestId } : {}),
  };
  const message = `${call.service} ${call.operation} failed: ${code}: ${awsMessage}`;
  const cause = err instanceof Error ? err : undefined;
  return isTransientAwsError(err)
    ? ApplicationFailure.create({ message, type: ERROR_TYPES.awsTransient, details: [details], cause })
    : ApplicationFailure.create({
        message,
        type: ERROR_TYPES.awsRequest,
        nonRetryable: true,
        details: [details],
        cause,
      });
}

/** Runs one AWS call, converting its errors with {@link awsFailure}. */
export async function awsCall<T>(call: AwsCall, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // A stage cancelled between two calls of a many-call kind (s3.copy, kinesis.put) is cancelled, not an AWS error.
    if (err instanceof CancelledFailure) throw err;
    throw awsFailure(err, call);
  }
}

/**
 * A job that ended without succeeding. One mapping for every service: FAILED and TIMEOUT are
 * {@link ERROR_TYPES.jobFailed}; STOPPED / CANCELLED (not asked by Sluice) is {@link ERROR_TYPES.jobStopped}.
 * Both non-retryable, both carry the job id and AWS's message.
 */
export function jobEndedFailure(
  how: 'failed' | 'stopped' | 'timeout',
  info: { service: string; jobId: string; awsState: string; message?: string },
): ApplicationFailure {
  const reason = info.message ? `: ${info.message}` : '';
  return ApplicationFailure.create({
    message: `${info.service} job ${info.jobId} ended ${info.awsState}${reason}`,
    type: how === 'stopped' ? ERROR_TYPES.jobStopped : ERROR_TYPES.jobFailed,
    nonRetryable: true,
    details: [{ service: info.service, jobId: info.jobId, awsState: info.awsState, awsMessage: info.message ?? null }],
  });
}

/** A problem with the stage's input that only shows on the worker (e.g. a BodyFile it cannot read). */
export function stageInputFailure(message: string, cause?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type: ERROR_TYPES.stageInput,
    nonRetryable: true,
    cause: cause instanceof Error ? cause : undefined,
  });
}
