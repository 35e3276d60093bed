/**
 * Runs in flight must keep replaying on new code: every history recorded under
 * test/fixtures/histories (by scripts/record-histories.ts, from the version named in the file) is
 * replayed against today's workflow bundle. A workflow change that is not replay-safe fails here
 * with the nondeterminism it would cause in production; guard it with `patched()` instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadHistory } from '../support/histories';
import { expectReplayed, replayAll, replayBundle } from '../support/replay';

const DIR = path.resolve(__dirname, '..', 'fixtures', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

/**
 * The recorded execution's workflow ID (the recorder adds it to the file): workflows that derive
 * their children's IDs from their own (fan-out, sub-pipelines) replay only under it.
 */
function workflowIdOf(file: string): string {
  const raw = JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as { sluiceWorkflowId?: string };
  return raw.sluiceWorkflowId ?? file;
}

test('the fixtures cover every recorded version and path', () => {
  for (const version of ['v0.1.0', 'v0.2.0', 'v0.3.0', 'v0.4.0', 'v0.5.0']) {
    for (const p of ['succeeded', 'failed-denied', 'failed-worker-died', 'cancelled'])
      expect(files).toContain(`run-pipeline-${p}-${version}.json`);
  }
  // The pipeline language (params, outputs, conditions, cleanup stages) exists from v0.3.0.
  for (const p of ['language-failed-cleanup', 'language-cancelled-cleanup'])
    expect(files).toContain(`run-pipeline-${p}-v0.3.0.json`);
  // Fan-out (the run and its stage and chunk workflows) and sub-pipelines (the run and its child run).
  for (const f of [
    'run-pipeline-fanout',
    'fan-out-stage-fanout',
    'fan-out-chunk-fanout',
    'run-pipeline-fanout-cancelled',
    'fan-out-stage-fanout-cancelled',
    'fan-out-chunk-fanout-cancelled',
    'run-pipeline-subpipeline',
    'run-pipeline-sub-subpipeline',
    // A scheduled run with run parameters, and the date run it started.
    'scheduled-pipeline-scheduled',
    'run-pipeline-scheduled',
  ])
    expect(files).toContain(`${f}-v0.3.0.json`);
  // Push completion's watch (v0.4.0): closed by the job's event (and a duplicate), or released by its stage.
  for (const f of ['watch-job-event', 'watch-job-released']) expect(files).toContain(`${f}-v0.4.0.json`);
  // Pools: two stages sharing a pool of one slot, the same cancelled while one waits, and the pool itself —
  // asked and granted by signals (v0.5.0), with local activities (v0.6.0), asked by update, a free
  // slot granted in the answer (v0.7.0), the pool with its short history (v0.8.0), the slot given
  // back by the stage's activity with an update (v0.8.1), both stages holding on when the run is
  // cancelled: the waiting one withdraws its ask before any job is stopped (v0.8.2).
  for (const v of ['v0.5.0', 'v0.6.0', 'v0.7.0', 'v0.8.0', 'v0.8.1', 'v0.8.2'])
    for (const f of ['run-pipeline-pooled', 'run-pipeline-pooled-cancelled', 'pool-pooled', 'pool-pooled-cancelled'])
      expect(files).toContain(`${f}-${v}.json`);
  // A fan-out whose items hold slots of their pool (v0.8.0; v0.8.1: given back by update), done and cancelled mid-way.
  for (const v of ['v0.8.0', 'v0.8.1'])
    for (const f of ['run-pipeline-fanout', 'fan-out-stage-fanout', 'fan-out-chunk-fanout'])
      for (const end of ['', '-cancelled']) expect(files).toContain(`${f}${end}-${v}.json`);
  // Notifications (v0.9.0): a run of a pipeline with notify: failing and succeeding, and each one's notifier.
  for (const f of [
    'run-pipeline-notified-failed',
    'run-pipeline-notified-succeeded',
    'notify-notified-failed',
    'notify-notified-succeeded',
  ])
    expect(files).toContain(`${f}-v0.9.0.json`);
  // Runs with a shape (v0.9.1, common/run-shape.ts): the patches it lists taken without a marker.
  for (const f of [
    'run-pipeline-pooled',
    'run-pipeline-pooled-cancelled',
    'run-pipeline-notified-succeeded',
    'run-pipeline-notified-failed',
    'run-pipeline-succeeded',
    'run-pipeline-cancelled',
    'run-pipeline-fanout',
  ])
    expect(files).toContain(`${f}-v0.9.1.json`);
});

let outcomes: Awaited<ReturnType<typeof replayAll>>;
beforeAll(async () => {
  outcomes = await replayAll(
    { workflowBundle: await replayBundle(), replayName: 'committed histories' },
    files.map((f) => ({ name: f, workflowId: workflowIdOf(f), history: loadHistory(path.join(DIR, f)) })),
  );
});

test.each(files)('%s replays on the current workflow code', (file) => {
  expectReplayed(outcomes, file);
});
