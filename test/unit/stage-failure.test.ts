/** How a stage attempt's failure is recorded (common/scheduling.ts: settleStageFailure), cancel windows included. */
import type { StageError, StageStateName } from '../../common/run-types';
import { settleStageFailure } from '../../common/scheduling';

const stopped: StageError = {
  message: 'Glue job jr_1 stopped on cancellation (STOPPED)',
  type: 'CancelledError',
  jobId: 'jr_1',
};
const sawStopped: StageError = { message: 'Glue job jr_1 ended STOPPED', type: 'JobStoppedError', jobId: 'jr_1' };
const failed: StageError = { message: 'Glue job jr_2 ended FAILED', type: 'JobFailedError', jobId: 'jr_2' };

test.each<{
  name: string;
  before: { state: StageStateName; error?: StageError; jobId?: string };
  error: StageError;
  how: { cancellation: boolean; cancelRequested: boolean; cleanup: boolean };
  state: 'failed' | 'cancelled';
  message: string;
  jobId: string;
}>([
  {
    name: 'a failure while the run runs fails the stage',
    before: { state: 'running' },
    error: failed,
    how: { cancellation: false, cancelRequested: false, cleanup: false },
    state: 'failed',
    message: failed.message,
    jobId: 'jr_2',
  },
  {
    name: "the attempt saw its job STOPPED after the cancel's sweep recorded the stop: the stop's words stay",
    before: { state: 'cancelled', error: { message: stopped.message, type: 'CancelledError' } },
    error: sawStopped,
    how: { cancellation: false, cancelRequested: true, cleanup: false },
    state: 'cancelled',
    message: stopped.message,
    jobId: 'jr_1',
  },
  {
    name: 'the sweep knew the job id: the attempt does not replace it',
    before: { state: 'cancelled', error: stopped, jobId: 'jr_1' },
    error: { ...sawStopped, jobId: 'jr_other' },
    how: { cancellation: false, cancelRequested: true, cleanup: false },
    state: 'cancelled',
    message: stopped.message,
    jobId: 'jr_1',
  },
  {
    name: 'the attempt saw STOPPED before the sweep: cancelled, with its own message (the sweep rewrites it)',
    before: { state: 'running' },
    error: sawStopped,
    how: { cancellation: false, cancelRequested: true, cleanup: false },
    state: 'cancelled',
    message: sawStopped.message,
    jobId: 'jr_1',
  },
  {
    name: 'the attempt reports its own cancellation',
    before: { state: 'running' },
    error: stopped,
    how: { cancellation: true, cancelRequested: true, cleanup: false },
    state: 'cancelled',
    message: stopped.message,
    jobId: 'jr_1',
  },
  {
    name: 'a cleanup stage failing after the cancel failed: the cancel did not stop it',
    before: { state: 'running' },
    error: failed,
    how: { cancellation: false, cancelRequested: true, cleanup: true },
    state: 'failed',
    message: failed.message,
    jobId: 'jr_2',
  },
])('$name', ({ before, error, how, state, message, jobId }) => {
  const status = { ...before };
  expect(settleStageFailure(status, error, how)).toBe(state);
  expect(status.state).toBe(state);
  expect(status.error?.message).toBe(message);
  expect(status.jobId).toBe(jobId);
});
