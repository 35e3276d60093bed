/**
 * npm run bench:cancel [-- --hold 8s]
 *
 * How fast a cancel stops AWS jobs, and how fast a stage fails over, at Sluice's DEFAULT settings
 * (heartbeat timeout, poll bounds, retry policy as shipped), against the local stack: real Temporal
 * dev server, real workers (one of them a separate `sluice worker` process that gets SIGKILL), the
 * AWS SDK over HTTP to the local gateway holding Glue runs RUNNING. Prints, per case, the time from
 * the cancel to the first BatchStopJobRun reaching AWS, and to the run (or backfill) closing —
 * which it does only once AWS confirmed every stop — and the failover time from SIGKILL to the
 * stage polling its job again from another worker.
 */
import type { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startBackfill } from '../client/backfills';
import { startRun } from '../client/runs';
import { durationMs } from '../common/durations';
import { temporalSettings, type TemporalSettings } from '../common/env';
import { definePipeline, type PipelineDefinition } from '../common/pipeline';
import { createGlueJob, glueRunStates, uniqueName } from '../test/support/aws';
import { spawnWorker } from '../test/support/cli';
import { applyLocalEnv } from '../test/support/env';
import { gateway } from '../test/support/gateway';
import { createSluiceWorker } from '../workers/worker';

const { values } = parseArgs({ options: { hold: { type: 'string', default: '8s' } } });
const HOLD_MS = durationMs(values.hold);
const DS = '2024-06-30';

applyLocalEnv();
Runtime.install({ logger: new DefaultLogger('ERROR') });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Milliseconds from `t0` until `cond` holds, checked every 50 ms. */
async function until(t0: number, what: string, cond: () => Promise<boolean>, limitMs = 600_000): Promise<number> {
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await sleep(50);
  }
}

const calls = (job: string, operation: string) => gateway.calls({ service: 'glue', operation, resource: job });

async function hangingPipeline(prefix: string): Promise<{ job: string; pipeline: PipelineDefinition }> {
  const job = await createGlueJob(uniqueName('job'), 100);
  await gateway.setScenario({ service: 'glue', match: job, outcome: 'HANG' });
  // No defaults: the shipped heartbeat, poll and retry settings.
  return {
    job,
    pipeline: definePipeline({
      name: uniqueName(prefix),
      stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
    }),
  };
}

async function killed(worker: ChildProcess): Promise<void> {
  const exited = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGKILL');
  await exited;
}

interface Row {
  case: string;
  stopRequested: number;
  closed: number;
  states: string;
}

