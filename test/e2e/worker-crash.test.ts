/**
 * Exactly-once starts across crashes: a worker killed while its Glue stage is polling, and a
 * crash between the start call and the first heartbeat, both end with one StartJobRun.
 */
import { StartJobRunCommand } from '@aws-sdk/client-glue';
import { GLUE_KEY_ARGUMENT } from '../../kinds/glue-job/handler';
import { stageIdempotencyKey } from '../../common/naming';
import { definePipeline } from '../../common/pipeline';
import { startRun, waitForRun } from '../../client/runs';
import { awsClients, createGlueJob, glueRunStates, uniqueName } from '../support/aws';
import { spawnWorker } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, waitFor, temporalTestContext } from '../support/temporal';
import { fastDefaults } from '../support/timing';

const ctx = fileContext('e2e-crash');

const fast = fastDefaults({ timeout: { heartbeat: '2s' }, retry: { initialInterval: '200ms' } });

test('killing the worker while a Glue stage polls: a new worker reattaches and the run completes with one StartJobRun', async () => {
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 8000, outcome: 'SUCCEEDED' });
  const pipeline = definePipeline({
    name: uniqueName('crash'),
    defaults: fast,
    stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
  });

  const doomed = await spawnWorker({ SLUICE_TASK_QUEUE: ctx.settings.taskQueue });
  const started = await startRun(ctx.client, ctx.settings, pipeline, '2024-03-01', { generation: 0 });
  await waitFor(
    'the first worker to poll the job',
    async () => (await gateway.calls({ service: 'glue', operation: 'GetJobRun', resource: job })) >= 2,
  );
  const exited = new Promise((r) => doomed.once('exit', r));
  doomed.kill('SIGKILL');
  await exited;

  await ctx.startWorker();
  const outcome = await waitForRun(started.handle);
  if (!outcome.ok) throw new Error(outcome.message);
  const stage = outcome.status.stages[0];
  expect(stage?.result?.reattached).toBe(true);
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(1);
  expect(await glueRunStates(job)).toEqual(['SUCCEEDED']);
  expect(stage?.jobId).toMatch(/^jr_/);
});

test('a crash between StartJobRun and the first heartbeat: the next attempt finds the run by its key instead of starting another', async () => {
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 1500, outcome: 'SUCCEEDED' });
  const pipeline = definePipeline({
    name: uniqueName('lostbeat'),
    defaults: fast,
    stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
  });
  // What a worker that died right after its start call leaves behind: a run tagged with the key, and no heartbeat.
  const orphan = await awsClients().glue.send(
    new StartJobRunCommand({
      JobName: job,
      Arguments: { [GLUE_KEY_ARGUMENT]: stageIdempotencyKey(pipeline.name, '2024-03-01', 'transform', 0) },
    }),
  );
  await ctx.startWorker();
  const outcome = await waitForRun(
    (await startRun(ctx.client, ctx.settings, pipeline, '2024-03-01', { generation: 0 })).handle,
  );
  if (!outcome.ok) throw new Error(outcome.message);
  expect(outcome.status.stages[0]?.jobId).toBe(orphan.JobRunId);
  expect(outcome.status.stages[0]?.result?.reattached).toBe(true);
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(1);
});

test('cancelling a run whose worker died: another worker stops the Glue job from the heartbeated id', async () => {
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, outcome: 'HANG' });
  const pipeline = definePipeline({
    name: uniqueName('deadcancel'),
    defaults: fast,
    stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
  });
  const queue = uniqueName('deadcancel-q');
  const doomed = await spawnWorker({ SLUICE_TASK_QUEUE: queue });
  const started = await startRun(ctx.client, { ...ctx.settings, taskQueue: queue }, pipeline, '2024-03-01', {
    generation: 0,
  });
  await waitFor(
    'the job to be polled',
    async () => (await gateway.calls({ service: 'glue', operation: 'GetJobRun', resource: job })) >= 2,
  );
  const exited = new Promise((r) => doomed.once('exit', r));
  doomed.kill('SIGKILL');
  await exited;
  await started.handle.cancel();

  const rescuer = await temporalTestContext('e2e-crash-rescuer');
  try {
    await rescuer.startWorker({ settings: { ...rescuer.settings, taskQueue: queue } });
    const outcome = await waitForRun(started.handle);
    expect(outcome.ok).toBe(false);
    expect(outcome.ok === false && outcome.cancelled).toBe(true);
    expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(1);
    expect(await gateway.calls({ service: 'glue', operation: 'BatchStopJobRun', resource: job })).toBe(1);
    expect(await glueRunStates(job)).toEqual(['STOPPED']);
  } finally {
    await rescuer.close();
  }
});
