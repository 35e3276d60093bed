/**
 * `taken(patchId)`: `patched(patchId)` for a run that was not started knowing the change, true
 * without a marker for one whose shape takes it (common/run-shape.ts). Each workflow run has its
 * own module state, so the shape set by `useShape` at the start of a run is that run's alone.
 * Deterministic: the shape comes from the run's input, which its history holds.
 */
import { patched } from '@temporalio/workflow';
import { shapeTakes } from '../common/run-shape';

let shape: number | undefined;

/** Called first by a workflow whose input carries a shape (runPipeline). */
export function useShape(s: number | undefined): void {
  shape = s;
}

export function taken(patchId: string): boolean {
  return shapeTakes(shape, patchId) || patched(patchId);
}
