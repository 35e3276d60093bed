/**
 * The production worker process (`sluice worker` with SLUICE_HTTP_PORT) on the real dev server:
 * /healthz answers 200 while it runs, and after a pipeline runs /metrics serves the SDK's metrics
 * and Sluice's own (runs by outcome, stage attempts and durations by kind), and its stdout carries
 * JSON log lines with the run, stage and job ids and CloudWatch EMF records.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { definePipeline } from '../../common/pipeline';
import { startRun, waitForRun } from '../../client/runs';
import { createBucket, createGlueJob, uniqueName } from '../support/aws';
import { spawnWorker } from '../support/cli';
import { gateway } from '../support/gateway';
import { temporalTestContext, waitFor, type TestContext } from '../support/temporal';

let ctx: TestContext;
let worker: ChildProcess | undefined;
const lines: Record<string, unknown>[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

let httpPort: number;

beforeAll(async () => {
  ctx = await temporalTestContext('e2e-metrics');
  httpPort = await freePort();
  const sdkPort = await freePort();
  worker = await spawnWorker({
    SLUICE_TASK_QUEUE: ctx.settings.taskQueue,
    SLUICE_HTTP_PORT: String(httpPort),
    SLUICE_SDK_METRICS_PORT: String(sdkPort),
    SLUICE_LOG_LEVEL: 'INFO',
  });
  let buffered = '';
  worker.stdout?.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const p of parts) if (p.startsWith('{')) lines.push(JSON.parse(p) as Record<string, unknown>);
  });
});

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker?.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
  }
  await ctx?.close();
});

test('after a run, /metrics serves Sluice metrics by kind and outcome; /healthz is 200; logs are JSON with EMF', async () => {
  const base = `http://127.0.0.1:${httpPort}`;
  const health = await fetch(`${base}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ state: 'RUNNING' });

  const bucket = await createBucket();
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 800, outcome: 'SUCCEEDED' });
  const pipeline = definePipeline({
    name: uniqueName('metrics'),
    defaults: {
      poll: { initial: '200ms', max: '1s' },
      timeout: { heartbeat: '3s' },
      retry: { initialInterval: '200ms' },
    },
    stages: [
      { id: 'land', kind: 's3.put', params: { Bucket: bucket, Key: 'raw/{{ ds }}.csv', Body: 'a,b\n' } },
      {
        id: 'transform',
        kind: 'glue.job',
        dependsOn: ['land'],
        params: { JobName: job, WorkerType: 'G.1X', NumberOfWorkers: 2 },
      },
    ],
  });
  const started = await startRun(ctx.client, ctx.settings, pipeline, '2024-03-01', { generation: 0 });
  const outcome = await waitForRun(started.handle);
  if (!outcome.ok) throw new Error(outcome.message);
  const jobId = outcome.status.stages[1]?.jobId as string;

  const p = `pipeline="${pipeline.name}"`;
  const metrics = await waitFor('Sluice metrics on /metrics', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return text.includes('sluice_runs_completed_total') && text.includes('kind="glue.job"') ? text : undefined;
  });
  const sample = (name: string, ...labels: string[]) =>
    metrics.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)));
  // The SDK's own metrics are there too.
  expect(metrics).toMatch(/^temporal_activity_schedule_to_start_latency_bucket\{/m);
  expect(sample('sluice_runs_started_total', p)).toMatch(/ 1$/);
  expect(sample('sluice_runs_completed_total', p, 'outcome="succeeded"')).toMatch(/ 1$/);
  expect(sample('sluice_stage_attempts_total', p, 'kind="s3.put"', 'outcome="succeeded"')).toMatch(/ 1$/);
  expect(sample('sluice_stage_attempts_total', p, 'kind="glue.job"', 'outcome="succeeded"')).toMatch(/ 1$/);
  expect(sample('sluice_stage_duration_seconds_count', p, 'kind="glue.job"')).toMatch(/ 1$/);
  expect(sample('sluice_stage_duration_seconds_bucket', p, 'kind="glue.job"', 'le="3600"')).toMatch(/ 1$/);
  expect(sample('sluice_run_duration_seconds_count', p, 'outcome="succeeded"')).toMatch(/ 1$/);

  // Logs: the job start line carries the run, stage, kind and AWS job id.
  const jobLine = await waitFor('the job-started log line', async () =>
    lines.find((l) => l.msg === 'job started' && l.jobId === jobId),
  );
  expect(jobLine).toMatchObject({
    level: 'info',
    workflowId: started.workflowId,
    runId: started.runId,
    stage: 'transform',
    kind: 'glue.job',
    pipeline: pipeline.name,
  });
  // EMF: one record per ended stage and run, with the pipeline and stage-kind dimensions.
  const stageEmf = await waitFor('the glue.job stage EMF record', async () =>
    lines.find((l) => l.StageKind === 'glue.job' && l.Pipeline === pipeline.name && 'StageSucceeded' in l),
  );
  expect(stageEmf).toMatchObject({
    StageSucceeded: 1,
    StageFailed: 0,
    _aws: { CloudWatchMetrics: [{ Namespace: 'Sluice', Dimensions: [['Pipeline', 'StageKind'], ['StageKind']] }] },
  });
  expect(typeof stageEmf?.StageDuration).toBe('number');
  // What the stage cost (G.1X × 2 = 2 DPU, billed at least a minute) and its Temporal actions.
  expect(stageEmf?.StageTemporalActions).toBeGreaterThanOrEqual(2);
  expect(stageEmf?.StageCostUSD).toBeGreaterThanOrEqual(((60 * 2) / 3600) * 0.44);
  expect(
    (stageEmf?._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]?.Metrics.map(
      (m) => m.Name,
    ),
  ).toEqual(expect.arrayContaining(['StageCostUSD', 'StageTemporalActions']));
  const runEmf = await waitFor('the run EMF record', async () =>
    lines.find((l) => l.Pipeline === pipeline.name && l.RunSucceeded === 1),
  );
  expect(runEmf).toMatchObject({
    RunFailed: 0,
    workflowId: started.workflowId,
    _aws: { CloudWatchMetrics: [{ Namespace: 'Sluice', Dimensions: [['Pipeline'], []] }] },
  });
  expect(lines.filter((l) => l.Pipeline === pipeline.name && l.RunStarted === 1)).toHaveLength(1);
  // Schedule-to-start, for the fleet-too-small alarm: one record per attempt, by kind.
  expect(
    lines
      .filter(
        (l) =>
          l.msg === 'stage attempt started' &&
          l.workflowId === started.workflowId &&
          typeof l.StageScheduleToStart === 'number',
      )
      .map((l) => l.StageKind),
  ).toEqual(['s3.put', 'glue.job']);
});

test('a stage attempt that errors logs "stage attempt error" with the error’s message and type', async () => {
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 300, outcome: 'SUCCEEDED' });
  // Three throttles: the SDK's own three tries of the first attempt; the stage's second attempt succeeds.
  await gateway.addFault({ service: 'glue', operation: 'StartJobRun', resource: job, kind: 'throttle', times: 3 });
  const pipeline = definePipeline({
    name: uniqueName('logerr'),
    defaults: {
      poll: { initial: '200ms', max: '1s' },
      timeout: { heartbeat: '3s' },
      retry: { initialInterval: '200ms', maximumAttempts: 3 },
    },
    stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
  });
  const started = await startRun(ctx.client, ctx.settings, pipeline, '2024-03-01', { generation: 0 });
  const outcome = await waitForRun(started.handle);
  if (!outcome.ok) throw new Error(outcome.message);
  const line = await waitFor('the stage attempt error line', async () =>
    lines.find((l) => l.msg === 'stage attempt error' && l.workflowId === started.workflowId),
  );
  expect(line).toMatchObject({
    level: 'warn',
    stage: 'transform',
    kind: 'glue.job',
    attempt: 1,
    outcome: 'error',
    errorType: 'AwsTransientError',
    error: 'Glue start failed: ThrottlingException: Rate exceeded (injected by the Sluice gateway)',
  });
});
