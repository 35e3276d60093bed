/**
 * The one mapping from a run's failure to the outcome every caller reports: the backfill (a child
 * that failed), the awaitRun activity and the CLI (a workflow that failed, seen by a client). Pure:
 * @temporalio/common's failure classes only, so workflow code may import it.
 */
import { ActivityFailure, ApplicationFailure, CancelledFailure, ChildWorkflowFailure } from '@temporalio/common';

/** How a run ended when it did not succeed. `stage`/`kind` name the failing stage when the run said so. */
export interface FailureOutcome {
  ok: false;
  cancelled: boolean;
  message: string;
  stage?: string;
  kind?: string;
}

/**
 * `failure` is what ended the run: a child's ChildWorkflowFailure, a client's WorkflowFailedError
 * `.cause`, or an activity's failure. The SDK's wrappers carry no message of their own, so the
 * innermost failure speaks; a runPipeline failure's first detail names the stage.
 */
export function failureOutcome(failure: unknown): FailureOutcome {
  let f = failure;
  while ((f instanceof ChildWorkflowFailure || f instanceof ActivityFailure) && f.cause) f = f.cause;
  if (f instanceof CancelledFailure) return { ok: false, cancelled: true, message: 'the run was cancelled' };
  if (f instanceof ApplicationFailure) {
    const d = (f.details?.[0] ?? {}) as { stage?: unknown; kind?: unknown };
    return {
      ok: false,
      cancelled: false,
      message: f.message,
      ...(typeof d.stage === 'string' ? { stage: d.stage } : {}),
      ...(typeof d.kind === 'string' ? { kind: d.kind } : {}),
    };
  }
  return { ok: false, cancelled: false, message: f instanceof Error ? f.message : String(f) };
}
