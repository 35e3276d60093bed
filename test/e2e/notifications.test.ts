/**
 * Notifications (issue #21) with the real worker, the gateway and Temporal: a failed run tells a
 * webhook, an SNS topic and an EventBridge bus (moto) with its stage, job id, AWS's message, link and
 * cost; the rerun that succeeds says it recovered; a destination that is down does not fail or delay
 * the run; a worker killed mid-send still yields one event (one id) per transition; bad `notify:`
 * exits 2 from validate and run, starting nothing.
 */
import { CreateEventBusCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { WORKFLOW_TYPES } from '../../common/constants';
import type { NotifyEvent } from '../../common/notifications';
import { definePipeline, type PipelineDefinition } from '../../common/pipeline';
import { startRun, waitForRun } from '../../client/runs';
import { awsClients, createBucket, createGlueJob, uniqueName } from '../support/aws';
import { pipelineDir, sluice, spawnWorker } from '../support/cli';
import { gateway } from '../support/gateway';
import { temporalTestContext, waitFor, type TestContext } from '../support/temporal';

let ctx: TestContext;
const files = pipelineDir('sluice-notify-');

beforeAll(async () => {
  ctx = await temporalTestContext('e2e-notify');
});

afterAll(async () => {
  await ctx?.close();
});

const fast = {
  poll: { initial: '200ms', max: '1s' },
  retry: { initialInterval: '200ms', maximumAttempts: 1 },
} as const;

/** A queue that SNS and EventBridge may send to, and a reader of what arrived. */
async function queue(name: string): Promise<{ arn: string; read(n: number): Promise<string[]> }> {
  const sqs = awsClients().sqs;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const url = QueueUrl as string;
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = attrs.Attributes?.QueueArn as string;
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: url,
      Attributes: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sqs:SendMessage', Resource: arn }],
        }),
      },
    }),
  );
  const got: string[] = [];
  return {
    arn,
    async read(n) {
      await waitFor(`${n} messages on ${name}`, async () => {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        got.push(...(out.Messages ?? []).map((m) => m.Body ?? ''));
        return got.length >= n;
      });
      return got;
    },
  };
}

async function notifierOf(type: string, workflowId: string, runId: string) {
  return ctx.client.workflow.getHandle(`sluice-notify:${type}:${workflowId}:${runId}`);
}

