/**
 * npm run bench:backfill [-- --dates 30 --stages 3 --concurrency 5 --job-ms 0,1000]
 *
 * Backfills N dates × M chained glue.job stages against the local stack (real Temporal dev server,
 * real worker, AWS SDK over HTTP to the local gateway), once per simulated job length, and the same
 * AWS calls made by a plain loop at the same concurrency without Temporal. Prints dates per second,
 * the wall-time ratio (orchestration overhead), the median and p99 hand-off between one stage
 * ending and the next starting, and history events per run.
 *
 * npm run bench:backfill -- --case drain [--dates 3650 --concurrency 50 --can-events 2000 --slow-every 300 --slow-ms 20000 --stage real|mock]
 *
 * Whether the window stays full across continue-as-new: N dates × 1 stage, the backfill forced to
 * continue as new every `--can-events` history events (a few hundred dates), and one slow date in
 * every `--slow-every` dates (so in about every run of the backfill). The stage is a near-zero
 * Athena query through the local gateway (`--stage real`, slow dates get a gateway scenario of
 * `--slow-ms`), or an in-process activity that just sleeps (`--stage mock`: same workflows, no AWS
 * calls). Prints the time-averaged fill of the window while dates remain to start (% of the
 * concurrency, from every run's start and close time in visibility), wall time, and events per
 * execution of the backfill and of a date's run.
 */
import { parseArgs } from 'node:util';
import { GetJobRunCommand, GetJobRunsCommand, StartJobRunCommand } from '@aws-sdk/client-glue';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createAwsClients } from '../activities/aws-clients';
import { GLUE_KEY_ARGUMENT } from '../kinds/glue-job/handler';
import { nextPollDelayMs, pollBounds } from '../activities/polling';
import { startBackfill, waitForBackfill } from '../client/backfills';
import type { StageInput, StageResult } from '../common/run-types';
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
    case: { type: 'string', default: 'stages' },
    'can-events': { type: 'string', default: '2000' },
    'slow-every': { type: 'string', default: '300' },
    'slow-ms': { type: 'string', default: '20000' },
    stage: { type: 'string', default: 'real' },
  },
});
const CASE = values.case;
if (CASE !== 'stages' && CASE !== 'drain') throw new Error(`--case must be stages or drain (received "${CASE}")`);
if (values.stage !== 'real' && values.stage !== 'mock')
  throw new Error(`--stage must be real or mock (received "${values.stage}")`);
for (const flag of ['dates', 'stages', 'concurrency', 'can-events', 'slow-every', 'slow-ms'] as const) {
  const v = Number(values[flag]);
  if (!Number.isInteger(v) || v < (flag === 'slow-ms' ? 0 : 1))
    throw new Error(
      `--${flag} must be a whole number${flag === 'slow-ms' ? '' : ' >= 1'} (received "${values[flag]}")`,
    );
}
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
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
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
      const { JobRunId } = await aws.glue.send(
        new StartJobRunCommand({ JobName: job, Arguments: { [GLUE_KEY_ARGUMENT]: key } }),
      );
      const started = Date.now();
      for (;;) {
        const { JobRun } = await aws.glue.send(new GetJobRunCommand({ JobName: job, RunId: JobRunId }));
        if (JobRun?.JobRunState === 'SUCCEEDED') break;
        if (JobRun?.JobRunState !== 'STARTING' && JobRun?.JobRunState !== 'RUNNING')
          throw new Error(`job ended ${JobRun?.JobRunState}`);
        await new Promise((r) => setTimeout(r, nextPollDelayMs(Date.now() - started, bounds)));
      }
    }
  });
  aws.destroy();
  return Date.now() - t0;
}

/** Time-averaged number of runs open at once over [from, to), from their [start, close) intervals. */
function averageOpen(runs: { start: number; close: number }[], from: number, to: number): number {
  if (to <= from) return NaN;
  let covered = 0;
  for (const r of runs) covered += Math.max(0, Math.min(r.close, to) - Math.max(r.start, from));
  return covered / (to - from);
}

const isSlow = (index: number, every: number) => index % every === Math.floor(every / 2);

