/**
 * Workflow logic of notifications (workflows/notify.ts) on the real dev server with a real worker;
 * the stage and send activities are mocked (and only here): which transition starts which
 * notifier, which events each destination hears, and that a destination refusing every send fails
 * the notifier and not the run. The sends themselves are tested in test/e2e/notifications.test.ts.
 */
import { ApplicationFailure } from '@temporalio/common';
import { createRunActivities } from '../../activities/runs';
import type { SendNotificationInput } from '../../activities/notify';
import { startBackfill } from '../../client/backfills';
import { startRun, waitForRun } from '../../client/runs';
import type { NotifyEvent } from '../../common/notifications';
import { definePipeline } from '../../common/pipeline';
import type { StageInput, StageResult, StopOutcome, StopRunJobsInput } from '../../common/run-types';
import { uniqueName } from '../support/aws';
import { testPoolActivities } from '../support/pools';
import { temporalTestContext, waitFor, type TestContext } from '../support/temporal';

let ctx: TestContext;
const sent: SendNotificationInput[] = [];

const mockActivities = {
  ...createRunActivities(),
  ...testPoolActivities(),
  async runStage(input: StageInput): Promise<StageResult> {
    if (input.params.JobName === 'bad' || (input.params.JobName === 'bad-on-2nd' && input.ds === '2024-03-02'))
      throw ApplicationFailure.create({
        message: 'Glue job run FAILED: boom',
        type: 'JobFailedError',
        nonRetryable: true,
        details: [{ jobId: 'jr_bad' }],
      });
    if (input.params.JobName === 'hang') await new Promise(() => undefined);
    return { summary: 'ok', jobId: `jr_${input.ds}` };
  },
  async stopRunJobs(input: StopRunJobsInput): Promise<StopOutcome[]> {
    return input.stages.map((t) => ({ stageId: t.stageId, result: 'none' as const, message: 'nothing to stop' }));
  },
  async stopStageJob(): Promise<string> {
    return 'nothing';
  },
  async sendNotification(input: SendNotificationInput) {
    if (input.to.includes('refuses'))
      throw ApplicationFailure.create({ message: 'webhook answered HTTP 410', nonRetryable: true });
    sent.push(input);
    return { destination: 'webhook (host hooks.example.com)', receipt: 'HTTP 200' };
  },
  async previousRunStatus(): Promise<string | undefined> {
    return undefined;
  },
};

beforeAll(async () => {
  ctx = await temporalTestContext('wf-notify');
  await ctx.startWorker({ workerOptions: { activities: mockActivities } });
});

afterAll(async () => {
  await ctx?.close();
});

const eventsTo = (to: string): NotifyEvent[] => sent.filter((s) => s.to === to).map((s) => s.event);

test('a backfill that ends tells its counts and its first failure, once; each date tells its own end', async () => {
  const to = `https://hooks.example.com/${uniqueName('bf')}`;
  const p = definePipeline({
    name: uniqueName('nbf'),
    defaults: { retry: { maximumAttempts: 1 } },
    stages: [{ id: 't', kind: 'glue.job', params: { JobName: 'bad-on-2nd' } }],
    notify: [{ to, on: ['failed', 'backfill'] }],
  });
  const { handle } = await startBackfill(ctx.client, ctx.settings, p, {
    from: '2024-03-01',
    to: '2024-03-03',
    concurrency: 3,
    only: 'all',
    order: 'oldest',
  });
  await handle.result().catch(() => undefined);
  const { runId } = await handle.describe();
  await ctx.client.workflow.getHandle(`sluice-notify:backfill:${handle.workflowId}:${runId}`).result();
  await waitFor('the failed date', async () => eventsTo(to).some((e) => e.type === 'failed'));
  const events = eventsTo(to);
  const backfill = events.filter((e) => e.type === 'backfill');
  expect(backfill).toHaveLength(1);
  expect(backfill[0]).toMatchObject({
    pipeline: p.name,
    status: 'failed',
    counts: { succeeded: 2, failed: 1, skipped: 0, cancelled: 0 },
    stage: { id: 't' },
  });
  expect(backfill[0]?.ds).toBeUndefined();
  expect(events.filter((e) => e.type === 'failed').map((e) => [e.ds, e.stage?.jobId])).toEqual([
    ['2024-03-02', 'jr_bad'],
  ]);
  // `succeeded` is not in its `on`: the two good dates told it nothing.
  expect(events.filter((e) => e.type === 'succeeded')).toEqual([]);
});

test('a cancelled run tells it was cancelled; a destination refusing every send fails its notifier, not the run', async () => {
  const to = `https://hooks.example.com/${uniqueName('c')}`;
  const refuses = `https://refuses.example.com/${uniqueName('r')}`;
  const p = definePipeline({
    name: uniqueName('ncan'),
    stages: [{ id: 't', kind: 'glue.job', params: { JobName: 'hang' } }],
    notify: [
      { to, on: ['cancelled'] },
      { to: refuses, on: ['cancelled'] },
    ],
  });
  const run = await startRun(ctx.client, ctx.settings, p, '2024-03-01', { generation: 0 });
  await waitFor('the stage to run', async () => (await run.handle.describe()).raw.pendingActivities?.length);
  await run.handle.cancel();
  const outcome = await waitForRun(run.handle);
  expect(outcome.ok).toBe(false);
  expect((await run.handle.describe()).status.name).toBe('CANCELLED');
  const { runId } = await run.handle.describe();
  const notifier = ctx.client.workflow.getHandle(`sluice-notify:cancelled:${run.workflowId}:${runId}`);
  await expect(notifier.result()).rejects.toThrow();
  expect((await notifier.describe()).status.name).toBe('FAILED');
  expect(eventsTo(to)).toEqual([
    expect.objectContaining({
      type: 'cancelled',
      status: 'cancelled',
      id: `sluice:cancelled:${run.workflowId}:${runId}`,
    }),
  ]);
});