test('a failed run tells a webhook, SNS and EventBridge what failed; its successful rerun says it recovered', async () => {
  const ok = await createGlueJob();
  const bad = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: ok, durationMs: 300, outcome: 'SUCCEEDED' });
  await gateway.setScenario({
    service: 'glue',
    match: bad,
    durationMs: 300,
    outcome: 'FAILED',
    message: 'NameError: orders_raw is not defined',
  });
  const hook = uniqueName('hook');
  const topicQueue = await queue(uniqueName('sns-q'));
  const busQueue = await queue(uniqueName('bus-q'));
  const sns = awsClients().sns();
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: uniqueName('alerts') }));
  await sns.send(
    new SubscribeCommand({
      TopicArn,
      Protocol: 'sqs',
      Endpoint: topicQueue.arn,
      Attributes: { RawMessageDelivery: 'true' },
    }),
  );
  const events = awsClients().eventBridge();
  const busName = uniqueName('data');
  const { EventBusArn } = await events.send(new CreateEventBusCommand({ Name: busName }));
  const rule = uniqueName('sluice-notify');
  await events.send(
    new PutRuleCommand({ Name: rule, EventBusName: busName, EventPattern: JSON.stringify({ source: ['sluice'] }) }),
  );
  await events.send(
    new PutTargetsCommand({ Rule: rule, EventBusName: busName, Targets: [{ Id: 'q', Arn: busQueue.arn }] }),
  );

  const name = uniqueName('told');
  const pipeline = (second: string): PipelineDefinition =>
    definePipeline({
      name,
      defaults: fast,
      stages: [
        { id: 'load', kind: 'glue.job', params: { JobName: ok } },
        { id: 'transform', kind: 'glue.job', dependsOn: ['load'], params: { JobName: second } },
      ],
      notify: [
        { to: gateway.webhookUrl(hook), on: ['failed', 'succeeded', 'recovered'] },
        { to: TopicArn as string },
        { to: EventBusArn as string, on: ['failed'] },
      ],
    });
  await ctx.startWorker();

  const failed = await startRun(ctx.client, ctx.settings, pipeline(bad), '2024-03-01', { generation: 0 });
  const outcome = await waitForRun(failed.handle);
  expect(outcome.ok).toBe(false);
  const { runId } = await failed.handle.describe();
  await (await notifierOf('failed', failed.workflowId, runId)).result();

  const hooked = await gateway.webhook(hook);
  expect(hooked.deliveries).toHaveLength(1);
  const body = hooked.deliveries[0]?.body;
  const event = body?.sluice as unknown as NotifyEvent;
  expect(event).toMatchObject({
    id: `sluice:failed:${failed.workflowId}:${runId}`,
    type: 'failed',
    pipeline: name,
    ds: '2024-03-01',
    status: 'failed',
    stage: { id: 'transform', message: expect.stringContaining('NameError: orders_raw is not defined') },
  });
  expect(event.stage?.jobId).toMatch(/^jr_/);
  expect(event.stage?.runningMs).toBeGreaterThanOrEqual(0);
  expect(event.costUsd).toBeGreaterThan(0); // the load stage's Glue DPU-seconds
  expect(event.url).toBe(
    `${process.env.SLUICE_UI_URL}/namespaces/default/workflows/${encodeURIComponent(failed.workflowId)}/${runId}/history`,
  );
  expect(body?.text).toContain(`${name} 2024-03-01: failed — stage transform (job ${event.stage?.jobId}`);
  expect(body?.text).toContain(`<${event.url}|open in Temporal>`);
  expect(hooked.deliveries[0]?.eventId).toBe(event.id);

  const viaSns = JSON.parse((await topicQueue.read(1))[0] as string) as NotifyEvent;
  expect(viaSns).toMatchObject({ id: event.id, type: 'failed', stage: { id: 'transform' } });
  const viaBus = JSON.parse((await busQueue.read(1))[0] as string) as { source: string; detail: NotifyEvent };
  expect(viaBus.source).toBe('sluice');
  expect(viaBus.detail).toMatchObject({ id: event.id, type: 'failed', ds: '2024-03-01' });

  // The rerun succeeds: succeeded and recovered to the webhook; SNS (default events) hears recovered only.
  await gateway.setScenario({ service: 'glue', match: bad, durationMs: 300, outcome: 'SUCCEEDED' });
  const rerun = await startRun(ctx.client, ctx.settings, pipeline(bad), '2024-03-01', { generation: 1 });
  expect((await waitForRun(rerun.handle)).ok).toBe(true);
  const rerunId = (await rerun.handle.describe()).runId;
  await (await notifierOf('succeeded', rerun.workflowId, rerunId)).result();
  const after = await gateway.webhook(hook);
  expect(after.deliveries.map((d) => d.body.sluice.type).sort()).toEqual(['failed', 'recovered', 'succeeded']);
  expect(after.events).toBe(3);
  const recovered = JSON.parse((await topicQueue.read(2))[1] as string) as NotifyEvent;
  expect(recovered).toMatchObject({
    type: 'recovered',
    status: 'succeeded',
    id: `sluice:recovered:${name}/2024-03-01:${rerunId}`,
  });
});

