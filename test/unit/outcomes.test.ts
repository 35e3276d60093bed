/** The one failure → outcome mapping used by the backfill, awaitRun and the CLI. */
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  RetryState,
  TerminatedFailure,
} from '@temporalio/common';
import { datesDone } from '../../common/backfill-types';
import { failureOutcome } from '../../common/outcomes';

const child = (cause: Error) =>
  new ChildWorkflowFailure(
    'default',
    { workflowId: 'p/2024-03-01', runId: 'r' },
    'runPipeline',
    RetryState.NON_RETRYABLE_FAILURE,
    cause,
  );
const stageFailed = () =>
  ApplicationFailure.create({
    message: 'Stage "t" (glue.job) failed: boom',
    type: 'StageFailedError',
    nonRetryable: true,
    details: [{ stage: 't', kind: 'glue.job', failedStages: [] }],
  });

test.each([
  [
    'a cancelled child',
    child(new CancelledFailure('Workflow canceled')),
    { ok: false, cancelled: true, message: 'the run was cancelled' },
  ],
  [
    'a cancelled run seen by a client',
    new CancelledFailure('run p/2024-03-01 cancelled'),
    { ok: false, cancelled: true, message: 'the run was cancelled' },
  ],
  [
    'a cancelled wait (activity)',
    new ActivityFailure(
      'cancelled',
      'awaitRun',
      '3',
      RetryState.CANCEL_REQUESTED,
      'w',
      new CancelledFailure('CANCELLED'),
    ),
    { ok: false, cancelled: true, message: 'the run was cancelled' },
  ],
  [
    'a failed child naming its stage',
    child(stageFailed()),
    { ok: false, cancelled: false, message: 'Stage "t" (glue.job) failed: boom', stage: 't', kind: 'glue.job' },
  ],
  [
    'a failed run seen by a client',
    stageFailed(),
    { ok: false, cancelled: false, message: 'Stage "t" (glue.job) failed: boom', stage: 't', kind: 'glue.job' },
  ],
  [
    'an activity failure: its cause speaks',
    new ActivityFailure(
      'activity failed',
      'x',
      '1',
      RetryState.MAXIMUM_ATTEMPTS_REACHED,
      'w',
      ApplicationFailure.create({ message: 'AccessDenied' }),
    ),
    { ok: false, cancelled: false, message: 'AccessDenied' },
  ],
  [
    'a terminated child',
    child(new TerminatedFailure('Workflow execution terminated')),
    { ok: false, cancelled: false, message: 'Workflow execution terminated' },
  ],
  ['anything else', 'weird', { ok: false, cancelled: false, message: 'weird' }],
])('%s', (_name, failure, expected) => {
  expect(failureOutcome(failure)).toEqual(expected);
});

test('dates done: everything that needs nothing more', () => {
  expect(datesDone({ pending: 4, running: 2, succeeded: 3, failed: 1, skipped: 5, cancelled: 2 })).toBe(11);
});
