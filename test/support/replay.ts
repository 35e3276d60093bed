/**
 * Replaying histories for the replay tests. The workflow bundle they replay on: in a run with the
 * e2e lane (`npm test`, `npm run test:e2e`), its globalSetup has built the project and set
 * SLUICE_WORKFLOW_BUNDLE — the bundle a worker loads (dist/workflow-bundle.js and its variants
 * beside it). In the unit lane alone (`npm run test:unit`: no stack, no build), the test file bundles
 * the same workflow code itself, from the source, with the same plugin and interceptors
 * (workers/bundle-workflows.ts), once per variant it needs.
 */
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { bundleVariantPath, workflowBundleCode, type BundleVariant } from '../../workers/bundle-workflows';

export type ReplayBundle = { codePath: string } | { code: string };

export async function replayBundle(variant: BundleVariant = {}): Promise<ReplayBundle> {
  const built = process.env.SLUICE_WORKFLOW_BUNDLE;
  if (built) return { codePath: bundleVariantPath(built, variant) };
  return { code: await workflowBundleCode(variant) };
}

export interface RecordedHistory {
  /** The test's name for it (its fixture file). */
  name: string;
  workflowId: string;
  history: temporal.api.history.v1.IHistory;
}

/**
 * Replays every history, one after the other, on one replay worker (Worker.runReplayHistories:
 * a fresh workflow run for each, without a worker made per history), and gives each name its
 * outcome: replayed, with the nondeterminism or other error its replay ended in, if any. A history
 * the worker did not reach (it stopped) has no entry.
 */
export async function replayAll(
  options: ReplayWorkerOptions,
  histories: RecordedHistory[],
): Promise<Map<string, { error?: Error }>> {
  const out = new Map<string, { error?: Error }>();
  let i = 0;
  for await (const result of Worker.runReplayHistories(options, histories)) {
    const h = histories[i++] as RecordedHistory;
    if (result.workflowId !== h.workflowId) throw new Error(`replay results out of order at ${h.name}`);
    out.set(h.name, result.error ? { error: result.error } : {});
  }
  return out;
}

/** A test's check of one history's outcome: the replay's own error when it failed. */
export function expectReplayed(outcomes: Map<string, { error?: Error }>, name: string): void {
  const outcome = outcomes.get(name);
  if (outcome?.error) throw outcome.error;
  expect(outcome).toEqual({});
}
