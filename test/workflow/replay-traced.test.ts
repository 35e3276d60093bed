/**
 * Turning tracing on must not break runs in flight: every committed history (recorded without
 * tracing) replays against the traced workflow bundle, the one a worker with
 * OTEL_EXPORTER_OTLP_ENDPOINT loads (OpenTelemetry's workflow interceptors and Sluice's).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadHistory } from '../support/histories';
import { expectReplayed, replayAll, replayBundle } from '../support/replay';

const DIR = path.resolve(__dirname, '..', 'fixtures', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

function workflowIdOf(file: string): string {
  const raw = JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as { sluiceWorkflowId?: string };
  return raw.sluiceWorkflowId ?? file;
}

test('the histories exist', () => {
  expect(files.length).toBeGreaterThan(10);
});

let outcomes: Awaited<ReturnType<typeof replayAll>>;
beforeAll(async () => {
  outcomes = await replayAll(
    {
      workflowBundle: await replayBundle({ traced: true }),
      replayName: 'committed histories, traced',
      // The sink a traced worker registers (makeWorkflowExporter); not called while replaying.
      sinks: { exporter: { export: { fn: () => undefined, callDuringReplay: false } } },
    },
    files.map((f) => ({ name: f, workflowId: workflowIdOf(f), history: loadHistory(path.join(DIR, f)) })),
  );
});

test.each(files)('%s replays on the traced workflow bundle', (file) => {
  expectReplayed(outcomes, file);
});
