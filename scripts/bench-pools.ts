/**
 * npm run bench:pools [-- --dates 20 --concurrency 10 --max-runs 2 --job-ms 4000
 *                        --overhead-dates 3650 --overhead-concurrency 50 --overhead-slots 10 --skip-overhead]
 *
 * Pools against the local stack (real Temporal dev server, real worker, AWS SDK over HTTP to the
 * local gateway, which refuses StartJobRun past a Glue job's MaxConcurrentRuns as AWS does), side
 * by side in one run:
 *
 * 1. The limit: a backfill of `--dates` dates at `--concurrency` over one glue.job stage whose job
 *    allows `--max-runs` concurrent runs, each `--job-ms` long; once with the job's default pool
 *    (learned from GetJob) and once with `pool: none` (pools off: a refused start still waits
 *    inside its attempt), and with the pool and push completion on (a job's end noticed from its
 *    EventBridge event, not at the next poll). Prints dates failed, starts refused by AWS (share of all starts), the
 *    most runs at AWS at once, and wall time ÷ the limit's own time (dates × job ÷ max runs).
 * 2. The pools' own cost: `--overhead-dates` dates × 1 stage of a 0 ms job at
 *    `--overhead-concurrency`, through a pool of `--overhead-slots` (set by hand) and without a pool.
 *    The stage is an in-process activity that returns at once (`--overhead-stage mock`, default:
 *    the same workflows and pool, no AWS call, so that the local emulator's own latency under load
 *    does not make the pool's slots the bottleneck), or a near-zero athena.query through the
 *    gateway (`--overhead-stage real`). Prints dates/s of each and the difference.
 *
 * Goals (issue #18): 0 failed dates, refused ≤ 5 % of starts, wall ≤ 1.2 × the limit's time, overhead ≤ 15 %.
 */
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { backfillProgress, startBackfill, waitForBackfill } from '../client/backfills';
import { setPoolSlots } from '../client/pools';
import { dateRange } from '../common/dates';
import { temporalSettings, type TemporalSettings } from '../common/env';
import { definePipeline, type PipelineDefinition } from '../common/pipeline';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { awsClients, createGlueJob, glueRunPeak, uniqueName } from '../test/support/aws';
import { applyLocalEnv, LOCAL_EVENTS_QUEUE_URL } from '../test/support/env';
import { gateway } from '../test/support/gateway';
import { createSluiceWorker } from '../workers/worker';
import { createActivities } from '../activities';
import { releaseSlotFromActivity } from '../activities/pools';
import type { StageInput, StageResult } from '../common/run-types';

const { values } = parseArgs({
  options: {
    dates: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '10' },
    'max-runs': { type: 'string', default: '2' },
    'job-ms': { type: 'string', default: '4000' },
    'overhead-dates': { type: 'string', default: '3650' },
    'overhead-concurrency': { type: 'string', default: '50' },
    'overhead-slots': { type: 'string', default: '10' },
    'skip-overhead': { type: 'boolean', default: false },
    'skip-limit': { type: 'boolean', default: false },
    'overhead-stage': { type: 'string', default: 'mock' },
  },
});
const num = (flag: keyof typeof values, min: number): number => {
  const v = Number(values[flag]);
  if (!Number.isInteger(v) || v < min)
    throw new Error(`--${flag} must be a whole number >= ${min} (received "${String(values[flag])}")`);
  return v;
};
const N = num('dates', 1);
const C = num('concurrency', 1);
const MAX_RUNS = num('max-runs', 1);
const JOB_MS = num('job-ms', 0);
const ON = num('overhead-dates', 1);
const OC = num('overhead-concurrency', 1);
const OSLOTS = num('overhead-slots', 1);
if (values['overhead-stage'] !== 'mock' && values['overhead-stage'] !== 'real')
  throw new Error(`--overhead-stage must be mock or real (received "${values['overhead-stage']}")`);
