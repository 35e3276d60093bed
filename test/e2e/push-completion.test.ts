/**
 * Push completion end to end: the gateway emits AWS's state-change events to moto's EventBridge,
 * the local rule forwards them to SQS, the worker's consumer signals the job's watch workflow and
 * the waiting stage confirms the end with one status call. Real worker, real dev server, the AWS
 * SDK over HTTP. Also: with the events dropped, stages end at the fallback poll; events for jobs
 * Sluice did not start, duplicates and late ones are dropped; a cancel still stops the job; a
 * worker killed mid-wait is replaced by one that checks the job at once.
 */
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetJobRunsCommand, StartJobRunCommand } from '@aws-sdk/client-glue';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ChildProcess } from 'node:child_process';
import { definePipeline, type PipelineDefinition } from '../../common/pipeline';
import { watchWorkflowId } from '../../common/stage-events';
import { startRun, waitForRun } from '../../client/runs';
import { awsClients, createGlueJob, glueRunStates, uniqueName } from '../support/aws';
import { spawnWorker } from '../support/cli';
import { LOCAL_EVENTS_QUEUE_URL } from '../support/env';
import { gateway } from '../support/gateway';
import { fileContext, temporalTestContext, waitFor } from '../support/temporal';

const TEN_MINUTES = 600_000;
const push = fileContext('e2e-push', {
  worker: { stageEvents: { queueUrl: LOCAL_EVENTS_QUEUE_URL, fallbackPollMs: TEN_MINUTES } },
});
// Events dropped: this worker's stages end at its (short) fallback poll.
const lossy = fileContext('e2e-push-lossy', {
  worker: { stageEvents: { queueUrl: LOCAL_EVENTS_QUEUE_URL, fallbackPollMs: 3_000 } },
});

async function glueAndAthena(job: string, table: string): Promise<PipelineDefinition> {
  return definePipeline({
    name: uniqueName('push'),
    stages: [
      { id: 'transform', kind: 'glue.job', params: { JobName: job } },
      {
        id: 'report',
        kind: 'athena.query',
        dependsOn: ['transform'],
        params: { QueryString: `SELECT count(*) FROM ${table}` },
      },
    ],
  });
}

/** Status calls for one job strictly between two instants. */
async function callsBetween(service: string, operation: string, resource: string, from: number, to: number) {
  const log = await gateway.callLog({ service, operation, resource });
  return log.filter((c) => Date.parse(c.at) > from && Date.parse(c.at) < to).length;
}

test('a Glue and an Athena stage complete from their state-change events, with no status call while they wait', async () => {
  const job = await createGlueJob();
  const table = uniqueName('t');
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 6_000 });
  await gateway.setScenario({ service: 'athena', match: table, durationMs: 5_000 });
  const pipeline = await glueAndAthena(job, table);

  const started = await startRun(push.client, push.settings, pipeline, '2024-05-01', { generation: 0 });
  const outcome = await waitForRun(started.handle);
  if (!outcome.ok) throw new Error(outcome.message);
  const byId = Object.fromEntries(outcome.status.stages.map((s) => [s.id, s]));
  const glueRun = byId.transform?.jobId as string;
  const query = byId.report?.jobId as string;

  for (const [stage, service, operation, resource, jobId] of [
    ['transform', 'glue', 'GetJobRun', job, glueRun],
    ['report', 'athena', 'GetQueryExecution', query, query],
  ] as const) {
    expect(byId[stage]?.result?.noticedBy).toBe('event');
    const [event] = await gateway.events(jobId);
    expect(event?.dropped).toBe(false);
    expect(event?.eventId).toBeDefined();
    const calls = (await gateway.callLog({ service, operation, resource })).map((c) => Date.parse(c.at));
    // One status call once the watch is armed, none while the job runs (5–6 s: an adaptive poll
    // from 2 s would have made three or more), then the confirmation after the event.
    const before = calls.filter((t) => t < event!.emittedAt);
    expect(before).toHaveLength(1);
    expect(await callsBetween(service, operation, resource, before[0]!, event!.emittedAt)).toBe(0);
    expect(calls.filter((t) => t >= event!.emittedAt).length).toBeGreaterThanOrEqual(1);
  }
  // The watches are closed: a late duplicate finds none.
  for (const key of [`glue.job/${glueRun}`, `athena.query/${query}`]) {
    const d = await push.client.workflow.getHandle(watchWorkflowId(key)).describe();
    expect(d.status.name).toBe('COMPLETED');
  }
});

test('with the events dropped, the same stages still complete, at the fallback poll', async () => {
  const job = await createGlueJob();
  const table = uniqueName('t');
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 2_000, events: 'drop' });
  await gateway.setScenario({ service: 'athena', match: table, durationMs: 1_500, events: 'drop' });
  const pipeline = await glueAndAthena(job, table);

  const started = await startRun(lossy.client, lossy.settings, pipeline, '2024-05-02', { generation: 0 });
  const outcome = await waitForRun(started.handle);
  if (!outcome.ok) throw new Error(outcome.message);
  for (const s of outcome.status.stages) {
    expect(s.state).toBe('succeeded');
    expect(s.result?.noticedBy).toBe('poll');
    const [event] = await gateway.events(s.jobId as string);
    expect(event?.dropped).toBe(true);
  }
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(1);
});

