/**
 * Worker Versioning: how each Sluice workflow behaves when its worker declares a Worker Deployment
 * Version (SLUICE_DEPLOYMENT_NAME + SLUICE_BUILD_ID on Sluice's worker, or a team's own
 * `workerDeploymentOptions`):
 *
 * - PINNED: `runPipeline` (a date run, also as a backfill's, a schedule's or a sub-pipeline's
 *   child), `fanOutStage` and `fanOutChunk`. A run finishes on the build it started on, so a
 *   change to these workflows needs no `patched()`: its runs in flight never see the new code.
 * - AUTO_UPGRADE: `backfillPipeline`, `scheduledPipeline` and `watchJob` (push completion's mailbox). A backfill lasts days and a
 *   schedule's launcher waits on its date run; pinned, either would hold its build's workers alive
 *   until it closed. They move to the deployment's current version at their next workflow task
 *   (between two date runs, or at continue-as-new), so changes to them still need `patched()`.
 *   Their date runs are children started by them: each is pinned to the build current when it starts.
 *
 * The behavior is declared only when the run's first workflow task ran on a versioned worker
 * (`workflowInfo().currentDeploymentVersion` has a deployment name: the worker's version or, on
 * replay, the history's): an unversioned worker sends none, as the server refuses a completion that
 * carries one ("versioning behavior cannot be specified without deployment options being set with
 * versioned mode", the workflow task fails and retries forever), so unversioned workers complete
 * tasks exactly as before. The behavior is not a command:
 * histories and replay of unversioned runs are unchanged (test/workflow/replay.test.ts).
 */
import type { VersioningBehavior } from '@temporalio/common';
import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';

export const PINNED: VersioningBehavior = 'PINNED';
export const AUTO_UPGRADE: VersioningBehavior = 'AUTO_UPGRADE';

/** Declares `behavior` for `fn`'s runs on versioned workers, nothing on unversioned ones. */
export function versioned<A extends unknown[], R>(behavior: VersioningBehavior, fn: (...args: A) => Promise<R>): void {
  // An unversioned worker reports its bundle's checksum as build ID and no deployment name.
  setWorkflowOptions(
    () => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: behavior } : {}),
    fn,
  );
}
