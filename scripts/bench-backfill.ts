/**
 * npm run bench:backfill [-- --dates 30 --stages 3 --concurrency 5 --job-ms 0,1000]
 *
 * Backfills N dates × M chained glue.job stages against the local stack (real Temporal dev server,
 * real worker, AWS SDK over HTTP to the local gateway), once per simulated job length, and the same
 * AWS calls made by a plain loop at the same concurrency without Temporal. Prints dates per second,
 * the wall-time ratio (orchestration overhead), the median and p99 hand-off between one stage
 * ending and the next starting, and history events per run.
 */
import { parseArgs } from 'node:util';
import { GetJobRunCommand, GetJobRunsCommand, StartJobRunCommand } from '@aws-sdk/client-glue';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createAwsClients } from '../activities/aws-clients';
import { GLUE_KEY_ARGUMENT } from '../activities/kinds/glue';
import { nextPollDelayMs, pollBounds } from '../activities/polling';
import { startBackfill, waitForBackfill } from '../client/backfills';
import { dateRange } from '../common/dates';
import { temporalSettings } from '../common/env';
import { runWorkflowId, stageIdempotencyKey } from '../common/naming';
import { definePipeline, type PollSpec } from '../common/pipeline';
import { createGlueJob, uniqueName } from '../test/support/aws';
import { applyLocalEnv } from '../test/support/env';
import { gateway } from '../test/support/gateway';
import { createSluiceWorker } from '../workers/worker';

const { values } = parseArgs({
  options: {
    dates: { type: 'string', default: '30' },
    stages: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '5' },
    'job-ms': { type: 'string', default: '0,1000' },
  },
});
const N = Number(values.dates);
const M = Number(values.stages);
const C = Number(values.concurrency);
const JOB_MS = values['job-ms'].split(',').map(Number);
const POLL: PollSpec = { initial: '250ms', max: '1s' };
const FROM = '2023-01-01';
const dates = dateRange(FROM, dateRange(FROM, '2099-12-31')[N - 1] as string);

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: size }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}

/** The same AWS calls the stage runner makes, in a plain loop: find, start, poll with the same backoff. */
async function plainLoop(jobs: string[], pipeline: string): Promise<number> {
  const aws = createAwsClients();
  const bounds = pollBounds(POLL);
  const t0 = Date.now();
  await pool(dates, C, async (ds) => {
    for (const [i, job] of jobs.entries()) {
      const key = stageIdempotencyKey(pipeline, ds, `s${i}`, 0);
      await aws.glue.send(new GetJobRunsCommand({ JobName: job, MaxResults: 200 }));
      const { JobRunId } = await aws.glue.send(new StartJobRunCommand({ JobName: job, Arguments: { [GLUE_KEY_ARGUMENT]: key } }));
      const started = Date.now();
      for (;;) {
        const { JobRun } = await aws.glue.send(new GetJobRunCommand({ JobName: job, RunId: JobRunId }));
        if (JobRun?.JobRunState === 'SUCCEEDED') break;
        if (JobRun?.JobRunState !== 'STARTING' && JobRun?.JobRunState !== 'RUNNING') throw new Error(`job ended ${JobRun?.JobRunState}`);
        await new Promise((r) => setTimeout(r, nextPollDelayMs(Date.now() - started, bounds)));
      }
    }
  });
  aws.destroy();
  return Date.now() - t0;
}

async function main(): Promise<void> {
  applyLocalEnv();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const settings = { ...temporalSettings(), taskQueue: uniqueName('bench') };
  const nc = await NativeConnection.connect({ address: settings.address });
  const worker = await createSluiceWorker({ settings, connection: nc, maxConcurrentActivityTaskExecutions: 200 });
  const running = worker.run();
  const connection = await Connection.connect({ address: settings.address });
  const client = new Client({ connection, namespace: settings.namespace });

  console.log(`bench:backfill — ${N} dates × ${M} glue.job stages, concurrency ${C}, poll ${POLL.initial}→${POLL.max}, local stack`);
  const rows: string[][] = [];
  for (const jobMs of JOB_MS) {
    const jobs: string[] = [];
    for (let i = 0; i < M; i++) {
      const job = await createGlueJob(uniqueName('bench-job'), 1000);
      await gateway.setScenario({ service: 'glue', match: job, durationMs: jobMs });
      jobs.push(job);
    }
    const pipeline = definePipeline({
      name: uniqueName('bench'),
      defaults: { poll: POLL, timeout: { heartbeat: '30s' } },
      stages: jobs.map((job, i) => ({ id: `s${i}`, kind: 'glue.job' as const, dependsOn: i ? [`s${i - 1}`] : [], params: { JobName: job } })),
    });

    const t0 = Date.now();
    const started = await startBackfill(client, settings, pipeline, { from: dates[0] as string, to: dates[N - 1] as string, concurrency: C, only: 'all', order: 'oldest' });
    const outcome = await waitForBackfill(started.handle);
    const temporalMs = Date.now() - t0;
    if (outcome.status !== 'succeeded') throw new Error(`backfill ${outcome.status}: ${outcome.message}\n${JSON.stringify(outcome.report?.failed.slice(0, 3), null, 1)}`);

    const handoffs: number[] = [];
    const events: number[] = [];
    for (const ds of dates) {
      const history = await client.workflow.getHandle(runWorkflowId(pipeline.name, ds)).fetchHistory();
      const evs = history.events ?? [];
      events.push(evs.length);
      const time = (e: (typeof evs)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
      const completed = evs.filter((e) => e.activityTaskCompletedEventAttributes).map(time);
      const scheduled = evs.filter((e) => e.activityTaskScheduledEventAttributes).map(time);
      for (let i = 1; i < scheduled.length; i++) handoffs.push((scheduled[i] as number) - (completed[i - 1] as number));
    }
    handoffs.sort((a, b) => a - b);
    events.sort((a, b) => a - b);

    const plainMs = await plainLoop(jobs, `${pipeline.name}-plain`);
    rows.push([
      `${jobMs} ms`,
      (N / (temporalMs / 1000)).toFixed(2),
      (temporalMs / 1000).toFixed(1),
      (plainMs / 1000).toFixed(1),
      (temporalMs / plainMs).toFixed(2),
      String(percentile(handoffs, 50)),
      String(percentile(handoffs, 99)),
      String(percentile(events, 50)),
    ]);
  }
  const headers = ['job length', 'dates/s', 'Temporal wall s', 'plain loop s', 'overhead ×', 'hand-off p50 ms', 'hand-off p99 ms', 'events/run'];
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  console.log(line(headers));
  for (const r of rows) console.log(line(r));

  worker.shutdown();
  await running;
  await nc.close();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
