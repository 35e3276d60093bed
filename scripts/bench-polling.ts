/**
 * npm run bench:polling [-- --initial 2s --max 2m --heartbeat 60s --retry-initial 10s]
 *
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
import { nextPollDelayMs, pollBounds } from '../activities/polling';
import { durationMs } from '../common/durations';
import type { DurationSpec } from '../common/pipeline';

const { values } = parseArgs({
  options: {
    initial: { type: 'string', default: '2s' },
    max: { type: 'string', default: '2m' },
    heartbeat: { type: 'string', default: '60s' },
    'retry-initial': { type: 'string', default: '10s' },
    'heartbeat-throttle': { type: 'string', default: '2m' },
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

/** Each heartbeat reaching the server is a billable action; so is the activity start. */
const lengths: [string, number][] = [
  ['1 min', 60_000],
  ['10 min', 600_000],
  ['1 h', 3_600_000],
  ['6 h', 21_600_000],
  ['24 h', 86_400_000],
];
console.log(
  `bench:polling — poll ${values.initial} → ${values.max} (20% of the job's age), heartbeat timeout ${values.heartbeat} (≤ 1 heartbeat / ${throttleMs / 1000} s reaches the server)`,
);
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
const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
console.log(line(headers));
for (const r of rows) console.log(line(r));
const perHour = Math.ceil(3_600_000 / throttleMs);
const failoverMs = heartbeatMs + durationMs(values['retry-initial']);
console.log(
  `\nper job-hour: ${perHour} heartbeat actions ($${(perHour * TEMPORAL_USD_PER_ACTION).toFixed(4)}); worst failover after a worker dies: ${failoverMs / 1000} s (heartbeat timeout ${heartbeatMs / 1000} s + first retry ${durationMs(values['retry-initial']) / 1000} s), best ${(heartbeatMs - throttleMs + durationMs(values['retry-initial'])) / 1000} s`,
);