async function main(): Promise<void> {
  const base = temporalSettings();
  const connection = await Connection.connect({ address: base.address });
  const client = new Client({ connection, namespace: base.namespace });
  const rows: Row[] = [];
  const liveQueue = uniqueName('bench-cancel');
  const settings: TemporalSettings = { ...base, taskQueue: liveQueue };
  const nc = await NativeConnection.connect({ address: base.address });
  const live = await createSluiceWorker({ settings, connection: nc });
  const liveDone = live.run();

  // 1. One run, its stage polling on a live worker.
  {
    const { job, pipeline } = await hangingPipeline('cancel-run');
    const started = await startRun(client, settings, pipeline, DS, { generation: 0 });
    await until(Date.now(), 'job polled', async () => (await calls(job, 'GetJobRun')) >= 1);
    await sleep(HOLD_MS);
    const t0 = Date.now();
    await started.handle.cancel();
    const stopRequested = await until(t0, 'stop requested', async () => (await calls(job, 'BatchStopJobRun')) >= 1);
    await started.handle.result().catch(() => undefined);
    rows.push({
      case: 'run, attempt on a live worker',
      stopRequested,
      closed: Date.now() - t0,
      states: (await glueRunStates(job)).join(','),
    });
  }

  // 2. One run whose worker was killed (-9) mid-wait; another worker is alive.
  {
    const queue = uniqueName('bench-orphan');
    const doomed = await spawnWorker({ SLUICE_TASK_QUEUE: queue });
    const rescuerNc = await NativeConnection.connect({ address: base.address });
    const { job, pipeline } = await hangingPipeline('cancel-orphan');
    const started = await startRun(client, { ...settings, taskQueue: queue }, pipeline, DS, { generation: 0 });
    await until(Date.now(), 'job polled', async () => (await calls(job, 'GetJobRun')) >= 1);
    await sleep(HOLD_MS);
    await killed(doomed);
    const rescuer = await createSluiceWorker({ settings: { ...settings, taskQueue: queue }, connection: rescuerNc });
    const rescuerDone = rescuer.run();
    const t0 = Date.now();
    await started.handle.cancel();
    const stopRequested = await until(t0, 'stop requested', async () => (await calls(job, 'BatchStopJobRun')) >= 1);
    await started.handle.result().catch(() => undefined);
    rows.push({
      case: 'run, its worker killed (-9), not timed out yet',
      stopRequested,
      closed: Date.now() - t0,
      states: (await glueRunStates(job)).join(','),
    });
    rescuer.shutdown();
    await rescuerDone;
    await rescuerNc.close();
  }

  // 3. A backfill: 6 dates at concurrency 3, three Glue runs held RUNNING.
  {
    const { job, pipeline } = await hangingPipeline('cancel-backfill');
    const bf = await startBackfill(client, settings, pipeline, {
      from: '2024-06-01',
      to: '2024-06-06',
      concurrency: 3,
      only: 'all',
      order: 'oldest',
    });
    await until(
      Date.now(),
      '3 jobs polled',
      async () => (await calls(job, 'StartJobRun')) >= 3 && (await calls(job, 'GetJobRun')) >= 3,
    );
    await sleep(HOLD_MS);
    const t0 = Date.now();
    await bf.handle.cancel();
    const stopRequested = await until(
      t0,
      'all 3 stops requested',
      async () => (await calls(job, 'BatchStopJobRun')) >= 3,
    );
    await bf.handle.result().catch(() => undefined);
    rows.push({
      case: 'backfill, 6 dates at concurrency 3 (last of 3 stops)',
      stopRequested,
      closed: Date.now() - t0,
      states: (await glueRunStates(job)).join(','),
    });
  }

  console.log(
    `bench:cancel — default settings, Glue runs held RUNNING by the gateway; cancel ${HOLD_MS / 1000} s into the wait`,
  );
  console.log('| case | cancel → stop requested at AWS | cancel → closed (stops confirmed) | Glue run states after |');
  console.log('|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.case} | ${(r.stopRequested / 1000).toFixed(2)} s | ${(r.closed / 1000).toFixed(2)} s | ${r.states} |`,
    );

  // 4. Failover: the worker running a stage is killed (-9) right after its first heartbeat.
  {
    const queue = uniqueName('bench-failover');
    const doomed = await spawnWorker({ SLUICE_TASK_QUEUE: queue });
    const otherNc = await NativeConnection.connect({ address: base.address });
    const other = await createSluiceWorker({ settings: { ...settings, taskQueue: queue }, connection: otherNc });
    const job = await createGlueJob();
    await gateway.setScenario({ service: 'glue', match: job, durationMs: 240_000, outcome: 'SUCCEEDED' });
    const pipeline = definePipeline({
      name: uniqueName('failover'),
      stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
    });
    // The other worker joins only after the doomed one has the stage, so the stage starts on the doomed one.
    const started = await startRun(client, { ...settings, taskQueue: queue }, pipeline, DS, { generation: 0 });
    await until(Date.now(), 'job polled', async () => (await calls(job, 'GetJobRun')) >= 1);
    const otherDone = other.run();
    await killed(doomed);
    const t0 = Date.now();
    const before = await calls(job, 'GetJobRun');
    const failover = await until(t0, 'stage resumed', async () => (await calls(job, 'GetJobRun')) > before);
    const starts = await calls(job, 'StartJobRun');
    await started.handle.cancel();
    await started.handle.result().catch(() => undefined);
    console.log(
      `\nfailover at defaults: SIGKILL right after the stage's first heartbeat → the stage polls its job again from another worker after ${(failover / 1000).toFixed(1)} s (StartJobRun calls: ${starts}; worst case = heartbeat timeout 60 s + first retry 10 s)`,
    );
    other.shutdown();
    await otherDone;
    await otherNc.close();
  }

  live.shutdown();
  await liveDone;
  await nc.close();
  await connection.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
