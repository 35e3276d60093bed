/**
 * A date's run as a state machine (common/run-machine.ts), without Temporal: each case plays the
 * events the workflow shell feeds it — stages started, ended, failed, a cancel, what the stops found —
 * and checks what the run decides and how it ends, the awkward windows included.
 */
import { ERROR_TYPES } from '../../common/constants';
import { definePipeline, type PipelineDefinition } from '../../common/pipeline';
import { PRIORITY } from '../../common/pools';
import * as m from '../../common/run-machine';
import type { StopOutcome } from '../../common/run-types';
import { templateContext, TemplateError } from '../../common/templating';

const T0 = '2024-03-02T00:00:00.000Z';
const T1 = '2024-03-02T00:05:00.000Z';

function pipeline(stages: PipelineDefinition['stages']): PipelineDefinition {
  return definePipeline({ name: 'sales', stages });
}
const job = (id: string, more: Partial<PipelineDefinition['stages'][number]> = {}) => ({
  id,
  kind: 'glue.job' as const,
  params: { JobName: id },
  dependsOn: [] as string[],
  ...more,
});

/** Two stages in a row, with an all_done cleanup after the second. */
const WITH_CLEANUP = pipeline([
  job('cluster'),
  job('step', { dependsOn: ['cluster'] }),
  job('terminate', { dependsOn: ['step'], trigger: 'all_done' }),
]);
/** Two stages of one pool, then one after both. */
const POOLED = pipeline([job('a', { pool: 'p' }), job('b', { pool: 'p' }), job('c', { dependsOn: ['a', 'b'] })]);

function newRun(p: PipelineDefinition, keyScope?: string): m.DateRunState {
  return m.newDateRun(p, { ds: '2024-03-01', generation: 0, params: {}, ...(keyScope ? { keyScope } : {}) });
}
/** The shell's schedule: what starts now is started (its params as defined). */
function schedule(s: m.DateRunState): string[] {
  const start = m.schedule(s, m.renderContextOf(s, templateContext('sales', '2024-03-01')), T0);
  for (const id of start) m.stageStarted(s, id, m.stageDef(s, id).params, T0);
  return start;
}
const states = (s: m.DateRunState) => Object.fromEntries(s.run.stages.map((st) => [st.id, st.state]));
const ok = (s: m.DateRunState, id: string) => m.stageSucceeded(s, id, { summary: `${id} ok`, jobId: `jr_${id}` });
const jobFailed = { message: 'Glue job FAILED', type: ERROR_TYPES.jobFailed, jobId: 'jr_x' };
const cancelled = { message: 'cancelled', type: 'CancelledError' };
const stopped = (stageId: string, result: StopOutcome['result'] = 'stopped'): StopOutcome => ({
  stageId,
  result,
  message: result === 'none' ? 'no job had been started' : 'stopped',
  ...(result === 'none' ? {} : { jobId: `jr_${stageId}` }),
});

describe('a run that goes its way', () => {
  test('stages start in dependency order; the run succeeds', () => {
    const s = newRun(WITH_CLEANUP);
    expect(schedule(s)).toEqual(['cluster']);
    ok(s, 'cluster');
    expect(schedule(s)).toEqual(['step']);
    ok(s, 'step');
    expect(schedule(s)).toEqual(['terminate']);
    ok(s, 'terminate');
    expect(schedule(s)).toEqual([]);
    expect(m.endRun(s, undefined)).toEqual({ status: 'succeeded', run: s.run });
    expect(s.run.status).toBe('succeeded');
  });

  test('a failure: no new stage starts but the cleanup; the run fails naming the first failure', () => {
    const s = newRun(WITH_CLEANUP);
    schedule(s);
    expect(m.stageFailed(s, 'cluster', { error: jobFailed, cancellation: false })).toBe('failed');
    expect(schedule(s)).toEqual(['terminate']);
    expect(states(s)).toMatchObject({ step: 'skipped', terminate: 'running' });
    expect(s.run.stages[1]?.reason).toBe('not started: another stage failed');
    // The cleanup fails too: the run still names the first failure, and lists both.
    m.stageFailed(s, 'terminate', {
      error: { message: 'AccessDenied', type: ERROR_TYPES.awsRequest },
      cancellation: false,
    });
    const end = m.endRun(s, undefined);
    expect(end).toMatchObject({ status: 'failed', message: 'Stage "cluster" (glue.job) failed: Glue job FAILED' });
    expect(end.status === 'failed' && end.details.failedStages).toEqual([
      { id: 'cluster', kind: 'glue.job', ...jobFailed },
      { id: 'terminate', kind: 'glue.job', message: 'AccessDenied', type: ERROR_TYPES.awsRequest },
    ]);
  });
});

