/** A pipeline's run of one date on a test file's context, as the kinds' end-to-end tests start and cancel them. */
import { CancelledFailure, type WorkflowFailedError } from '@temporalio/client';
import { startRun, waitForRun, type RunOutcome } from '../../client/runs';
import type { PipelineDefinition } from '../../common/pipeline';
import type { RunStatus } from '../../common/run-types';
import { waitFor, type TestContext } from './temporal';

/** Runs the pipeline for `ds` (generation 0) and waits for its outcome. */
export async function runToEnd(ctx: TestContext, pipeline: PipelineDefinition, ds = '2024-03-01'): Promise<RunOutcome> {
  return waitForRun((await startRun(ctx.client, ctx.settings, pipeline, ds, { generation: 0 })).handle);
}

/**
 * Starts a one-stage run for `ds`, waits until `polled` says its job is being polled, cancels the
 * run, and checks that it ended cancelled with its stage cancelled; returns the run's status.
 */
export async function cancelWhilePolled(
  ctx: TestContext,
  pipeline: PipelineDefinition,
  polled: () => Promise<boolean>,
  ds: string,
): Promise<RunStatus> {
  const started = await startRun(ctx.client, ctx.settings, pipeline, ds, { generation: 0 });
  await waitFor('the job to be polled', polled);
  await started.handle.cancel();
  const err: unknown = await started.handle.result().catch((e: unknown) => e);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  const status = await started.handle.query<RunStatus>('status');
  expect(status.stages[0]?.state).toBe('cancelled');
  return status;
}
