/**
 * Which dates a backfill runs, from what visibility knows of each date's runs: the one plan the
 * backfill workflow follows and `sluice backfill --dry-run` shows. Pure.
 */
import type { BackfillInput, BackfillState, DateRuns } from './backfill-types';
import { RUN_STATUS } from './constants';
import { dateRange } from './dates';

/** Which dates the backfill runs, in order, with their rerun generation; the rest are skipped with a reason. */
export function planBackfill(
  input: Pick<BackfillInput, 'from' | 'to' | 'only' | 'order'>,
  known: Record<string, DateRuns>,
): Pick<BackfillState, 'queue' | 'generations' | 'skipped'> {
  const dates = dateRange(input.from, input.to);
  if (input.order === 'newest') dates.reverse();
  const queue: string[] = [];
  const generations: number[] = [];
  const skipped: BackfillState['skipped'] = [];
  for (const ds of dates) {
    const k = known[ds];
    let skip: string | undefined;
    if (input.only === 'missing' && k?.everSucceeded) skip = 'already succeeded';
    if (input.only === 'failed' && k?.last !== RUN_STATUS.failed)
      skip = k ? `last run ${k.last.toLowerCase()}, not failed` : 'never ran';
    if (skip) skipped.push({ ds, reason: skip });
    else {
      queue.push(ds);
      generations.push(k?.runs ?? 0);
    }
  }
  return { queue, generations, skipped };
}
