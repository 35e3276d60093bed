/**
 * Cancelling a run stops every AWS job it started, in every window a cancel can arrive in, through
 * `sluice cancel` as a user runs it: the attempt running on a live worker (the cancel must not wait
 * for a heartbeat), the attempt waiting for its retry, the attempt whose worker died and has not
 * timed out yet, the attempt of a worker shutting down gracefully. Each test asserts on the AWS
 * side (gateway call counts, the Glue run's state) at the moment the CLI returns.
 */
import type { ChildProcess } from 'node:child_process';
import { definePipeline, type PipelineDefinition } from '../../common/pipeline';
import { startRun, type StartedRun } from '../../client/runs';
import { statusQuery } from '../../workflows/run-pipeline';
import { createGlueJob, glueRunStates, uniqueName } from '../support/aws';
import { sluice, spawnWorker } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, waitFor, type TestContext, temporalTestContext } from '../support/temporal';

const DS = '2024-05-31';
const ctx = fileContext('e2e-cancel');

/** A Glue stage held RUNNING by the gateway until someone stops it. */
async function hangingGlue(
  prefix: string,
  defaults: PipelineDefinition['defaults'],
): Promise<{ job: string; pipeline: PipelineDefinition }> {
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, outcome: 'HANG' });
  return {
    job,
    pipeline: definePipeline({
      name: uniqueName(prefix),
      defaults,
      stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
    }),
  };
}

const polled = (job: string) =>
  waitFor(
    'the Glue run to be polled',
    async () => (await gateway.calls({ service: 'glue', operation: 'GetJobRun', resource: job })) >= 2,
  );

async function kill(worker: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((r) => worker.once('exit', r));
  worker.kill(signal);
  await exited;
}

/** `sluice cancel` as a user runs it; it returns once the run has closed. */
async function cancelViaCli(started: StartedRun, pipeline: PipelineDefinition): Promise<string> {
  const res = await sluice(['cancel', pipeline.name, DS], {}, 60_000);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  expect((await started.handle.describe()).status.name).toBe('CANCELLED');
  return res.stdout;
}

async function expectStoppedOnce(job: string): Promise<void> {
  expect(await glueRunStates(job)).toEqual(['STOPPED']);
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(1);
  expect(await gateway.calls({ service: 'glue', operation: 'BatchStopJobRun', resource: job })).toBeGreaterThanOrEqual(
    1,
  );
}

test('attempt running on a live worker: the job is stopped at once, not at the next heartbeat (minutes away)', async () => {
  // A heartbeat reaches the server at most every 2 min here: a cancel that waited for it would outlast the CLI's 60 s.
  const { job, pipeline } = await hangingGlue('cancel-live', {
    poll: { initial: '200ms', max: '1s' },
    timeout: { heartbeat: '10m' },
  });
  await ctx.startWorker();
  const started = await startRun(ctx.client, ctx.settings, pipeline, DS, { generation: 0 });
  await polled(job);

  const out = await cancelViaCli(started, pipeline);
  await expectStoppedOnce(job);
  expect(out).toContain('1 AWS job stopped, confirmed by AWS');
  expect(out).toMatch(/■ transform \(glue\.job\) cancelled: Glue job jr_\w+ stopped on cancellation \(STOPPED\)/);
});

test("a stop AWS refuses: the run still ends cancelled, and sluice cancel names the job and AWS's reason (exit 1)", async () => {
  const { job, pipeline } = await hangingGlue('cancel-refused', { poll: { initial: '200ms', max: '1s' } });
  await gateway.addFault({
    service: 'glue',
    operation: 'BatchStopJobRun',
    resource: job,
    kind: 'access-denied',
    times: 100,
  });
  await ctx.startWorker();
  const started = await startRun(ctx.client, ctx.settings, pipeline, DS, { generation: 0 });
  await polled(job);

  const res = await sluice(['cancel', pipeline.name, DS], {}, 60_000);
  expect(res.code).toBe(1);
  expect(res.stdout).toMatch(
    /NOT confirmed stopped: transform: could not stop the Glue job jr_\w+: .*AccessDeniedException/,
  );
  expect((await started.handle.describe()).status.name).toBe('CANCELLED');
  expect(await glueRunStates(job)).toEqual(['RUNNING']);
});

