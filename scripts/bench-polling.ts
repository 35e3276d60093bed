/**
 * npm run bench:polling [-- --initial 2s --max 2m --heartbeat 60s --retry-initial 10s --jobs 12 --fallback 10m]
 *
 * Part 1, measured on the local stack: push completion (jobs' EventBridge state-change events, see
 * common/stage-events.ts) against polling, on real Glue stages through a real worker and the dev
 * server. The gateway emits each run's event when it ends and logs the instant; the delay is from
 * the job's end (and from the event's emission) to the stage's confirming status call. Then the
 * table for jobs of 10 min, 1 h and 24 h: push's measured delay (it does not depend on the job's
 * length) and its status calls (one when armed, one fallback poll per `--fallback`, one after the
 * event) beside polling's, computed below.
 *
 * Part 2, polling alone:
 * What waiting on one AWS job costs with Sluice's adaptive polling, for jobs of different lengths:
 * status calls to AWS, heartbeats reaching Temporal (billable actions on Temporal Cloud), the
 * worst-case delay between the job ending and Sluice noticing, and — for comparison — the state
 * transitions of a Step Functions Wait→Get→Choice polling loop at a fixed 30 s. Computed from the
 * same functions the stage runner uses (activities/polling.ts) and the SDK's heartbeat throttle
 * (at most one heartbeat per min(80% of the heartbeat timeout, the worker's max throttle, 2 min by
 * default) reaches the server). Also prints what the heartbeat timeout buys: the worst failover
 * time after a worker dies (heartbeat timeout + the first retry interval). A cancel does not
 * depend on it: the run stops its jobs from any worker at once (bench:cancel measures it).
 */
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { nextPollDelayMs, pollBounds } from '../activities/polling';
import { startRun, waitForRun } from '../client/runs';
import { durationMs } from '../common/durations';
import { temporalSettings } from '../common/env';
import { definePipeline, type DurationSpec } from '../common/pipeline';
import { createGlueJob, uniqueName } from '../test/support/aws';
import { applyLocalEnv, LOCAL_EVENTS_QUEUE_URL } from '../test/support/env';
import { gateway } from '../test/support/gateway';
import { createSluiceWorker } from '../workers/worker';

const { values } = parseArgs({
  options: {
    initial: { type: 'string', default: '2s' },
    max: { type: 'string', default: '2m' },
    heartbeat: { type: 'string', default: '60s' },
    'retry-initial': { type: 'string', default: '10s' },
    'heartbeat-throttle': { type: 'string', default: '2m' },
    jobs: { type: 'string', default: '12' },
    'job-length': { type: 'string', default: '20s' },
    fallback: { type: 'string', default: '10m' },
    'model-only': { type: 'boolean', default: false },
  },
});
const bounds = pollBounds({ initial: values.initial as DurationSpec, max: values.max as DurationSpec });
const heartbeatMs = durationMs(values.heartbeat);
const throttleMs = Math.min(0.8 * heartbeatMs, durationMs(values['heartbeat-throttle']));
const SFN_WAIT_MS = 30_000;
const SFN_TRANSITIONS_PER_LOOP = 3; // Wait, GetJobRun task, Choice
const SFN_USD_PER_TRANSITION = 0.025 / 1000;
const TEMPORAL_USD_PER_ACTION = 50 / 1_000_000;

function simulate(jobMs: number): { calls: number; worstDelayMs: number } {
  let t = 0;
  let calls = 0;
  let worstDelayMs = 0;
  while (t < jobMs) {
    calls++;
    const delay = nextPollDelayMs(t, bounds);
    // A job that ends just after this call is noticed one interval later.
    worstDelayMs = Math.max(worstDelayMs, delay);
    t += delay;
  }
  return { calls: calls + 1, worstDelayMs };
}

interface Measured {
  mode: 'push' | 'poll';
  /** ms from each job's end to the stage's confirming status call */
  fromEnd: number[];
  /** ms from each event's emission (push only) */
  fromEmit: number[];
  statusCalls: number[];
  noticedBy: string[];
}