test('a webhook that is down neither fails nor delays the run: the notifier retries on its own', async () => {
  const bucket = await createBucket();
  const down = uniqueName('down');
  const up = uniqueName('up');
  await gateway.configureWebhook(down, { fail: 1000, status: 503 });
  const pipeline = definePipeline({
    name: uniqueName('down'),
    stages: [{ id: 'land', kind: 's3.put', params: { Bucket: bucket, Key: '{{ ds }}/x', Body: 'x' } }],
    notify: [
      { to: gateway.webhookUrl(down), on: ['succeeded'] },
      { to: gateway.webhookUrl(up), on: ['succeeded'] },
    ],
  });
  await ctx.startWorker();
  const began = Date.now();
  const run = await startRun(ctx.client, ctx.settings, pipeline, '2024-03-02', { generation: 0 });
  const outcome = await waitForRun(run.handle, undefined, 100);
  expect(outcome.ok).toBe(true);
  const closedMs = Date.now() - began;
  const { runId } = await run.handle.describe();
  // The healthy destination heard it; the broken one was tried, and is being tried again after the run closed.
  await waitFor('the healthy webhook', async () => (await gateway.webhook(up)).deliveries.length === 1);
  await waitFor('a retry to the broken one', async () => (await gateway.webhook(down)).deliveries.length >= 2, 30_000);
  const notifier = await notifierOf('succeeded', run.workflowId, runId);
  expect((await notifier.describe()).status.name).toBe('RUNNING');
  expect((await run.handle.describe()).status.name).toBe('COMPLETED');
  // The run's close waited for no send (a retry comes ≥ 2 s after the first attempt).
  expect(closedMs).toBeLessThan(15_000);
  await notifier.terminate('test over');
});

test('a worker killed mid-notification: the send is retried by another worker, one event id per transition', async () => {
  const bucket = await createBucket();
  const hook = uniqueName('slow');
  await gateway.configureWebhook(hook, { delayMs: 30_000 });
  const pipeline = definePipeline({
    name: uniqueName('killed'),
    stages: [{ id: 'land', kind: 's3.put', params: { Bucket: bucket, Key: '{{ ds }}/x', Body: 'x' } }],
    notify: [{ to: gateway.webhookUrl(hook), on: ['succeeded'] }],
  });
  // A task queue of its own: the first send runs on the doomed worker, not on this file's others.
  const own = await temporalTestContext('e2e-notify-kill');
  const doomed = await spawnWorker({ SLUICE_TASK_QUEUE: own.settings.taskQueue });
  const run = await startRun(own.client, own.settings, pipeline, '2024-03-03', { generation: 0 });
  await waitFor(
    'the send to reach the receiver',
    async () => (await gateway.webhook(hook)).deliveries.length === 1,
    60_000,
  );
  const exited = new Promise((r) => doomed.once('exit', r));
  doomed.kill('SIGKILL');
  await exited;
  await gateway.configureWebhook(hook, { delayMs: 0 });
  await own.startWorker();
  expect((await waitForRun(run.handle)).ok).toBe(true);
  const { runId } = await run.handle.describe();
  const notifier = await notifierOf('succeeded', run.workflowId, runId);
  const report = (await notifier.result()) as { sent: unknown[] };
  expect(report.sent).toHaveLength(1);
  const got = await gateway.webhook(hook);
  // The interrupted delivery and its retry carry the same id: a receiver sees one event.
  expect(got.deliveries).toHaveLength(2);
  expect(got.events).toBe(1);
  expect(got.deliveries[1]?.eventId).toBe(`sluice:succeeded:${run.workflowId}:${runId}`);
  // And one notifier for the run's one transition.
  const notifiers = await own.client.workflow.count(
    `WorkflowType = "${WORKFLOW_TYPES.notify}" AND WorkflowId = "sluice-notify:succeeded:${run.workflowId}:${runId}"`,
  );
  expect(notifiers.count).toBe(1);
  // The retry came from the new worker once the killed attempt timed out (20 s), not from a timeout of its own (10 s).
  const [first, second] = got.deliveries;
  expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(15_000);
  await own.close();
}, 120_000);

test('a notify destination that is neither an ARN nor an https URL: validate and run exit 2, nothing starts', async () => {
  const name = uniqueName('badnotify');
  const file = files.file(
    name,
    `name: ${name}\nstages:\n  - id: t\n    kind: glue.job\n    params: { JobName: j }\nnotify:\n  - to: http://hooks.example.com/x\n`,
  );
  for (const args of [
    ['validate', '--pipeline', file],
    ['run', '--pipeline', file, '--date', '2024-03-01'],
  ]) {
    const res = await sluice(args, { SLUICE_TASK_QUEUE: ctx.settings.taskQueue });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('notify[0].to');
    expect(res.stderr).toContain('http://hooks.example.com/x');
    expect(res.stderr).toContain('https');
  }
  expect((await ctx.client.workflow.count(`WorkflowId = "${name}/2024-03-01"`)).count).toBe(0);
});
