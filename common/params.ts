/**
 * Run parameters: declared by a pipeline (`params:`), given per run (`--param name=value`),
 * defaults filled in, checked before anything starts, recorded on the run.
 *
 *   params:
 *     full_refresh: { type: boolean, default: false }
 *     region: { type: string, default: us-east-1, enum: [us-east-1, eu-west-1] }
 *     tables: { type: array, default: [orders, customers] }
 *
 * Pure and free of zod, so the workflow applies the same checks to a run started without the CLI.
 */
import type { PipelineIssue } from './pipeline-structure';

export const PARAM_TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

export interface ParamDefinition {
  type: ParamType;
  /** Used when the run gives no value. Without one, every run must give the parameter. */
  default?: unknown;
  /** The allowed values. */
  enum?: unknown[];
  description?: string;
}

export type ParamDefinitions = Record<string, ParamDefinition>;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && Number.isInteger(v)) return 'integer';
  return typeof v;
}

/** What is wrong with a value for a parameter, or undefined when it fits. */
export function paramValueProblem(def: ParamDefinition, value: unknown): string | undefined {
  const t = typeOf(value);
  const fits =
    def.type === t || (def.type === 'number' && t === 'integer') || (def.type === 'object' && t === 'object');
  if (!fits) return `expected ${article(def.type)} ${def.type}, got ${article(t)} ${t}`;
  if (def.enum && !def.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    return `expected one of ${def.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  return undefined;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

/** How to write a value of this type on the command line. */
function exampleOf(name: string, def: ParamDefinition): string {
  const sample = def.enum?.[0] ?? def.default;
  const shown =
    sample !== undefined
      ? typeof sample === 'string'
        ? sample
        : JSON.stringify(sample)
      : { string: 'text', number: '1.5', integer: '3', boolean: 'true', array: '["a","b"]', object: '{"k":"v"}' }[
          def.type
        ];
  return `--param ${name}=${shown}`;
}

/**
 * Parses `name=value` pairs from the command line into typed values, by each parameter's declared
 * type: numbers and booleans as such, arrays and objects as JSON (an array also as `a,b,c`).
 */
export function parseParamArgs(
  pairs: readonly string[],
  defs: ParamDefinitions,
): { values: Record<string, unknown>; issues: PipelineIssue[] } {
  const values: Record<string, unknown> = {};
  const issues: PipelineIssue[] = [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) {
      issues.push({
        field: '--param',
        received: pair,
        problem: 'expected name=value',
        fix: 'write it as --param name=value, e.g. --param region=eu-west-1',
      });
      continue;
    }
    const name = pair.slice(0, eq);
    const text = pair.slice(eq + 1);
    const def = defs[name];
    if (!def) {
      values[name] = text; // reported as unknown by resolveParams, with the names it knows
      continue;
    }
    const parsed = parseTyped(text, def.type);
    if (parsed.ok) values[name] = parsed.value;
    else
      issues.push({
        field: `--param ${name}`,
        received: text,
        problem: parsed.problem,
        fix: `give ${article(def.type)} ${def.type}, e.g. ${exampleOf(name, def)}`,
      });
  }
  return { values, issues };
}

function parseTyped(text: string, type: ParamType): { ok: true; value: unknown } | { ok: false; problem: string } {
  switch (type) {
    case 'string':
      return { ok: true, value: text };
    case 'number':
    case 'integer': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) return { ok: false, problem: `not a number` };
      if (type === 'integer' && !Number.isInteger(n)) return { ok: false, problem: 'not a whole number' };
      return { ok: true, value: n };
    }
    case 'boolean':
      if (text === 'true' || text === 'false') return { ok: true, value: text === 'true' };
      return { ok: false, problem: 'expected true or false' };
    case 'array':
    case 'object': {
      const json = text.trim();
      if (type === 'array' && !json.startsWith('['))
        return { ok: true, value: json === '' ? [] : json.split(',').map((s) => s.trim()) };
      try {
        const value: unknown = JSON.parse(json);
        const t = typeOf(value);
        if (t !== type && !(type === 'object' && t === 'object'))
          return { ok: false, problem: `the JSON is ${article(t)} ${t}` };
        return { ok: true, value };
      } catch (err) {
        return { ok: false, problem: `not valid JSON (${err instanceof Error ? err.message : String(err)})` };
      }
    }
  }
}

/** The closest name (edit distance ≤ 2, or a shared prefix), for "did you mean". */
export function closest(name: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = editDistance(name.toLowerCase(), n.toLowerCase());
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

/**
 * The run's parameters: the values given, checked against the declarations, with the defaults
 * filled in. `issues` lists unknown names, missing values and wrong types, all at once.
 */
export function resolveParams(
  defs: ParamDefinitions | undefined,
  given: Record<string, unknown> | undefined,
): { values: Record<string, unknown>; issues: PipelineIssue[] } {
  const declared = defs ?? {};
  const names = Object.keys(declared);
  const values: Record<string, unknown> = {};
  const issues: PipelineIssue[] = [];
  for (const [name, value] of Object.entries(given ?? {})) {
    const def = declared[name];
    if (!def) {
      const near = closest(name, names);
      issues.push({
        field: `--param ${name}`,
        received: value,
        problem: names.length
          ? 'the pipeline declares no parameter of this name'
          : 'the pipeline declares no parameters',
        fix: near
          ? `did you mean ${near}? (declared: ${names.join(', ')})`
          : names.length
            ? `use one of ${names.join(', ')}`
            : 'declare it under params: in the pipeline, or remove --param',
      });
      continue;
    }
    const problem = paramValueProblem(def, value);
    if (problem)
      issues.push({ field: `--param ${name}`, received: value, problem, fix: `give ${exampleOf(name, def)}` });
    else values[name] = value;
  }
  for (const [name, def] of Object.entries(declared)) {
    if (name in values || issues.some((i) => i.field === `--param ${name}`)) continue;
    if (def.default !== undefined) values[name] = def.default;
    else
      issues.push({
        field: `--param ${name}`,
        problem: 'required: the pipeline gives it no default',
        fix: `give it, e.g. ${exampleOf(name, def)}`,
      });
  }
  return { values, issues };
}

/** Problems with the declarations themselves (a default of the wrong type, an enum without the default). */
export function paramDefinitionIssues(defs: ParamDefinitions | undefined): PipelineIssue[] {
  const issues: PipelineIssue[] = [];
  for (const [name, def] of Object.entries(defs ?? {})) {
    if (def.default === undefined) continue;
    const problem = paramValueProblem(def, def.default);
    if (problem)
      issues.push({
        field: `params.${name}.default`,
        received: def.default,
        problem,
        fix: `change the default to ${article(def.type)} ${def.type}${def.enum ? ' from its enum' : ''}, or change its type`,
      });
  }
  return issues;
}