const quantile = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
};
const ms = (x: number): string => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);

/** `jobs` Glue stages of `lengthMs` each, run at once on a worker with push completion on or off. */
async function measure(mode: 'push' | 'poll', jobs: number, lengthMs: number): Promise<Measured> {
  const base = temporalSettings();
  const settings = { ...base, taskQueue: uniqueName(`bench-polling-${mode}`) };
  const connection = await Connection.connect({ address: base.address });
  const client = new Client({ connection, namespace: base.namespace });
  const nc = await NativeConnection.connect({ address: base.address });
  const worker = await createSluiceWorker({
    settings,
    connection: nc,
    stageEvents:
      mode === 'push'
        ? { queueUrl: LOCAL_EVENTS_QUEUE_URL, enabled: true, fallbackPollMs: durationMs(values.fallback) }
        : { enabled: false },
  });
  const running = worker.run();
  const out: Measured = { mode, fromEnd: [], fromEmit: [], statusCalls: [], noticedBy: [] };
  try {
    const names = await Promise.all(Array.from({ length: jobs }, () => createGlueJob()));
    for (const job of names) await gateway.setScenario({ service: 'glue', match: job, durationMs: lengthMs });
    const runs = await Promise.all(
      names.map((job, i) =>
        startRun(
          client,
          settings,
          definePipeline({
            name: uniqueName(`bench-${mode}`),
            // The shipped poll bounds (2 s → 2 min at 20 % of the job's age) unless overridden.
            defaults: { poll: { initial: values.initial as DurationSpec, max: values.max as DurationSpec } },
            stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
          }),
          `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
          { generation: 0 },
        ),
      ),
    );
    const outcomes = await Promise.all(runs.map((r) => waitForRun(r.handle)));
    for (const [i, o] of outcomes.entries()) {
      if (!o.ok) throw new Error(o.message);
      const job = names[i] as string;
      const stage = o.status.stages[0];
      const [event] = await gateway.events(stage?.jobId as string);
      if (!event) throw new Error(`no event logged for ${job}`);
      const calls = (await gateway.callLog({ service: 'glue', operation: 'GetJobRun', resource: job })).map((c) =>
        Date.parse(c.at),
      );
      const confirm = calls.find((t) => t >= event.endedAt);
      if (confirm === undefined) throw new Error(`no status call after the end of ${job}`);
      out.fromEnd.push(confirm - event.endedAt);
      if (mode === 'push') out.fromEmit.push(confirm - event.emittedAt);
      out.statusCalls.push(calls.length);
      out.noticedBy.push(stage?.result?.noticedBy ?? '?');
    }
  } finally {
    worker.shutdown();
    await running;
    await nc.close();
    await connection.close();
  }
  return out;
}

async function measured(): Promise<Measured | undefined> {
  applyLocalEnv();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const jobs = Number(values.jobs);
  const lengthMs = durationMs(values['job-length']);
  const push = await measure('push', jobs, lengthMs);
  const poll = await measure('poll', jobs, lengthMs);
  console.log(
    `Part 1 — measured on the local stack: ${jobs} Glue stages of ${values['job-length']} at once per mode (real worker, dev server, gateway events via moto EventBridge → SQS)`,
  );
  const rows = [push, poll].map((m) => [
    m.mode === 'push' ? 'push (events)' : 'polling',
    `${ms(quantile(m.fromEnd, 0.5))} / ${ms(quantile(m.fromEnd, 0.95))} / ${ms(Math.max(...m.fromEnd))}`,
    m.fromEmit.length ? `${ms(quantile(m.fromEmit, 0.5))} / ${ms(Math.max(...m.fromEmit))}` : '—',
    `${Math.min(...m.statusCalls)}–${Math.max(...m.statusCalls)}`,
    [...new Set(m.noticedBy)].join(','),
  ]);
  table(
    [
      'mode',
      'notice delay from job end (p50 / p95 / max)',
      'from event emitted (p50 / max)',
      'status calls per job',
      'noticed by',
    ],
    rows,
  );
  return push;
}

function table(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  console.log(line(headers));
  for (const r of rows) console.log(line(r));
}

function pushBesidePolling(push: Measured): void {
  const fallbackMs = durationMs(values.fallback);
  console.log(
    `\npush beside polling, by job length (push: the delay measured above, any job length; status calls: 1 when armed + 1 per ${values.fallback} fallback poll + 1 after the event; event lost: noticed at the next fallback poll)`,
  );
  const rows = (
    [
      ['10 min', 600_000],
      ['1 h', 3_600_000],
      ['24 h', 86_400_000],
    ] as [string, number][]
  ).map(([name, len]) => {
    const poll = simulate(len);
    const pushCalls = 2 + Math.floor(len / fallbackMs);
    return [
      name,
      `${(poll.worstDelayMs / 1000).toFixed(1)} s`,
      String(poll.calls),
      `${ms(quantile(push.fromEnd, 0.5))} (max ${ms(Math.max(...push.fromEnd))})`,
      String(pushCalls),
      `${(Math.min(fallbackMs, len) / 1000).toFixed(0)} s`,
      // Temporal: the watch workflow's start and the consumer's signal (its workflow tasks are not billed actions).
      '2',
    ];
  });
  table(
    [
      'job',
      'polling: worst delay',
      'polling: status calls',
      'push: delay (p50)',
      'push: status calls',
      'push, event lost: worst delay',
      'push: extra Temporal actions',
    ],
    rows,
  );
}

async function main(): Promise<void> {
  console.log(
    `bench:polling — poll ${values.initial} → ${values.max} (20% of the job's age), heartbeat timeout ${values.heartbeat} (≤ 1 heartbeat / ${throttleMs / 1000} s reaches the server), push fallback poll ${values.fallback}\n`,
  );
  if (!values['model-only']) {
    const push = await measured();
    if (push) pushBesidePolling(push);
    console.log('');
  }
  pollingModel();
}

/** Each heartbeat reaching the server is a billable action; so is the activity start. */
const lengths: [string, number][] = [
  ['1 min', 60_000],
  ['10 min', 600_000],
  ['1 h', 3_600_000],
  ['6 h', 21_600_000],
  ['24 h', 86_400_000],
];
function pollingModel(): void {
  console.log('Part 2 — polling alone, computed from activities/polling.ts and the SDK heartbeat throttle');
  const headers = [
    'job',
    'status calls',
    'worst notice delay',
    'delay / job length',
    'heartbeats to server',
    'Sluice actions ($)',
    'SFN 30 s loop transitions ($)',
  ];
  const rows = lengths.map(([name, ms]) => {
    const { calls, worstDelayMs } = simulate(ms);
    const heartbeats = Math.ceil(ms / throttleMs);
    const actions = 1 + heartbeats; // the activity start + heartbeats reaching the server
    const sfn = Math.ceil(ms / SFN_WAIT_MS) * SFN_TRANSITIONS_PER_LOOP;
    return [
      name,
      String(calls),
      `${(worstDelayMs / 1000).toFixed(1)} s`,
      `${((100 * worstDelayMs) / ms).toFixed(1)} %`,
      String(heartbeats),
      `${actions} ($${(actions * TEMPORAL_USD_PER_ACTION).toFixed(5)})`,
      `${sfn} ($${(sfn * SFN_USD_PER_TRANSITION).toFixed(5)})`,
    ];
  });
  table(headers, rows);
  const perHour = Math.ceil(3_600_000 / throttleMs);
  const failoverMs = heartbeatMs + durationMs(values['retry-initial']);
  console.log(
    `\nper job-hour: ${perHour} heartbeat actions ($${(perHour * TEMPORAL_USD_PER_ACTION).toFixed(4)}); worst failover after a worker dies: ${failoverMs / 1000} s (heartbeat timeout ${heartbeatMs / 1000} s + first retry ${durationMs(values['retry-initial']) / 1000} s), best ${(heartbeatMs - throttleMs + durationMs(values['retry-initial'])) / 1000} s`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