const MOCK = values['overhead-stage'] === 'mock';
const FROM = '2023-01-01';
const lastDate = (n: number) => dateRange(FROM, '2099-12-31')[n - 1] as string;

async function backfill(
  client: Client,
  settings: TemporalSettings,
  pipeline: PipelineDefinition,
  dates: number,
  concurrency: number,
): Promise<{ wallMs: number; failed: number; succeeded: number }> {
  const t0 = Date.now();
  const started = await startBackfill(client, settings, pipeline, {
    from: FROM,
    to: lastDate(dates),
    concurrency,
    only: 'all',
    order: 'oldest',
  });
  await waitForBackfill(started.handle);
  const wallMs = Date.now() - t0;
  const { counts } = await backfillProgress(started.handle);
  return { wallMs, failed: counts.failed, succeeded: counts.succeeded };
}

async function limitCase(client: Client, settings: TemporalSettings, push: TemporalSettings): Promise<string[][]> {
  const limitS = (N * JOB_MS) / MAX_RUNS / 1000;
  console.log(
    `1. the limit — ${N} dates × 1 glue.job at concurrency ${C}; the job allows ${MAX_RUNS} concurrent runs (MaxConcurrentRuns), each ${JOB_MS / 1000} s; the limit's own time: ${N} × ${JOB_MS / 1000} s ÷ ${MAX_RUNS} = ${limitS} s`,
  );
  const rows: string[][] = [];
  const variants = [
    { label: 'pool (learned from GetJob)', pooled: true, on: settings },
    { label: 'pools off (pool: none)', pooled: false, on: settings },
    { label: 'pool, push completion on', pooled: true, on: push },
  ];
  for (const { label, pooled, on } of variants) {
    // The local events queue also holds the events of every earlier run nobody consumed (tests run
    // without push completion): start the push row from an empty queue, as a deployment's own queue is.
    if (on === push) await awsClients().sqs.send(new PurgeQueueCommand({ QueueUrl: LOCAL_EVENTS_QUEUE_URL }));
    const job = await createGlueJob(uniqueName(pooled ? 'bench-pool' : 'bench-nopool'), MAX_RUNS);
    await gateway.setScenario({ service: 'glue', match: job, durationMs: JOB_MS });
    const pipeline = definePipeline({
      name: uniqueName(pooled ? 'bench-pools-on' : 'bench-pools-off'),
      defaults: { poll: { initial: '250ms', max: '1s' }, timeout: { heartbeat: '30s' } },
      stages: [
        {
          id: 'transform',
          kind: 'glue.job',
          params: { JobName: job, Arguments: { '--ds': '{{ ds }}' } },
          ...(pooled ? {} : { pool: 'none' }),
        },
      ],
    });
    const r = await backfill(client, on, pipeline, N, C);
    const starts = await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job });
    const { runs, peak } = await glueRunPeak(job);
    const refused = starts - runs;
    rows.push([
      label,
      `${r.failed} of ${N}`,
      `${refused} of ${starts} (${((100 * refused) / Math.max(1, starts)).toFixed(1)} %)`,
      String(peak),
      `${(r.wallMs / 1000).toFixed(1)} s`,
      `${(r.wallMs / 1000 / limitS).toFixed(2)} ×`,
    ]);
  }
  return [['', 'dates failed', 'starts refused by AWS', 'most at AWS at once', 'wall time', 'wall ÷ limit'], ...rows];
}

