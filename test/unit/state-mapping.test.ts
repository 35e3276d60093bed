import { ApplicationFailure } from '@temporalio/common';
import { ERROR_TYPES } from '../../common/constants';
import { awsFailure, isTransientAwsError, jobEndedFailure } from '../../activities/errors';
import { mapAthenaState, athenaClientToken } from '../../kinds/athena-query/handler';
import { mapEmrClusterState } from '../../kinds/emr-cluster/handler';
import { mapGlueState } from '../../kinds/glue-job/handler';
import { nextPollDelayMs, pollBounds } from '../../activities/polling';

describe('one mapping of terminal states for every service', () => {
  test.each([
    ['STARTING', 'running'],
    ['RUNNING', 'running'],
    ['STOPPING', 'running'],
    ['SUCCEEDED', 'succeeded'],
    ['FAILED', 'failed'],
    ['ERROR', 'failed'],
    ['TIMEOUT', 'timeout'],
    ['STOPPED', 'stopped'],
  ] as const)('Glue %s → %s', (aws, ours) => {
    expect(mapGlueState({ JobRunState: aws, ErrorMessage: 'boom' }).state).toBe(ours);
  });

  test.each([
    ['QUEUED', 'running'],
    ['RUNNING', 'running'],
    ['SUCCEEDED', 'succeeded'],
    ['FAILED', 'failed'],
    ['CANCELLED', 'stopped'],
  ] as const)('Athena %s → %s', (aws, ours) => {
    expect(mapAthenaState({ State: aws }).state).toBe(ours);
  });

  test.each([
    ['STARTING', 'running'],
    ['BOOTSTRAPPING', 'running'],
    ['WAITING', 'succeeded'],
    ['RUNNING', 'succeeded'],
    ['TERMINATING', 'running'],
    ['TERMINATED_WITH_ERRORS', 'failed'],
  ] as const)('EMR cluster (emr.cluster) %s → %s', (aws, ours) => {
    expect(mapEmrClusterState({ State: aws }).state).toBe(ours);
  });

  test('failed keeps AWS’s message; a stopped job is a non-retryable failure, never a success', () => {
    expect(mapGlueState({ JobRunState: 'FAILED', ErrorMessage: 'Table not found' })).toEqual({
      state: 'failed',
      awsState: 'FAILED',
      message: 'Table not found',
    });
    const stopped = jobEndedFailure('stopped', { service: 'Glue', jobId: 'jr_1', awsState: 'STOPPED' });
    expect(stopped.type).toBe(ERROR_TYPES.jobStopped);
    expect(stopped.nonRetryable).toBe(true);
    const failed = jobEndedFailure('failed', {
      service: 'Glue',
      jobId: 'jr_1',
      awsState: 'FAILED',
      message: 'Table not found',
    });
    expect(failed.message).toBe('Glue job jr_1 ended FAILED: Table not found');
    expect(failed.type).toBe(ERROR_TYPES.jobFailed);
    expect(failed.nonRetryable).toBe(true);
  });

  test('Athena token: stable, within 32-128 characters', () => {
    const t = athenaClientToken('sales/2024-03-01/report/g0');
    expect(t).toBe(athenaClientToken('sales/2024-03-01/report/g0'));
    expect(t).not.toBe(athenaClientToken('sales/2024-03-01/report/g1'));
    expect(t.length).toBeGreaterThanOrEqual(32);
    expect(t.length).toBeLessThanOrEqual(128);
  });
});

describe('AWS errors are classified once', () => {
  const sdkError = (name: string, status: number, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status }, ...extra });

  test.each([
    ['ThrottlingException', 400],
    ['ConcurrentRunsExceededException', 400],
    ['InternalServiceException', 500],
    ['SlowDown', 503],
  ])('%s is retryable', (name, status) => {
    const f = awsFailure(sdkError(name, status), { service: 'Glue', operation: 'StartJobRun' });
    expect(isTransientAwsError(sdkError(name, status))).toBe(true);
    expect(f.type).toBe(ERROR_TYPES.awsTransient);
    expect(f.nonRetryable).toBe(false);
  });

  test.each([
    ['AccessDeniedException', 400],
    ['EntityNotFoundException', 400],
    ['ValidationException', 400],
    ['InvalidRequestException', 400],
  ])('%s is not retryable and keeps AWS’s message', (name, status) => {
    const f = awsFailure(sdkError(name, status), { service: 'Glue', operation: 'StartJobRun', jobId: 'jr_9' });
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.type).toBe(ERROR_TYPES.awsRequest);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe(`Glue StartJobRun failed: ${name}: ${name} happened`);
    expect(f.details?.[0]).toMatchObject({ code: name, jobId: 'jr_9' });
  });

  test('a refused connection is transient', () => {
    expect(
      isTransientAwsError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' })),
    ).toBe(true);
  });
});

describe('adaptive polling', () => {
  test('starts at the initial bound, grows with age, stops at the max', () => {
    const b = pollBounds();
    expect(nextPollDelayMs(0, b)).toBe(2_000);
    expect(nextPollDelayMs(60_000, b)).toBe(12_000);
    expect(nextPollDelayMs(3_600_000, b)).toBe(120_000);
    expect(pollBounds({ initial: '200ms', max: '1s' })).toEqual({ initialMs: 200, maxMs: 1000 });
  });

  test('a one-hour job costs about fifty status calls with the defaults', () => {
    const b = pollBounds();
    let t = 0;
    let calls = 0;
    while (t < 3_600_000) {
      calls++;
      t += nextPollDelayMs(t, b);
    }
    expect(calls).toBeGreaterThan(30);
    expect(calls).toBeLessThan(70);
  });
});
