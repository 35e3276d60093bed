/**
 * Deadlines (issue #21): when a logical date must be done, and the instant that is.
 *
 * A deadline is either a wall-clock time relative to the date, in a time zone —
 * `{ by: "06:00", timezone: Europe/Berlin, dayOffset: 1 }`: 06:00 in Berlin on the day after the
 * date — or a duration after the run's scheduled start — `{ within: 3h }`.
 *
 * Pure and free of Node built-ins (workflow code imports it): the zone rules come from Intl, which
 * the workflow runtime has, with the runtime's own zone data (no dependency for one conversion).
 */
import { addDays, isLogicalDate, isTimeZone } from './dates';
import { durationMs } from './durations';

/** A duration's milliseconds, or NaN when it is not one (`3h`, `90m`; see common/durations.ts). */
function withinMs(text: string): number {
  try {
    return durationMs(text);
  } catch {
    return NaN;
  }
}

export interface DeadlineSpec {
  /** A wall-clock time, `HH:MM` (24 h), on the date plus `dayOffset` days, in `timezone`. */
  by?: string;
  /** An IANA time zone for `by`. Default UTC. */
  timezone?: string;
  /** Days after the logical date on which `by` falls (0: the date itself). Default 0. */
  dayOffset?: number;
  /** A duration after the run's scheduled start (`90m`, `3h`, `1d`). */
  within?: string;
}

export interface DeadlineProblem {
  field: string;
  received: unknown;
  problem: string;
  fix: string;
}

const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;
/** dayOffset beyond this is a typo, not a deadline (a date due a year after it is not watched). */
const MAX_DAY_OFFSET = 366;

/** What is wrong with a `deadline:` as written in a pipeline (at `field`), or undefined if it reads. */
export function deadlineProblem(spec: unknown, field = 'deadline'): DeadlineProblem | undefined {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    return {
      field,
      received: spec,
      problem: 'a deadline is a map',
      fix: 'write { by: "06:00", timezone: Europe/Berlin, dayOffset: 1 } or { within: 3h }',
    };
  const s = spec as Record<string, unknown>;
  const unknown = Object.keys(s).filter((k) => !['by', 'timezone', 'dayOffset', 'within'].includes(k));
  if (unknown.length)
    return {
      field: `${field}.${unknown[0]}`,
      received: s[unknown[0] as string],
      problem: `unknown field "${unknown[0]}"`,
      fix: 'a deadline has by, timezone and dayOffset, or within',
    };
  if (s.within !== undefined) {
    const others = ['by', 'timezone', 'dayOffset'].filter((k) => s[k] !== undefined);
    if (others.length)
      return {
        field: `${field}.${others[0]}`,
        received: s[others[0] as string],
        problem: 'within cannot be combined with by, timezone or dayOffset',
        fix: 'keep either within (after the scheduled start) or by (a time of day)',
      };
    if (typeof s.within !== 'string' || !(withinMs(s.within) > 0))
      return {
        field: `${field}.within`,
        received: s.within,
        problem: 'not a positive duration',
        fix: 'write a number and a unit: 90m, 3h, 1d',
      };
    return undefined;
  }
  if (s.by === undefined)
    return {
      field,
      received: spec,
      problem: 'a deadline needs by (a time of day) or within (a duration)',
      fix: 'add by: "06:00" (with timezone and dayOffset as needed) or within: 3h',
    };
  if (typeof s.by !== 'string' || !CLOCK.test(s.by))
    return {
      field: `${field}.by`,
      received: s.by,
      problem: 'not a time of day',
      fix: 'write HH:MM on a 24-hour clock, 00:00 to 23:59, quoted: by: "06:00"',
    };
  if (s.timezone !== undefined && (typeof s.timezone !== 'string' || !isTimeZone(s.timezone)))
    return {
      field: `${field}.timezone`,
      received: s.timezone,
      problem: 'not a time zone this runtime knows',
      fix: 'write an IANA zone name such as UTC, Europe/Berlin or America/New_York',
    };
  if (
    s.dayOffset !== undefined &&
    (typeof s.dayOffset !== 'number' ||
      !Number.isInteger(s.dayOffset) ||
      s.dayOffset < 0 ||
      s.dayOffset > MAX_DAY_OFFSET)
  )
    return {
      field: `${field}.dayOffset`,
      received: s.dayOffset,
      problem: `not a whole number of days from 0 to ${MAX_DAY_OFFSET}`,
      fix: 'write 0 for the date itself, 1 for the next day',
    };
  return undefined;
}

/**
 * The instant (epoch ms) by which logical date `ds` must be done. `scheduledStartMs` is when its
 * run was due to start (a schedule's time, or when a manual or backfill run started): `within`
 * counts from it. The spec must be valid (deadlineProblem).
 *
 * A `by` time that does not exist on its day (in the hour skipped when clocks go forward) moves
 * forward by the gap (02:30 in Berlin on the last Sunday of March is 03:30), as java.time and
 * cron read it; one that happens twice (clocks go back) is the first of the two.
 */
export function deadlineAt(spec: DeadlineSpec, ds: string, scheduledStartMs: number): number {
  if (spec.within !== undefined) {
    return scheduledStartMs + durationMs(spec.within);
  }
  if (!isLogicalDate(ds)) throw new Error(`not a logical date: ${ds}`);
  const clock = CLOCK.exec(spec.by ?? '');
  if (!clock) throw new Error(`not a time of day: ${spec.by}`);
  const day = addDays(ds, spec.dayOffset ?? 0);
  return zonedInstant(day, Number(clock[1]), Number(clock[2]), spec.timezone ?? 'UTC');
}

/** The UTC instant of wall-clock `hour:minute` on `day` (YYYY-MM-DD) in `timeZone`. */
export function zonedInstant(day: string, hour: number, minute: number, timeZone: string): number {
  const [y, mo, d] = day.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, mo - 1, d, hour, minute);
  // The zone's offsets a day either side of the wall time: at most two (a change of clocks between).
  const before = zoneOffsetMs(wall - 86_400_000, timeZone);
  const after = zoneOffsetMs(wall + 86_400_000, timeZone);
  // Each offset gives a candidate instant; a candidate is real if the zone has that offset then.
  const real = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((t) => wall - zoneOffsetMs(t, timeZone) === t)
    .sort((a, b) => a - b);
  if (real.length) return real[0] as number;
  // In the gap when clocks go forward: read with the offset of before the change, the wall time
  // lands after the gap, moved forward by its length.
  return wall - before;
}

/** The zone's offset from UTC at instant `t` (ms; Berlin in summer: +2 h). */
function zoneOffsetMs(t: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
}
