/**
 * `pipeline.wait` end to end: a real worker on the dev server, one run waiting for another
 * pipeline's run of the same date. The waiting activity long-polls the other run's close, so the
 * wait ends right after it; a failed run ends the wait at once, a missing one at the deadline, and
 * cancelling the waiting run ends it (and its activity) at once.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Worker } from '@temporalio/worker';
import { ERROR_TYPES } from '../../common/constants';
import { definePipeline, type PipelineDefinition } from '../../common/pipeline';
import type { RunStatus, StageStatus } from '../../common/run-types';
import { readRunStatus, startRun, type StartedRun } from '../../client/runs';
import { awsClients, createBucket, uniqueName } from '../support/aws';
import { fileContext, waitFor, temporalTestContext, type TestContext } from '../support/temporal';

const DS = '2024-03-01';
const ctx = fileContext('e2e-pipeline-wait');
let worker: Worker;

beforeAll(async () => {
  worker = (await ctx.startWorker()).worker;
});

/** A run waiting for `upstream`'s run of DS; quick checks while that run does not exist yet. */
function waiter(
  upstream: string,
  total = '30s',
  extra: Partial<PipelineDefinition['stages'][number]> = {},
): PipelineDefinition {
  return definePipeline({
    name: uniqueName('reports'),
    stages: [
      {
        id: 'clicks_ready',
        kind: 'pipeline.wait',
        params: { pipeline: upstream, date: '{{ ds }}' },
        timeout: { total },
        poll: { initial: '200ms', max: '500ms' },
        ...extra,
      },
    ],
  });
}

const start = (p: PipelineDefinition, on: TestContext = ctx): Promise<StartedRun> =>
  startRun(on.client, on.settings, p, DS, { generation: 0 });

/** Until the wait stage's activity runs. */
const waiting = (run: StartedRun) =>
  waitFor('the wait stage to run', async () => ((await run.handle.describe()).raw.pendingActivities?.length ?? 0) > 0);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function closed(run: StartedRun): Promise<{ status: string; closedAtMs: number }> {
  await run.handle.result().catch(() => undefined);
  const d = await run.handle.describe();
  return { status: d.status.name, closedAtMs: d.closeTime!.getTime() };
}

async function stageOf(run: StartedRun): Promise<StageStatus> {
  await run.handle.result().catch(() => undefined);
  const status = (await readRunStatus(ctx.client.workflow, run.workflowId, run.runId)) as RunStatus;
  return status.stages[0]!;
}

test("the other pipeline's run starts later and succeeds: the wait succeeds right after it, with its run", async () => {
  const bucket = await createBucket();
  const upstream = definePipeline({
    name: uniqueName('clicks'),
    stages: [
      {
        id: 'landed',
        kind: 's3.wait',
        params: { Bucket: bucket, Key: 'clicks/{{ ds }}.json' },
        poll: { initial: '200ms', max: '200ms' },
      },
    ],
  });
  const wait = await start(waiter(upstream.name));
  await waiting(wait);
  await sleep(500); // a few checks find no run
  const other = await start(upstream);
  await sleep(1_000); // the waiter has found it running and long-polls its close
  await awsClients().s3.send(new PutObjectCommand({ Bucket: bucket, Key: `clicks/${DS}.json`, Body: '{}' }));

  const up = await closed(other);
  expect(up.status).toBe('COMPLETED');
  const result = await wait.handle.result();
  const stage = result.stages[0]!;
  expect(stage.state).toBe('succeeded');
  expect(stage.result?.output).toEqual({
    workflowId: `${upstream.name}/${DS}`,
    runId: other.runId,
    status: 'Succeeded',
    closedAt: new Date(up.closedAtMs).toISOString(),
  });
  const lagMs = Date.parse(stage.endedAt!) - up.closedAtMs;
  expect(lagMs).toBeGreaterThanOrEqual(0);
  expect(lagMs).toBeLessThan(2_000);
});