test('events for a job Sluice did not start, duplicates and late events are dropped without effect', async () => {
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 300 });
  // A run nobody in Sluice started: its event reaches the queue and finds no watch.
  const foreign = await awsClients().glue.send(new StartJobRunCommand({ JobName: job }));
  const eb = new EventBridgeClient({});
  const late = uniqueName('jr_late');
  // A duplicate and a late event, as AWS's at-least-once delivery can produce them, and an event
  // missing its ids.
  for (const detail of [
    { jobName: job, state: 'SUCCEEDED', jobRunId: late },
    { jobName: job, state: 'SUCCEEDED', jobRunId: late },
    { jobName: job, state: 'SUCCEEDED' },
  ]) {
    await eb.send(
      new PutEventsCommand({
        Entries: [{ Source: 'aws.glue', DetailType: 'Glue Job State Change', Detail: JSON.stringify(detail) }],
      }),
    );
  }
  eb.destroy();
  await waitFor('the foreign run’s event', async () => (await gateway.events(foreign.JobRunId!)).length > 0, 20_000);
  // The consumers drain the queue: nothing is kept for redelivery.
  const sqs = new SQSClient({});
  await waitFor(
    'the queue to drain',
    async () => {
      const a = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: LOCAL_EVENTS_QUEUE_URL,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(a.Attributes?.ApproximateNumberOfMessages) +
          Number(a.Attributes?.ApproximateNumberOfMessagesNotVisible) ===
        0
      );
    },
    60_000,
    500,
  );
  sqs.destroy();
  for (const key of [`glue.job/${foreign.JobRunId}`, `glue.job/${late}`]) {
    await expect(push.client.workflow.getHandle(watchWorkflowId(key)).describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );
  }
  // And the consumer still delivers: a Sluice stage on the same job ends from its event.
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 2_000 });
  const pipeline = definePipeline({
    name: uniqueName('push-after'),
    stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
  });
  const outcome = await waitForRun((await startRun(push.client, push.settings, pipeline, '2024-05-03')).handle);
  if (!outcome.ok) throw new Error(outcome.message);
  expect(outcome.status.stages[0]?.result?.noticedBy).toBe('event');
});

test('a run cancelled while its stage waits for the event stops the job and closes the watch', async () => {
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, outcome: 'HANG' });
  const pipeline = definePipeline({
    name: uniqueName('push-cancel'),
    stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
  });
  const started = await startRun(push.client, push.settings, pipeline, '2024-05-04', { generation: 0 });
  const runId = await waitFor('the Glue run', async () => {
    const out = await awsClients().glue.send(new GetJobRunsCommand({ JobName: job }));
    return out.JobRuns?.[0]?.Id;
  });
  const watch = push.client.workflow.getHandle(watchWorkflowId(`glue.job/${runId}`));
  await waitFor('the watch', async () => (await watch.describe().catch(() => undefined))?.status.name === 'RUNNING');
  await started.handle.cancel();
  const outcome = await waitForRun(started.handle);
  expect(outcome.ok).toBe(false);
  expect(await glueRunStates(job)).toEqual(['STOPPED']);
  await waitFor('the watch to close', async () => (await watch.describe()).status.name !== 'RUNNING');
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(1);
});

test('a worker killed while its stage waits: the job ends meanwhile, the next worker notices it at once', async () => {
  const ctx = await temporalTestContext('e2e-push-crash');
  const env = {
    SLUICE_TASK_QUEUE: ctx.settings.taskQueue,
    SLUICE_EVENTS_QUEUE_URL: LOCAL_EVENTS_QUEUE_URL,
    SLUICE_EVENTS_FALLBACK_POLL: '10m',
    SLUICE_SHUTDOWN_GRACE: '1s',
  };
  let worker: ChildProcess | undefined;
  try {
    const job = await createGlueJob();
    await gateway.setScenario({ service: 'glue', match: job, durationMs: 8_000 });
    const pipeline = definePipeline({
      name: uniqueName('push-crash'),
      stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job }, timeout: { heartbeat: '5s' } }],
    });
    worker = await spawnWorker(env);
    const started = await startRun(ctx.client, ctx.settings, pipeline, '2024-05-05', { generation: 0 });
    await waitFor(
      'the first status call',
      async () => (await gateway.calls({ service: 'glue', operation: 'GetJobRun', resource: job })) >= 1,
      60_000,
    );
    worker.kill('SIGKILL');
    // The job ends (and its event is delivered to a watch nobody awaits) while no worker runs.
    await waitFor('the job’s end', async () => (await glueRunStates(job))[0] === 'SUCCEEDED', 30_000);
    worker = await spawnWorker(env);
    const outcome = await waitForRun(started.handle);
    if (!outcome.ok) throw new Error(outcome.message);
    const stage = outcome.status.stages[0];
    expect(stage?.result?.reattached).toBe(true);
    expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(1);
  } finally {
    worker?.kill('SIGKILL');
    await ctx.close();
  }
});
