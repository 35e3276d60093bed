/**
 * Scenarios tell the emulator how a job run should behave: how long it runs and how it ends.
 * They are keyed by service + match (glue: exact JobName; athena: substring of the QueryString).
 * Setting the same service + match again replaces the previous one. When several match, the most
 * recently set wins. A run snapshots its scenario when it starts, so changing scenarios never
 * alters runs already in flight.
 */
import type { Emulator } from './aws.js';
import { allowedOutcomes, type Outcome, type ResultTable, type Scenario } from './lifecycle.js';

export interface ScenarioEntry extends Scenario {
  service: string;
  match: string;
}

let entries: ScenarioEntry[] = [];

export function setScenario(entry: ScenarioEntry): void {
  entries = entries.filter((e) => !(e.service === entry.service && e.match === entry.match));
  entries.push(entry);
}

/** The most recently set scenario of `service` whose match satisfies `matches`. */
export function findScenario(service: string, matches: (match: string) => boolean): Scenario | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (e !== undefined && e.service === service && matches(e.match)) return e;
  }
  return undefined;
}

export function listScenarios(): readonly ScenarioEntry[] {
  return entries;
}

export function clearScenarios(): void {
  entries = [];
}

/** Validates a POST /_sluice/scenarios body; returns the entry or an error message. */
export function parseScenario(body: unknown, emulators: ReadonlyMap<string, Emulator>): ScenarioEntry | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object';
  const b = body as Record<string, unknown>;
  const emulator = typeof b.service === 'string' ? emulators.get(b.service) : undefined;
  if (emulator === undefined) return `service must be one of ${[...emulators.keys()].join(', ')}`;
  if (typeof b.match !== 'string' || b.match === '')
    return `match must be a non-empty string (${emulator.matchDescription})`;

  const durationMs = b.durationMs ?? emulator.defaultScenario.durationMs;
  if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < 0)
    return 'durationMs must be a number >= 0';

  const allowed = allowedOutcomes(emulator.spec);
  const outcome = b.outcome ?? 'SUCCEEDED';
  if (typeof outcome !== 'string' || !allowed.includes(outcome as Outcome)) {
    return `outcome for ${emulator.service} must be one of ${allowed.join(', ')}`;
  }
  if (b.message !== undefined && typeof b.message !== 'string') return 'message must be a string';

  const entry: ScenarioEntry = { service: emulator.service, match: b.match, durationMs, outcome: outcome as Outcome };
  if (typeof b.message === 'string') entry.message = b.message;

  if (b.events !== undefined) {
    if (b.events !== 'emit' && b.events !== 'drop') return 'events must be "emit" or "drop"';
    entry.events = b.events;
  }
  if (b.eventDelayMs !== undefined) {
    if (typeof b.eventDelayMs !== 'number' || !Number.isFinite(b.eventDelayMs) || b.eventDelayMs < 0)
      return 'eventDelayMs must be a number >= 0';
    entry.eventDelayMs = b.eventDelayMs;
  }
  if (b.usage !== undefined) {
    if (
      typeof b.usage !== 'object' ||
      b.usage === null ||
      Array.isArray(b.usage) ||
      !Object.values(b.usage).every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)
    )
      return 'usage must be an object of numbers >= 0 (e.g. {"bytesScanned": 1048576})';
    entry.usage = b.usage as Record<string, number>;
  }
  if (b.result !== undefined) {
    if (!emulator.supportsResult) return `result is not supported for ${emulator.service}`;
    const result = parseResult(b.result);
    if (typeof result === 'string') return result;
    entry.result = result;
  }
  return entry;
}

function parseResult(v: unknown): ResultTable | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'result must be an object {columns, rows}';
  const r = v as Record<string, unknown>;
  if (!Array.isArray(r.columns) || !r.columns.every((c) => typeof c === 'string'))
    return 'result.columns must be an array of strings';
  const columns = r.columns;
  const rowsIn = r.rows ?? [];
  if (!Array.isArray(rowsIn)) return 'result.rows must be an array of arrays';
  const rows: (string | null)[][] = [];
  for (const [i, row] of rowsIn.entries()) {
    if (!Array.isArray(row) || !row.every((c) => typeof c === 'string' || c === null)) {
      return `result.rows[${i}] must be an array of strings or nulls`;
    }
    if (row.length !== columns.length)
      return `result.rows[${i}] has ${row.length} values, expected ${columns.length} (one per column)`;
    rows.push(row as (string | null)[]);
  }
  return { columns, rows };
}