test("the other run fails: the wait fails at once with the run's failure", async () => {
  const upstream = definePipeline({
    name: uniqueName('clicks'),
    stages: [
      { id: 'load', kind: 's3.put', params: { Bucket: 'nowhere', Key: 'k', BodyFile: '/nonexistent/clicks.json' } },
    ],
  });
  const wait = await start(waiter(upstream.name));
  await waiting(wait);
  const other = await start(upstream);
  const up = await closed(other);
  expect(up.status).toBe('FAILED');

  const stage = await stageOf(wait);
  expect(stage.state).toBe('failed');
  expect(stage.error?.type).toBe(ERROR_TYPES.jobFailed);
  expect(stage.error?.message).toMatch(
    new RegExp(
      `^${upstream.name}/${DS} failed: Stage "load" \\(s3\\.put\\) failed: stage load: cannot read BodyFile /nonexistent/clicks\\.json`,
    ),
  );
  expect(Date.parse(stage.endedAt!) - up.closedAtMs).toBeLessThan(2_000);
  expect((await wait.handle.describe()).status.name).toBe('FAILED');
});

test('no run ever appears: SensorTimeoutError at the stage deadline, naming the pipeline and the date', async () => {
  const missing = uniqueName('never');
  const wait = await start(waiter(missing, '3s'));
  const stage = await stageOf(wait);
  expect(stage.state).toBe('failed');
  expect(stage.error?.type).toBe(ERROR_TYPES.sensorTimeout);
  expect(stage.error?.message).toBe(
    `${missing}/${DS} did not succeed before the stage deadline: no run of ${missing} for ${DS} has started`,
  );
  const tookMs = Date.parse(stage.endedAt!) - Date.parse(stage.startedAt!);
  expect(tookMs).toBeGreaterThanOrEqual(2_900);
  expect(tookMs).toBeLessThan(6_000);
});

test('cancelling the waiting run ends it CANCELED at once, and its activity with it; nothing is stopped at AWS', async () => {
  const wait = await start(waiter(uniqueName('never'), '10m'));
  await waiting(wait);
  await sleep(300);
  const t0 = Date.now();
  await wait.handle.cancel();
  const { status, closedAtMs } = await closed(wait);
  expect(status).toBe('CANCELLED');
  expect(closedAtMs - t0).toBeLessThan(3_000);
  // The activity sees its run close without waiting for a heartbeat (≥ 48 s away at the defaults).
  await waitFor('the wait activity to end', async () => worker.getStatus().numInFlightActivities === 0, 3_000, 50);

  const run = (await readRunStatus(ctx.client.workflow, wait.workflowId, wait.runId)) as RunStatus;
  expect(run.stages[0]).toMatchObject({ state: 'cancelled' });
  expect(run.stops).toEqual([expect.objectContaining({ stageId: 'clicks_ready', result: 'unstoppable' })]);
});

test('a worker restart mid-wait: the next attempt, on another worker, just waits on', async () => {
  const own = await temporalTestContext('e2e-pipeline-wait-restart');
  try {
    const first = await own.startWorker({ shutdownGraceTime: '500ms' });
    const upstream = definePipeline({
      name: uniqueName('clicks'),
      stages: [{ id: 'load', kind: 's3.put', params: { Bucket: await createBucket(), Key: 'k', Body: 'x' } }],
    });
    const wait = await start(waiter(upstream.name, '30s', { retry: { initialInterval: '200ms' } }), own);
    await waiting(wait);
    await first.stop(); // the attempt is cancelled by the shutdown: it fails, to be retried
    await own.startWorker();
    await waitFor('the second attempt', async () =>
      (await wait.handle.describe()).raw.pendingActivities?.some((a) => (a.attempt ?? 0) >= 2),
    );
    const other = await start(upstream);
    const up = await closed(other);
    expect(up.status).toBe('COMPLETED');
    const stage = (await wait.handle.result()).stages[0]!;
    expect(stage.state).toBe('succeeded');
    expect(stage.result?.output).toMatchObject({ runId: other.runId, status: 'Succeeded' });
    expect(Date.parse(stage.endedAt!) - up.closedAtMs).toBeLessThan(2_000);
  } finally {
    await own.close();
  }
});
