/**
 * Logical dates (`ds`): calendar days written YYYY-MM-DD, handled in UTC so the result never
 * depends on the machine's time zone. Pure functions, safe in workflow code.
 */

const DS_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** Why `value` is not a logical date, or undefined when it is one. */
export function logicalDateProblem(value: string): string | undefined {
  const m = DS_PATTERN.exec(value);
  if (!m) return 'expected a date written YYYY-MM-DD, e.g. 2024-03-01';
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) {
    return `${value} is not a day of the calendar (check the month and the day, and leap years)`;
  }
  return undefined;
}

export function isLogicalDate(value: string): boolean {
  return logicalDateProblem(value) === undefined;
}

/** Milliseconds since the epoch of midnight UTC of `ds`. Assumes a valid date. */
export function dsToEpochMs(ds: string): number {
  const [y, mo, d] = ds.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, mo - 1, d);
}

export function epochMsToDs(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `ds` moved by `days` (negative for earlier). */
export function addDays(ds: string, days: number): string {
  return epochMsToDs(dsToEpochMs(ds) + days * DAY_MS);
}

/** Every date from `from` to `to`, both included. */
export function dateRange(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = dsToEpochMs(from), end = dsToEpochMs(to); t <= end; t += DAY_MS) out.push(epochMsToDs(t));
  return out;
}

/** Days from `from` to `to`, both included (0 when `to` is before `from`). */
export function daysInRange(from: string, to: string): number {
  return Math.max(0, Math.round((dsToEpochMs(to) - dsToEpochMs(from)) / DAY_MS) + 1);
}

/**
 * The calendar date at instant `epochMs` in an IANA time zone (e.g. Europe/Berlin). Uses Intl,
 * which workflow code has; the zone data comes with the runtime.
 */
export function localDate(epochMs: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(new Date(epochMs));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Whether `timeZone` is an IANA zone name this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone });
    return true;
  } catch {
    return false;
  }
}