async function drainCase(): Promise<void> {
  const canEvents = Number(values['can-events']);
  const slowEvery = Number(values['slow-every']);
  const slowMs = Number(values['slow-ms']);
  const mock = values.stage === 'mock';
  const token = uniqueName('bench-drain');
  const slowDates = new Set(dates.filter((_d, i) => isSlow(i, slowEvery)));
  const settings = { ...temporalSettings(), taskQueue: uniqueName('bench') };
  const nc = await NativeConnection.connect({ address: settings.address });
  const activities = mock
    ? {
        ...createActivities(),
        // The same workflows with a stage that makes no AWS call: near-zero, or slowMs for a slow date.
        async runStage(input: StageInput): Promise<StageResult> {
          if (slowDates.has(input.ds)) await Context.current().sleep(slowMs);
          return { summary: 'mock' };
        },
      }
    : undefined;
  const worker = await createSluiceWorker({
    settings,
    connection: nc,
    maxConcurrentActivityTaskExecutions: 400,
    maxConcurrentWorkflowTaskExecutions: 100,
    ...(activities ? { workerOptions: { activities } } : {}),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: settings.address });
  const client = new Client({ connection, namespace: settings.namespace });
  try {
    if (!mock) {
      // Scenarios match a substring of the query; the most recently set wins, so slow dates go last.
      await gateway.setScenario({ service: 'athena', match: `${token} `, durationMs: 0 });
      for (const ds of slowDates)
        await gateway.setScenario({ service: 'athena', match: `${token} ${ds}'`, durationMs: slowMs });
    }
    const pipeline = definePipeline({
      name: token,
      defaults: { poll: { initial: '200ms', max: '1s' }, timeout: { heartbeat: '30s' } },
      stages: [{ id: 'q', kind: 'athena.query', params: { QueryString: `SELECT '${token} {{ ds }}'` } }],
    });
    console.log(
      `bench:backfill --case drain — ${N} dates × 1 stage (${mock ? 'mocked in-process stage: no AWS calls' : 'athena.query through the local gateway, near-zero'}), concurrency ${C}, ` +
        `continue-as-new every ${canEvents} events, one ${slowMs / 1000} s date in every ${slowEvery} (${slowDates.size} slow dates)`,
    );
    const t0 = Date.now();
    const started = await startBackfill(
      client,
      settings,
      pipeline,
      { from: dates[0] as string, to: dates[N - 1] as string, concurrency: C, only: 'all', order: 'oldest' },
      { continueAsNewAfterEvents: canEvents },
    );
    const outcome = await waitForBackfill(started.handle);
    const wallMs = Date.now() - t0;
    if (outcome.status !== 'succeeded') throw new Error(`backfill ${outcome.status}: ${outcome.message}`);

    // The window as the backfill holds it: a date is in it from the start of its run (the
    // StartChildWorkflowExecutionInitiated event of the run of the backfill that launched it) until
    // the backfill learns that it ended (its child-closed event, or — carried across
    // continue-as-new — the completion of the next run's awaitRun of it).
    const windowIn = new Map<string, { start: number; close: number }>();
    const segments: number[] = [];
    const time = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) =>
      Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
    const dsOf = (workflowId: string | null | undefined) => (workflowId ?? '').slice(pipeline.name.length + 1);
    const histories = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId = "${started.workflowId}"` }))
      histories.push((await client.workflow.getHandle(started.workflowId, wf.runId).fetchHistory()).events ?? []);
    // In the order the runs ran (visibility lists the newest first).
    histories.sort((a, b) => (a[0] ? time(a[0]) : 0) - (b[0] ? time(b[0]) : 0));
    let failedTasks = 0;
    for (const events of histories) {
      segments.push(events.length);
      failedTasks += events.filter((e) => e.workflowTaskFailedEventAttributes).length;
      const awaited = new Map<string, string>();
      for (const e of events) {
        const t = time(e);
        const start = e.startChildWorkflowExecutionInitiatedEventAttributes;
        // A date whose start was unconfirmed at continue-as-new is started again by the next run: it
        // has been in the window since its first start.
        if (start && !windowIn.has(dsOf(start.workflowId)))
          windowIn.set(dsOf(start.workflowId), { start: t, close: Infinity });
        const closed =
          e.childWorkflowExecutionCompletedEventAttributes ??
          e.childWorkflowExecutionFailedEventAttributes ??
          e.childWorkflowExecutionCanceledEventAttributes ??
          e.childWorkflowExecutionTerminatedEventAttributes ??
          e.childWorkflowExecutionTimedOutEventAttributes;
        if (closed) (windowIn.get(dsOf(closed.workflowExecution?.workflowId)) ?? { close: 0 }).close = t;
        const scheduled = e.activityTaskScheduledEventAttributes;
        // A date started through an activity (the hand-over before continue-as-new) is in the
        // window from that start's scheduling.
        if (scheduled?.activityType?.name === 'startDateRun') {
          const data = scheduled.input?.payloads?.[0]?.data;
          const ds = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { input: { ds: string } }).input.ds : '';
          if (ds && !windowIn.has(ds)) windowIn.set(ds, { start: t, close: Infinity });
        }
        if (scheduled?.activityType?.name === 'awaitRun') {
          const data = scheduled.input?.payloads?.[0]?.data;
          if (data) awaited.set(String(e.eventId), dsOf(JSON.parse(Buffer.from(data).toString('utf8')) as string));
        }
        const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
        const ds = done ? awaited.get(String(done.scheduledEventId)) : undefined;
        if (ds) (windowIn.get(ds) ?? { close: 0 }).close = t;
      }
    }
    const held = [...windowIn.values()];
    if (held.length !== N || held.some((h) => !Number.isFinite(h.close)))
      throw new Error(`the histories account for ${held.length} of ${N} dates`);
    const firstStart = Math.min(...held.map((r) => r.start));
    const lastStart = Math.max(...held.map((r) => r.start));
    const fill = averageOpen(held, firstStart, lastStart) / C;

    // The same over the runs themselves (visibility: each run's start and close): on the dev
    // server a parent's child starts go one at a time (~100 ms each), which bounds how many
    // near-zero runs are open at once whatever the window.
    const query = `SluicePipeline = "${pipeline.name}" AND WorkflowType = "runPipeline" AND ExecutionStatus != "Running"`;
    for (let i = 0; (await client.workflow.count(query)).count < N; i++) {
      if (i > 300) throw new Error('visibility never listed every run');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const runs: { start: number; close: number }[] = [];
    const closedAt = new Map<string, number>();
    for await (const wf of client.workflow.list({ query })) {
      runs.push({ start: wf.startTime.getTime(), close: (wf.closeTime ?? new Date()).getTime() });
      closedAt.set(dsOf(wf.workflowId), (wf.closeTime ?? new Date()).getTime());
    }
    const open = averageOpen(runs, Math.min(...runs.map((r) => r.start)), Math.max(...runs.map((r) => r.start)));
    // Strict: a date fills its slot from the backfill's start of it until its run closed — a run
    // that ended before the backfill noticed (or before the next run of the backfill awaited it)
    // holds a slot it does not use.
    const strict = [...windowIn.entries()].map(([ds, h]) => ({
      start: h.start,
      close: Math.min(h.close, closedAt.get(ds) ?? h.close),
    }));
    const strictFill = averageOpen(strict, firstStart, lastStart) / C;

    const dateEvents =
      (await client.workflow.getHandle(runWorkflowId(pipeline.name, dates[1] as string)).fetchHistory()).events
        ?.length ?? 0;
    segments.sort((a, b) => a - b);
    const rows: [string, string][] = [
      ['dates', String(N)],
      ['runs of the backfill (continue-as-new + 1)', String(segments.length)],
      ['dates per run of the backfill', (N / segments.length).toFixed(0)],
      ['window fill while dates remain (time-averaged)', `${(fill * 100).toFixed(1)} % of ${C}`],
      ['  strict: until the run closed', `${(strictFill * 100).toFixed(1)} % of ${C}`],
      ['runs actually open meanwhile (time-averaged)', `${open.toFixed(1)}`],
      ['wall time', `${(wallMs / 1000).toFixed(1)} s`],
      ['dates/s', (N / (wallMs / 1000)).toFixed(1)],
      [
        'events per backfill execution (min / median / max)',
        `${segments[0]} / ${percentile(segments, 50)} / ${segments[segments.length - 1]}`,
      ],
      ['events per date run (1 stage)', String(dateEvents)],
      ['failed workflow tasks of the backfill (e.g. continue-as-new refused)', String(failedTasks)],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
  } finally {
    worker.shutdown();
    await running;
    await nc.close();
    await connection.close();
  }
}

async function main(): Promise<void> {
  applyLocalEnv();
  if (CASE === 'drain') {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    return drainCase();
  }
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const settings = { ...temporalSettings(), taskQueue: uniqueName('bench') };
  const nc = await NativeConnection.connect({ address: settings.address });
  const worker = await createSluiceWorker({ settings, connection: nc, maxConcurrentActivityTaskExecutions: 200 });
  const running = worker.run();
  const connection = await Connection.connect({ address: settings.address });
  const client = new Client({ connection, namespace: settings.namespace });

  console.log(
    `bench:backfill — ${N} dates × ${M} glue.job stages, concurrency ${C}, poll ${POLL.initial}→${POLL.max}, local stack`,
  );
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
      stages: jobs.map((job, i) => ({
        id: `s${i}`,
        kind: 'glue.job' as const,
        dependsOn: i ? [`s${i - 1}`] : [],
        params: { JobName: job },
      })),
    });

    const t0 = Date.now();
    const started = await startBackfill(client, settings, pipeline, {
      from: dates[0] as string,
      to: dates[N - 1] as string,
      concurrency: C,
      only: 'all',
      order: 'oldest',
    });
    const outcome = await waitForBackfill(started.handle);
    const temporalMs = Date.now() - t0;
    if (outcome.status !== 'succeeded')
      throw new Error(
        `backfill ${outcome.status}: ${outcome.message}\n${JSON.stringify(outcome.report?.failed.slice(0, 3), null, 1)}`,
      );

    const handoffs: number[] = [];
    const events: number[] = [];
    for (const ds of dates) {
      const history = await client.workflow.getHandle(runWorkflowId(pipeline.name, ds)).fetchHistory();
      const evs = history.events ?? [];
      events.push(evs.length);
      const time = (e: (typeof evs)[number]) =>
        Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
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
  const headers = [
    'job length',
    'dates/s',
    'Temporal wall s',
    'plain loop s',
    'overhead ×',
    'hand-off p50 ms',
    'hand-off p99 ms',
    'events/run',
  ];
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
