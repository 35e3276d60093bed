/**
 * Backfills in flight replay the current workflow code: histories recorded from the code before
 * running dates were carried across continue-as-new (see test/fixtures/record-backfill-histories.ts)
 * — a drained continue-as-new, then a cancel by signal or by cancellation request while a date
 * runs — must replay without a nondeterminism error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { expectReplayed, replayAll, replayBundle } from '../support/replay';

interface RecordedRun {
  workflowId: string;
  runId: string;
  history: { events: { eventType?: string }[] };
}

// The fixtures hold the protobuf object form (enum names, longs as strings, bytes base64), which
// fromObject reads back exactly (the SDK's historyFromJSON expects the proto3-JSON form instead).
const load = (run: RecordedRun) => temporal.api.history.v1.History.fromObject(run.history);

// 0.1.0: before running dates were carried (a cancel by signal ended FAILED then); v0.2.0: carrying
// them, the signal asking for the backfill's cancellation, the report kept in the memo.
const CASES: [version: string, how: string, suffix: string][] = [
  ['0.1.0', 'signal', ''],
  ['0.1.0', 'cancel', ''],
  ['0.2.0', 'signal', '-v0.2.0'],
  ['0.2.0', 'cancel', '-v0.2.0'],
  // v0.3.0: run parameters passed to every date's run (the pipeline language).
  ['0.3.0', 'signal', '-v0.3.0'],
  ['0.3.0', 'cancel', '-v0.3.0'],
  // v0.3.1: the hand-over before continue-as-new (a date started through startDateRun, carried).
  ['0.3.1', 'signal', '-v0.3.1'],
  ['0.3.1', 'cancel', '-v0.3.1'],
];
const recordings = (how: string, suffix: string): RecordedRun[] =>
  JSON.parse(
    readFileSync(path.join(__dirname, '..', 'fixtures', `backfill-can-${how}${suffix}.history.json`), 'utf8'),
  ) as RecordedRun[];
const runName = (how: string, suffix: string, i: number) => `backfill-can-${how}${suffix} run ${i}`;

// Every run of every recording, replayed one after the other on one replay worker.
let outcomes: Awaited<ReturnType<typeof replayAll>>;
beforeAll(async () => {
  outcomes = await replayAll(
    { workflowBundle: await replayBundle(), replayName: 'backfill histories' },
    CASES.flatMap(([, how, suffix]) =>
      recordings(how, suffix).map((run, i) => ({
        name: runName(how, suffix, i + 1),
        workflowId: run.workflowId,
        history: load(run),
      })),
    ),
  );
});

describe.each(CASES)('a backfill recorded on %s (continue-as-new, then cancelled by %s)', (version, how, suffix) => {
  const runs = recordings(how, suffix);

  test('the recording has both segments: one continued as new, one cancelled while dates ran', () => {
    const last = (r: RecordedRun) => r.history.events[r.history.events.length - 1]?.eventType;
    const endedFailed = how === 'signal' && version === '0.1.0';
    expect(runs.map(last).sort()).toEqual(
      [
        'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW',
        endedFailed ? 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED' : 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED',
      ].sort(),
    );
  });

  test.each(runs.map((_r, i) => i + 1))('run %i replays on the current code', (i) => {
    expectReplayed(outcomes, runName(how, suffix, i));
  });
});