describe('launch: params or a forEach source that cannot be rendered', () => {
  test.each([
    ['a cleanup stage reading an output never produced: nothing to clean up', 'terminate', 'cluster', 'skipped'],
    ['a stage reading an output never produced: fails without running', 'step', 'cluster', 'failed'],
    ['a bad template that is not about a missing output: fails', 'terminate', undefined, 'failed'],
  ] as const)('%s', (_name, id, missing, state) => {
    const s = newRun(WITH_CLEANUP);
    m.launchFailed(s, id, new TemplateError('stage "cluster" has no output', missing), 'params: ', T0);
    const st = m.statusOf(s, id);
    expect(st.state).toBe(state);
    if (state === 'skipped') expect(st.reason).toBe('nothing to clean up: stage "cluster" has no output');
    else {
      expect(st.error).toEqual({ message: 'params: stage "cluster" has no output', type: ERROR_TYPES.stageInput });
      expect(s.firstFailure).toBe(id);
    }
  });
});

describe('cancel windows', () => {
  test('cancelled between attempts: found by its key, settled by its own cancellation', () => {
    const s = newRun(WITH_CLEANUP);
    schedule(s);
    ok(s, 'cluster');
    schedule(s); // step's first attempt failed, its next waits for its retry: running, no job id
    s.cancelRequested = true;
    const targets = m.sweepTargets(s);
    expect(targets).toEqual([
      {
        stageId: 'step',
        kind: 'glue.job',
        params: { JobName: 'step' },
        rendered: true,
        idempotencyKey: 'sales/2024-03-01/step/g0',
        scheduledAtMs: Date.parse(T0),
      },
    ]);
    const outcomes = [stopped('step', 'none')];
    expect(m.sweepWaits(s, outcomes)).toEqual(['step']);
    expect(m.stageFailed(s, 'step', { error: cancelled, cancellation: true })).toBe('cancelled');
    m.sweepDone(s, outcomes, T1);
    expect(m.statusOf(s, 'step')).toMatchObject({ state: 'cancelled', error: cancelled });
    // The cleanup still runs after the cancel.
    expect(schedule(s)).toEqual(['terminate']);
    ok(s, 'terminate');
    expect(m.endRun(s, outcomes)).toMatchObject({
      status: 'cancelled',
      message: 'run sales/2024-03-01 cancelled',
      unstopped: [],
    });
  });

  test('one stage holds the pool, the other waits: the waiting one withdraws first, only the holder is stopped', () => {
    const s = newRun(POOLED);
    expect(schedule(s)).toEqual(['a', 'b']);
    m.statusOf(s, 'a').pool = { name: 'p', requestedAt: T0, grantedAt: T0 };
    m.statusOf(s, 'b').pool = { name: 'p', requestedAt: T0 };
    s.cancelRequested = true;
    expect(m.waitingForPool(s, ['a', 'b'])).toEqual(['b']);
    // b's ask withdrawn: its scope cancelled, it settles before any job is stopped.
    m.stageFailed(s, 'b', { error: cancelled, cancellation: true });
    expect(m.sweepTargets(s).map((t) => t.stageId)).toEqual(['a']);
    const outcomes = [stopped('a')];
    m.sweepDone(s, outcomes, T1);
    expect(states(s)).toMatchObject({ a: 'cancelled', b: 'cancelled' });
    expect(m.statusOf(s, 'a').error).toEqual({ message: 'stopped', type: 'CancelledError', jobId: 'jr_a' });
    m.skipUnstarted(s);
    expect(m.statusOf(s, 'c')).toMatchObject({ state: 'skipped', reason: 'not started: the run was cancelled' });
  });

  test("the stop's outcome wins over an attempt that saw its job STOPPED first; 'none' keeps the attempt's word", () => {
    const s = newRun(POOLED);
    schedule(s);
    s.cancelRequested = true;
    m.stageFailed(s, 'a', { error: { message: 'job STOPPED', type: ERROR_TYPES.jobStopped }, cancellation: false });
    m.stageFailed(s, 'b', { error: { message: 'job STOPPED', type: ERROR_TYPES.jobStopped }, cancellation: false });
    m.sweepDone(s, [stopped('a'), stopped('b', 'none')], T1);
    expect(m.statusOf(s, 'a').error?.message).toBe('stopped');
    expect(m.statusOf(s, 'b').error?.message).toBe('job STOPPED');
  });

  test('a cleanup stage failing after the cancel: failed, named in the cancel', () => {
    const s = newRun(WITH_CLEANUP);
    schedule(s);
    ok(s, 'cluster');
    schedule(s);
    s.cancelRequested = true;
    expect(m.sweepTargets(s).map((t) => t.stageId)).toEqual(['step']);
    m.stageFailed(s, 'step', { error: cancelled, cancellation: true });
    m.sweepDone(s, [stopped('step')], T1);
    expect(schedule(s)).toEqual(['terminate']);
    expect(m.stageFailed(s, 'terminate', { error: jobFailed, cancellation: false })).toBe('failed');
    const end = m.endRun(s, [{ ...stopped('step'), result: 'unconfirmed', message: 'not confirmed' }]);
    expect(end).toMatchObject({
      status: 'cancelled',
      message:
        'run sales/2024-03-01 cancelled; jobs not confirmed stopped: step: not confirmed; cleanup failed: terminate: Glue job FAILED',
    });
    expect(end.status === 'cancelled' && end.memo.status).toBe('cancelled');
  });

  test('a running cleanup stage is not stopped; child stages stop their own jobs and are waited for', () => {
    const s = newRun(
      pipeline([
        job('fan', { params: { JobName: '{{ item }}' }, forEach: { items: ['x'] } }),
        job('clean', { trigger: 'all_done' }),
      ]),
    );
    expect(schedule(s)).toEqual(['fan', 'clean']);
    s.cancelRequested = true;
    expect(m.sweepTargets(s)).toEqual([]);
    expect(m.sweepWaits(s, [])).toEqual(['fan']);
  });
});