async function overheadCase(client: Client, settings: TemporalSettings): Promise<string[][]> {
  if (MOCK) settings = mockSettings;
  console.log(
    `2. the pools' own cost — ${ON} dates × 1 stage (${MOCK ? 'an in-process activity returning at once: no AWS call' : 'a near-zero athena.query through the gateway'}) at concurrency ${OC}, through a pool of ${OSLOTS} and without a pool`,
  );
  const token = uniqueName('bench-pool-cost');
  await gateway.setScenario({ service: 'athena', match: `${token} `, durationMs: 0 });
  const poolName = uniqueName('bench-cost');
  await setPoolSlots(client, settings, poolName, OSLOTS);
  const rows: string[][] = [];
  const rates: number[] = [];
  for (const pooled of [false, true]) {
    const pipeline = definePipeline({
      name: uniqueName(pooled ? 'bench-cost-pool' : 'bench-cost-none'),
      defaults: { poll: { initial: '200ms', max: '1s' }, timeout: { heartbeat: '30s' } },
      stages: [
        {
          id: 'q',
          kind: 'athena.query',
          params: { QueryString: `SELECT '${token} {{ ds }}'` },
          pool: pooled ? poolName : 'none',
        },
      ],
    });
    const r = await backfill(client, settings, pipeline, ON, OC);
    const rate = ON / (r.wallMs / 1000);
    rates.push(rate);
    rows.push([
      pooled ? `pool of ${OSLOTS} (sluice pool set)` : 'no pool (pool: none)',
      `${r.failed}`,
      `${(r.wallMs / 1000).toFixed(1)} s`,
      rate.toFixed(1),
    ]);
  }
  const [none, pooled] = rates as [number, number];
  rows.push(['pools’ overhead', '', '', `${((100 * (none - pooled)) / none).toFixed(1)} % fewer dates/s`]);
  return [['', 'dates failed', 'wall time', 'dates/s'], ...rows];
}

function print(rows: string[][]): void {
  const widths = rows[0]!.map((_c, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(rows[0]!));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of rows.slice(1)) console.log(line(r));
  console.log('');
}

let mockSettings: TemporalSettings;

async function main(): Promise<void> {
  applyLocalEnv();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const settings = { ...temporalSettings(), taskQueue: uniqueName('bench-pools') };
  mockSettings = { ...settings, taskQueue: uniqueName('bench-pools-mock') };
  const nc = await NativeConnection.connect({ address: settings.address });
  const worker = await createSluiceWorker({
    settings,
    connection: nc,
    maxConcurrentActivityTaskExecutions: 400,
    maxConcurrentWorkflowTaskExecutions: 100,
  });
  // The same worker with push completion (EventBridge → SQS): a job's end is noticed when AWS emits it, not at the next poll.
  const push = { ...settings, taskQueue: uniqueName('bench-pools-push') };
  const pushNc = await NativeConnection.connect({ address: settings.address });
  const pushWorker = await createSluiceWorker({
    settings: push,
    connection: pushNc,
    stageEvents: { queueUrl: LOCAL_EVENTS_QUEUE_URL },
  });
  // The same worker with a stage that returns at once (the overhead case's mock stage).
  const mockNc = await NativeConnection.connect({ address: settings.address });
  const mockWorker = await createSluiceWorker({
    settings: mockSettings,
    connection: mockNc,
    maxConcurrentActivityTaskExecutions: 400,
    maxConcurrentWorkflowTaskExecutions: 100,
    workerOptions: {
      activities: {
        ...createActivities(),
        async runStage(input: StageInput): Promise<StageResult> {
          // As the real one: a stage holding a slot gives it back when its job has ended.
          return input.poolSlot && (await releaseSlotFromActivity(input.poolSlot))
            ? { summary: 'mock', poolReleased: true }
            : { summary: 'mock' };
        },
      },
    },
  });
  const running = Promise.all([worker.run(), pushWorker.run(), mockWorker.run()]);
  const connection = await Connection.connect({ address: settings.address });
  const client = new Client({ connection, namespace: settings.namespace });
  try {
    if (!values['skip-limit']) print(await limitCase(client, settings, push));
    if (!values['skip-overhead']) print(await overheadCase(client, settings));
  } finally {
    worker.shutdown();
    pushWorker.shutdown();
    mockWorker.shutdown();
    await running;
    await mockNc.close();
    await nc.close();
    await pushNc.close();
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
