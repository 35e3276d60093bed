import type { DurationSpec } from './pipeline';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a validated duration (`30s`, `5m`, or a number of milliseconds). */
export function durationMs(d: DurationSpec): number {
  if (typeof d === 'number') return d;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number));
}