describe('jobs that may outlive their stage', () => {
  test.each<[string, { type: string; jobId?: string }, boolean]>([
    ['its job failed', { type: ERROR_TYPES.jobFailed, jobId: 'j' }, false],
    ['stopped', { type: ERROR_TYPES.jobStopped, jobId: 'j' }, false],
    ['bad input', { type: ERROR_TYPES.stageInput }, false],
    ["a fan-out's items failed (they stop their own)", { type: ERROR_TYPES.itemsFailed }, false],
    ['AWS refused a status call of a started job', { type: ERROR_TYPES.awsRequest, jobId: 'j' }, true],
    ['AWS refused the start itself (no job id)', { type: ERROR_TYPES.awsRequest }, false],
    ['its attempts timed out', { type: 'TimeoutError' }, true],
  ])('%s → %s', (_name, error, outlives) => {
    expect(
      m.jobMayOutlive({
        state: 'failed',
        error: { message: 'x', ...error },
        ...(error.jobId ? { jobId: error.jobId } : {}),
      }),
    ).toBe(outlives);
  });

  test('a worker that died leaves its job to the run; one stop per job, a new orphan after the sweep again', () => {
    const s = newRun(POOLED);
    schedule(s);
    m.stageFailed(s, 'a', {
      error: { message: 'timed out (HEARTBEAT)', type: 'TimeoutError' },
      cancellation: false,
      orphanJob: 'jr_1',
    });
    expect(m.statusOf(s, 'a').jobId).toBe('jr_1');
    expect(m.leftoverStops(s).map((d) => d.id)).toEqual(['a']);
    expect(m.stopTarget(s, m.stageDef(s, 'a')).jobId).toBe('jr_1');
    // Cancelled: the sweep stops it (and forgets the orphans); the leftover stop does not again.
    s.cancelRequested = true;
    const targets = m.sweepTargets(s);
    m.stopsSent(s, targets);
    expect(targets.map((t) => [t.stageId, t.jobId])).toEqual([
      ['a', 'jr_1'],
      ['b', undefined],
    ]);
    m.stageFailed(s, 'b', { error: cancelled, cancellation: true });
    expect(m.leftoverStops(s)).toEqual([]);
    // b's attempt, it turns out, had timed out on a job of its own: new, stopped after the sweep.
    m.stageFailed(s, 'b', {
      error: { message: 'timed out', type: 'TimeoutError' },
      cancellation: false,
      orphanJob: 'jr_2',
    });
    expect(m.leftoverStops(s).map((d) => d.id)).toEqual(['b']);
  });
});

test('a cancelled fan-out returns what it did: the stage is cancelled, with its summary', () => {
  const s = newRun(pipeline([job('fan', { params: { JobName: '{{ item }}' }, forEach: { items: ['x'] } })]));
  schedule(s);
  m.stageSucceeded(s, 'fan', { summary: 'cancelled after 1 of 3 items succeeded', cancelled: true });
  expect(m.statusOf(s, 'fan')).toMatchObject({
    state: 'cancelled',
    error: { message: 'fan: cancelled after 1 of 3 items succeeded', type: 'CancelledError' },
  });
  expect(m.endRun(s, []).status).toBe('cancelled');
});

test.each([
  ['a run of its own', undefined, 'sales/2024-03-01/load/g0'],
  ["a sub-pipeline's run: its workflow ID scopes the keys", 'sales/2024-03-01/table', 'sales/2024-03-01/table/load/g0'],
])('stage keys: %s', (_name, scope, key) => {
  expect(m.stageKey(newRun(pipeline([job('load')]), scope), 'load')).toBe(key);
});

test.each([
  ['a manual run: the default priority, its own fairness key', {}, { priority: PRIORITY.default, fairnessKey: 'wf' }],
  ["a backfill's date: the backfill's turn", { priority: 4, fairnessKey: 'bf' }, { priority: 4, fairnessKey: 'bf' }],
])('pool turn: %s', (_name, given, turn) => {
  expect(m.poolTurnOf({ pipeline: pipeline([job('a')]), ...given }, 'wf')).toEqual(turn);
});
