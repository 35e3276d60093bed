/**
 * A run's shape: the changes to runPipeline's commands that a run takes for granted because it was
 * started knowing them, so it records no patch marker for them. A marker costs the run two history
 * events (the marker and the TemporalChangeVersion search-attribute upsert, a visibility write);
 * a run asks up to five of them, and the pools' overhead on a 3,650-date backfill was mostly those.
 *
 * The shape travels in the run's input (RunPipelineInput.shape, set by runStartOptions and the
 * sub-pipeline's start): a run started by a release before shapes has none and asks `patched()`
 * exactly as it did, so every committed history replays unchanged. A change added after a shape
 * is cut still goes through `patched()` until the next shape lists it.
 *
 * Pure and workflow-safe: no imports.
 */

/** The shape this release starts runs with. Raise it (and list the patches) when a new shape is cut. */
export const RUN_SHAPE = 1;

/**
 * Each patch id a shape takes for granted, with the shape that first did. A run of shape ≥ that
 * number takes the patched path without a marker. Ids are the ones in workflows/run-pipeline.ts
 * (PATCHES), workflows/pool.ts (POOL_PATCHES), the kinds' defaultPoolPatch and workflows/notify.ts.
 */
export const SHAPE_PATCHES: Readonly<Record<string, number>> = {
  'sluice-cancel-sweep-1': 1,
  'sluice-stop-failed-1': 1,
  'sluice-pools-1': 1,
  'sluice-cancel-withdraws-asks-1': 1,
  'sluice-grid-memo-1': 1,
  'sluice-pool-local-ask-1': 1,
  'sluice-pool-update-ask-1': 1,
  'sluice-pool-emr-serverless-1': 1,
  'sluice-notify-1': 1,
};

/** True when a run of `shape` takes `patchId` for granted (no `patched()` call, no marker). */
export function shapeTakes(shape: number | undefined, patchId: string): boolean {
  const since = SHAPE_PATCHES[patchId];
  return since !== undefined && shape !== undefined && shape >= since;
}
