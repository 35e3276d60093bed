/**
 * Turning tracing on must not break runs in flight: every committed history (recorded without
 * tracing) replays against the traced workflow bundle, the one a worker with
 * OTEL_EXPORTER_OTLP_ENDPOINT loads (OpenTelemetry's workflow interceptors and Sluice's).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { bundleVariantPath } from '../../workers/bundle-workflows';
import { loadHistory } from '../support/histories';

const DIR = path.resolve(__dirname, '..', 'fixtures', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

function workflowIdOf(file: string): string {
  const raw = JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as { sluiceWorkflowId?: string };
  return raw.sluiceWorkflowId ?? file;
}

test('the histories exist', () => {
  expect(files.length).toBeGreaterThan(10);
});

test.each(files)('%s replays on the traced workflow bundle', async (file) => {
  const bundle = process.env.SLUICE_WORKFLOW_BUNDLE;
  if (!bundle) throw new Error('SLUICE_WORKFLOW_BUNDLE is set by the jest globalSetup');
  await expect(
    Worker.runReplayHistory(
      {
        workflowBundle: { codePath: bundleVariantPath(bundle, { traced: true }) },
        replayName: file,
        // The sink a traced worker registers (makeWorkflowExporter); not called while replaying.
        sinks: { exporter: { export: { fn: () => undefined, callDuringReplay: false } } },
      },
      loadHistory(path.join(DIR, file)),
      workflowIdOf(file),
    ),
  ).resolves.toBeUndefined();
});