describe('the worker that started the job is gone', () => {
  let queue: string;
  let rescuer: TestContext;

  beforeEach(async () => {
    queue = uniqueName('cancel-q');
    rescuer = await temporalTestContext('e2e-cancel-rescuer');
  });

  afterEach(async () => {
    await rescuer.close();
  });

  const startOn = (pipeline: PipelineDefinition) =>
    startRun(ctx.client, { ...ctx.settings, taskQueue: queue }, pipeline, DS, { generation: 0 });
  const rescue = () => rescuer.startWorker({ settings: { ...rescuer.settings, taskQueue: queue } });

  /** Until the stage's attempt has failed and its retry waits (state SCHEDULED, attempt 2). */
  const waitingForRetry = (started: StartedRun) =>
    waitFor(
      'the attempt to fail and its retry to wait',
      // PendingActivityState 1 = SCHEDULED: no attempt is running.
      async () =>
        (await started.handle.describe()).raw.pendingActivities?.some(
          (a) => (a.attempt ?? 0) >= 2 && Number(a.state) === 1,
        ),
      30_000,
    );

  test('between attempts (killed worker, heartbeat timed out, retry in 60 s): the job is stopped, no attempt starts again', async () => {
    const { job, pipeline } = await hangingGlue('cancel-between', {
      poll: { initial: '200ms', max: '1s' },
      timeout: { heartbeat: '2s' },
      retry: { initialInterval: '60s' },
    });
    const doomed = await spawnWorker({ SLUICE_TASK_QUEUE: queue });
    const started = await startOn(pipeline);
    await polled(job);
    await kill(doomed, 'SIGKILL');
    await waitingForRetry(started);
    await rescue();

    const out = await cancelViaCli(started, pipeline);
    await expectStoppedOnce(job);
    expect(out).toContain('1 AWS job stopped, confirmed by AWS');
  });

  test('worker dead, its attempt not timed out yet (heartbeat timeout 10 min): another worker stops the job now', async () => {
    const { job, pipeline } = await hangingGlue('cancel-dead', {
      poll: { initial: '200ms', max: '1s' },
      timeout: { heartbeat: '10m' },
    });
    const doomed = await spawnWorker({ SLUICE_TASK_QUEUE: queue });
    const started = await startOn(pipeline);
    await polled(job);
    await kill(doomed, 'SIGKILL');
    await rescue();

    await cancelViaCli(started, pipeline);
    await expectStoppedOnce(job);
  });

  test('worker shut down gracefully (SIGTERM) while the stage waited: the job is stopped from its last heartbeat', async () => {
    const { job, pipeline } = await hangingGlue('cancel-sigterm', {
      poll: { initial: '200ms', max: '1s' },
      timeout: { heartbeat: '5s' },
      retry: { initialInterval: '60s' },
    });
    const leaving = await spawnWorker({ SLUICE_TASK_QUEUE: queue, SLUICE_SHUTDOWN_GRACE: '1s' });
    const started = await startOn(pipeline);
    await polled(job);
    await kill(leaving, 'SIGTERM');
    await waitingForRetry(started);
    // Shutting down leaves the job running for the next attempt to adopt.
    expect(await glueRunStates(job)).toEqual(['RUNNING']);
    await rescue();

    await cancelViaCli(started, pipeline);
    await expectStoppedOnce(job);
  });
});

describe('a stage out of attempts while its job still runs (AWS refused its status call)', () => {
  const deny = (job: string) =>
    gateway.addFault({ service: 'glue', operation: 'GetJobRun', resource: job, kind: 'access-denied', times: 1 });

  test('the failed run stops the job it left running', async () => {
    const { job, pipeline } = await hangingGlue('denied-fail', { poll: { initial: '200ms', max: '1s' } });
    await deny(job);
    await ctx.startWorker();
    const started = await startRun(ctx.client, ctx.settings, pipeline, DS, { generation: 0 });
    await expect(started.handle.result()).rejects.toThrow();
    expect((await started.handle.describe()).status.name).toBe('FAILED');
    await expectStoppedOnce(job);
  });

  test('cancelled while another stage runs: both jobs are stopped', async () => {
    const denied = await createGlueJob();
    const other = await createGlueJob();
    for (const job of [denied, other]) await gateway.setScenario({ service: 'glue', match: job, outcome: 'HANG' });
    const pipeline = definePipeline({
      name: uniqueName('denied-cancel'),
      defaults: { poll: { initial: '200ms', max: '1s' } },
      stages: [
        { id: 'refused', kind: 'glue.job', params: { JobName: denied } },
        { id: 'running', kind: 'glue.job', params: { JobName: other } },
      ],
    });
    await deny(denied);
    await ctx.startWorker();
    const started = await startRun(ctx.client, ctx.settings, pipeline, DS, { generation: 0 });
    await waitFor(
      'the refused stage to fail',
      async () => (await started.handle.query(statusQuery)).stages.find((s) => s.id === 'refused')?.state === 'failed',
    );
    await polled(other);

    const out = await cancelViaCli(started, pipeline);
    expect(out).toContain('2 AWS jobs stopped, confirmed by AWS');
    await expectStoppedOnce(denied);
    await expectStoppedOnce(other);
  });
});
