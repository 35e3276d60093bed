/**
 * Runs started by the data (issue #21): a pipeline's `on: { s3: { bucket, key } }` names the object
 * whose creation starts the run of a date, and the key's pattern says where the date is written:
 * `orders/dt={{ ds }}/_SUCCESS`, `exports/{{ ds_nodash }}.csv`, or
 * `year={{ year }}/month={{ month }}/day={{ day }}/_SUCCESS`.
 *
 * This module reads a pattern (once, when the pipeline is validated) and reads the date back from
 * an object's key. Pure and free of Node built-ins.
 */
import { logicalDateProblem } from './dates';
import { findTemplates } from './templating';

/** What reading a key gave: its date, a key of another shape, or a date that is not a day. */
export type KeyMatch = { ds: string } | { unmatched: true } | { unparseable: string; why: string };

export interface KeyPattern {
  /** The pattern as written. */
  pattern: string;
  /** The date read back from an object's key. */
  match(key: string): KeyMatch;
}

export interface KeyPatternProblem {
  received: string;
  problem: string;
  fix: string;
}

const DATE_PARTS = {
  ds: '(\\d{4}-\\d{2}-\\d{2})',
  ds_nodash: '(\\d{8})',
  year: '(\\d{4})',
  month: '(\\d{2})',
  day: '(\\d{2})',
};
type DatePart = keyof typeof DATE_PARTS;
const TRIO: DatePart[] = ['year', 'month', 'day'];
const FIX =
  'write the date once, as {{ ds }} (2024-03-01), {{ ds_nodash }} (20240301) or {{ year }}, {{ month }} and {{ day }}: e.g. orders/dt={{ ds }}/_SUCCESS';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Reads a key pattern of pipeline `pipeline`: the pattern, or what is wrong with it. */
export function keyPattern(pattern: string, pipeline: string): KeyPattern | KeyPatternProblem {
  const refs = findTemplates(pattern);
  const parts: DatePart[] = [];
  let source = '^';
  let rest = pattern;
  for (const { text, ref } of refs) {
    const at = rest.indexOf(text);
    source += escape(rest.slice(0, at));
    rest = rest.slice(at + text.length);
    if (ref.ns === 'date' && ref.name === 'pipeline') {
      source += escape(pipeline);
      continue;
    }
    if (ref.ns !== 'date' || !(ref.name in DATE_PARTS))
      return {
        received: pattern,
        problem: `${text} cannot be read back from a key: only the date can`,
        fix: FIX,
      };
    parts.push(ref.name as DatePart);
    source += DATE_PARTS[ref.name as DatePart];
  }
  source += `${escape(rest)}$`;
  const sorted = [...parts].sort().join(',');
  if (parts.length === 0) return { received: pattern, problem: 'the key names no date', fix: FIX };
  if (sorted !== 'ds' && sorted !== 'ds_nodash' && sorted !== 'day,month,year') {
    const named = parts.map((p) => `{{ ${p} }}`).join(', ');
    const twice = new Set(parts).size !== parts.length || parts.some((p) => !TRIO.includes(p));
    return {
      received: pattern,
      problem: twice
        ? `the key names the date more than once (${named})`
        : `the key names only part of a date (${named}): year, month and day are all needed`,
      fix: FIX,
    };
  }
  const re = new RegExp(source);
  return {
    pattern,
    match(key: string): KeyMatch {
      const m = re.exec(key);
      if (!m) return { unmatched: true };
      const got: Partial<Record<DatePart, string>> = {};
      parts.forEach((p, i) => (got[p] = m[i + 1]));
      const nodash = got.ds_nodash;
      const ds =
        got.ds ??
        (nodash
          ? `${nodash.slice(0, 4)}-${nodash.slice(4, 6)}-${nodash.slice(6)}`
          : `${got.year}-${got.month}-${got.day}`);
      const why = logicalDateProblem(ds);
      return why ? { unparseable: ds, why } : { ds };
    },
  };
}

export function isKeyPatternProblem(p: KeyPattern | KeyPatternProblem): p is KeyPatternProblem {
  return 'problem' in p;
}
