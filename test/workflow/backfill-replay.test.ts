/**
 * Backfills in flight replay the current workflow code: histories recorded from the code before
 * running dates were carried across continue-as-new (see test/fixtures/record-backfill-histories.ts)
 * — a drained continue-as-new, then a cancel by signal or by cancellation request while a date
 * runs — must replay without a nondeterminism error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';

interface RecordedRun {
  workflowId: string;
  runId: string;
  history: { events: { eventType?: string }[] };
}

const bundle = process.env.SLUICE_WORKFLOW_BUNDLE as string;
// The fixtures hold the protobuf object form (enum names, longs as strings, bytes base64), which
// fromObject reads back exactly (the SDK's historyFromJSON expects the proto3-JSON form instead).
const load = (run: RecordedRun) => temporal.api.history.v1.History.fromObject(run.history);

describe.each(['signal', 'cancel'])(
  'a backfill recorded before carrying running dates (continue-as-new, then cancelled by %s)',
  (how) => {
    const runs = JSON.parse(
      readFileSync(path.join(__dirname, '..', 'fixtures', `backfill-can-${how}.history.json`), 'utf8'),
    ) as RecordedRun[];

    test('the recording has both segments: one continued as new, one cancelled while dates ran', () => {
      const last = (r: RecordedRun) => r.history.events[r.history.events.length - 1]?.eventType;
      expect(runs.map(last).sort()).toEqual(
        [
          'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW',
          how === 'signal' ? 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED' : 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED',
        ].sort(),
      );
    });

    test.each(runs.map((r, i) => [i + 1, r] as const))('run %i replays on the current code', async (_i, run) => {
      await expect(
        Worker.runReplayHistory({ workflowBundle: { codePath: bundle } }, load(run), run.workflowId),
      ).resolves.toBeUndefined();
    });
  },
);
