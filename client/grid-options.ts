/**
 * What a grid is asked for, checked before anything connects: `sluice grid` and the page of
 * `sluice ui` take the same options and report bad ones the same way (UserInputError: what was
 * wrong, the value, the fix).
 */
import { daysInRange } from '../common/dates';
import { PIPELINE_NAME } from '../kinds/types';
import { validateLogicalDate } from '../common/pipeline';
import { UserInputError } from './errors';

/** A grid holds at most this many dates (ten years and then some); longer ranges are split. */
export const GRID_MAX_DATES = 20_000;

export interface GridRequest {
  pipeline: string;
  from?: string;
  to?: string;
  /** A backfill's workflow ID, `<pipeline>/backfill/<from>..<to>`: its range. */
  backfill?: string;
}

const BACKFILL_ID = /^(.+)\/backfill\/(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/;

/** The checked request: the range of a backfill filled in, dates validated, from ≤ to. */
export function checkGridRequest(r: GridRequest): GridRequest {
  if (!PIPELINE_NAME.test(r.pipeline))
    throw new UserInputError(
      `--pipeline must be a pipeline's name, lower-case letters, digits, "_" or "-" (received "${r.pipeline}").\n  Fix: the name: field of its file, e.g. --pipeline sales-daily.`,
    );
  let { from, to } = r;
  if (r.backfill !== undefined) {
    const m = BACKFILL_ID.exec(r.backfill);
    if (!m || m[1] !== r.pipeline)
      throw new UserInputError(
        `--backfill must be a backfill of ${r.pipeline}, ${r.pipeline}/backfill/<from>..<to> (received "${r.backfill}").\n  Fix: the ID \`sluice backfill\` printed, or leave --backfill out and give --from/--to.`,
      );
    from ??= m[2];
    to ??= m[3];
  }
  if (from !== undefined) validateLogicalDate(from, '--from');
  if (to !== undefined) validateLogicalDate(to, '--to');
  if (from !== undefined && to !== undefined) {
    if (from > to)
      throw new UserInputError(
        `--from ${from} is after --to ${to}.\n  Fix: give the earlier date as --from (both are included).`,
      );
    const n = daysInRange(from, to);
    if (n > GRID_MAX_DATES)
      throw new UserInputError(
        `the range ${from} → ${to} has ${n} dates, more than one grid shows (${GRID_MAX_DATES}).\n  Fix: a shorter range.`,
      );
  }
  return {
    pipeline: r.pipeline,
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(r.backfill !== undefined ? { backfill: r.backfill } : {}),
  };
}
