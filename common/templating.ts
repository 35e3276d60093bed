/**
 * `{{ templates }}` in pipeline params and conditions. Pure functions (no Node built-ins): the
 * CLI checks them when a pipeline loads, the workflow renders them for one run.
 *
 *   {{ ds }} {{ ds_nodash }} {{ year }} {{ month }} {{ day }} {{ prev_ds }} {{ next_ds }} {{ pipeline }}
 *   {{ params.<name>[.<path>] }}              a run parameter (pipeline `params:`)
 *   {{ stages.<id>.output[.<path>] }}         an upstream stage's output
 *   {{ item[.<path>] }} {{ item_index }}      the item of a fan-out (forEach)
 *
 * A path is `.field` and `[index]` steps. A string that is exactly one template yields the value
 * itself (a list, an object, a number); inside a longer string a value is written as text
 * (objects and lists as JSON).
 */
import { compare, parseComparison, type Comparison } from './checks';
import { TEMPLATE_NAMES, type TemplateName } from './constants';
import { addDays } from './dates';

/** One `{{ ... }}`: a name followed by `.field` / `[index]` steps. Other braces are left alone. */
const TEMPLATE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+|\[\d+\])*)\s*\}\}/g;
const WHOLE = /^\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+|\[\d+\])*)\s*\}\}\s*$/;
/** Any `{{ ... }}`, for finding templates that do not parse. */
const ANY_TEMPLATE = /\{\{([^{}]*)\}\}/g;

export type TemplateContext = Record<TemplateName, string>;

export function templateContext(pipeline: string, ds: string): TemplateContext {
  const [year, month, day] = ds.split('-') as [string, string, string];
  return {
    ds,
    ds_nodash: `${year}${month}${day}`,
    year,
    month,
    day,
    prev_ds: addDays(ds, -1),
    next_ds: addDays(ds, 1),
    pipeline,
  };
}

export function isTemplateName(name: string): name is TemplateName {
  return (TEMPLATE_NAMES as readonly string[]).includes(name);
}

/** A template, parsed: what it refers to. */
export type TemplateRef =
  | { ns: 'date'; name: TemplateName }
  | { ns: 'params'; name: string; path: (string | number)[] }
  | { ns: 'stages'; stage: string; path: (string | number)[] }
  | { ns: 'item'; path: (string | number)[] }
  | { ns: 'item_index' }
  | { ns: 'unknown'; text: string; why: string };

function steps(text: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of text.matchAll(/\.([A-Za-z0-9_-]+)|\[(\d+)\]/g)) out.push(m[1] ?? Number(m[2]));
  return out;
}

/** Parses the inside of one template (`stages.list.output.rows[0]`). */
export function parseTemplate(expr: string): TemplateRef {
  const head = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expr)?.[0] ?? '';
  const rest = steps(expr.slice(head.length));
  if (isTemplateName(head)) {
    return rest.length
      ? { ns: 'unknown', text: expr, why: `{{ ${head} }} is a string and has no fields` }
      : { ns: 'date', name: head };
  }
  if (head === 'params') {
    const [name, ...path] = rest;
    if (typeof name !== 'string') return { ns: 'unknown', text: expr, why: 'name the parameter: {{ params.<name> }}' };
    return { ns: 'params', name, path };
  }
  if (head === 'stages') {
    // Stage ids may hold dots: the id is everything up to `.output`.
    const at = rest.indexOf('output');
    const id = rest.slice(0, at);
    if (at < 1 || id.some((s) => typeof s !== 'string'))
      return { ns: 'unknown', text: expr, why: "write a stage's output as {{ stages.<id>.output.<field> }}" };
    return { ns: 'stages', stage: id.join('.'), path: rest.slice(at + 1) };
  }
  if (head === 'item') return { ns: 'item', path: rest };
  if (head === 'item_index') {
    return rest.length
      ? { ns: 'unknown', text: expr, why: '{{ item_index }} is a number and has no fields' }
      : { ns: 'item_index' };
  }
  return { ns: 'unknown', text: expr, why: `unknown template {{ ${expr} }}` };
}

/** Every template used in a string, parsed, with its text; `{{ ... }}` that do not parse too. */
export function findTemplates(text: string): { text: string; ref: TemplateRef }[] {
  const found: { text: string; ref: TemplateRef }[] = [];
  for (const m of text.matchAll(ANY_TEMPLATE)) {
    const inner = (m[1] ?? '').trim();
    const whole = `{{ ${inner} }}`;
    if (!WHOLE.test(m[0])) {
      // `{{ }}` that is not a template reference (a Jinja-style expression meant for another
      // system) is left alone as before; only names that look like ours are checked.
      if (/^(ds|ds_nodash|year|month|day|prev_ds|next_ds|pipeline|params|stages|item|item_index)\b/.test(inner))
        found.push({ text: whole, ref: { ns: 'unknown', text: inner, why: `cannot read ${whole}` } });
      continue;
    }
    found.push({ text: whole, ref: parseTemplate(inner) });
  }
  return found;
}

/** What templates are rendered with for one run (and one fan-out item). */
export interface RenderContext {
  date: TemplateContext;
  params?: Record<string, unknown>;
  /** Outputs of the stages that succeeded, by id; a stage that did not succeed is absent. */
  stages?: Record<string, Record<string, unknown> | undefined>;
  /** Why a stage has no output (skipped, failed), for messages. */
  stageStates?: Record<string, string>;
  item?: unknown;
  itemIndex?: number;
  /** Leave `{{ item }}` / `{{ item_index }}` as they are: a fan-out renders them per item. */
  deferItems?: boolean;
}

/** A template that cannot be rendered for this run (a field the output does not have). */
export class TemplateError extends Error {
  constructor(
    message: string,
    /** The stage whose output is missing (it did not succeed), when that is the reason. */
    readonly missingOutputOf?: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

function show(path: (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
}

function walk(root: unknown, path: (string | number)[], what: string): unknown {
  let cur = root;
  for (let i = 0; i < path.length; i++) {
    const step = path[i] as string | number;
    const here = `${what}${show(path.slice(0, i))}`;
    if (Array.isArray(cur) && typeof step === 'number') {
      if (step >= cur.length) throw new TemplateError(`${here} has ${cur.length} item(s), no [${step}]`);
      cur = cur[step];
    } else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && typeof step === 'string') {
      if (!(step in cur)) {
        const keys = Object.keys(cur);
        throw new TemplateError(
          `${here} has no field "${step}" (it has ${keys.length ? keys.slice(0, 12).join(', ') : 'no fields'})`,
        );
      }
      cur = (cur as Record<string, unknown>)[step];
    } else {
      throw new TemplateError(
        `${here} is ${cur === null ? 'null' : Array.isArray(cur) ? 'a list' : typeof cur}, so ${show([step])} cannot be read`,
      );
    }
  }
  return cur;
}

/** The value a template refers to in this run. Throws TemplateError when it has none. */
export function resolveTemplate(ref: TemplateRef, ctx: RenderContext): unknown {
  switch (ref.ns) {
    case 'date':
      return ctx.date[ref.name];
    case 'params': {
      const params = ctx.params ?? {};
      if (!(ref.name in params)) throw new TemplateError(`the run has no parameter "${ref.name}"`);
      return walk(params[ref.name], ref.path, `params.${ref.name}`);
    }
    case 'stages': {
      const out = ctx.stages?.[ref.stage];
      if (out === undefined) {
        const state = ctx.stageStates?.[ref.stage];
        throw new TemplateError(
          `stage "${ref.stage}" has no output${state ? ` (it ${state === 'skipped' ? 'was skipped' : `is ${state}`})` : ''}`,
          ref.stage,
        );
      }
      return walk(out, ref.path, `stages.${ref.stage}.output`);
    }
    case 'item':
      if (!('item' in ctx)) throw new TemplateError('{{ item }} is only known in a stage with forEach');
      return walk(ctx.item, ref.path, 'item');
    case 'item_index':
      if (ctx.itemIndex === undefined)
        throw new TemplateError('{{ item_index }} is only known in a stage with forEach');
      return ctx.itemIndex;
    case 'unknown':
      throw new TemplateError(ref.why);
  }
}

function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v);
}

/**
 * Renders one string. Exactly one template → its value (any type); otherwise each template is
 * written as text. Only the date names are known without a RenderContext's other parts; a
 * template of another namespace with no value throws TemplateError.
 */
export function renderValue(text: string, ctx: RenderContext): unknown {
  const keep = (ref: TemplateRef): boolean =>
    ref.ns === 'unknown' || (ctx.deferItems === true && (ref.ns === 'item' || ref.ns === 'item_index'));
  const whole = WHOLE.exec(text);
  if (whole) {
    const ref = parseTemplate(whole[1] as string);
    return keep(ref) ? text : resolveTemplate(ref, ctx);
  }
  return text.replace(TEMPLATE, (all, expr: string) => {
    const ref = parseTemplate(expr);
    return keep(ref) ? all : asText(resolveTemplate(ref, ctx));
  });
}

/** The string with every template replaced by `wildcard`: what any run may make of it (IAM resource patterns). */
export function widenTemplates(text: string, wildcard = '*'): string {
  return text.replace(TEMPLATE, wildcard);
}

/** Renders the date templates of one string (what activities did before the workflow rendered params). */
export function renderString(text: string, ctx: TemplateContext): string {
  return text.replace(TEMPLATE, (all, expr: string) => (isTemplateName(expr) ? ctx[expr] : all));
}

/** Renders the date templates of every string inside `value` (objects and arrays are walked; keys are left alone). */
export function renderDeep<T>(value: T, ctx: TemplateContext): T {
  return mapStrings(value, (s) => renderString(s, ctx)) as T;
}

/** Renders every string inside `value` with the run's whole context (see renderValue). */
export function renderParams<T>(value: T, ctx: RenderContext): T {
  return mapStrings(value, (s) => renderValue(s, ctx)) as T;
}

function mapStrings(value: unknown, fn: (s: string) => unknown): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v: unknown) => mapStrings(v, fn));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = mapStrings(v, fn);
    return out;
  }
  return value;
}

/** Visits every string in `value` with its path (`params.Arguments.--day`), for validation messages. */
export function walkStrings(value: unknown, path: string, visit: (text: string, path: string) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, `${path}[${i}]`, visit));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walkStrings(v, `${path}.${k}`, visit);
  }
}

/** `if:` — one template, an operator of `expect`, a literal: `{{ stages.check.output.firstValue }} > 0`. */
export interface Condition {
  template: string;
  ref: TemplateRef;
  comparison: Comparison;
}

/** One template, then what `expect` reads (common/checks.ts parses the operator and the value). */
const CONDITION = /^\s*(\{\{[^{}]*\}\})\s*((==|!=|>=|<=|>|<)\s*(.*?))\s*$/;

/** Parses a condition; a string saying what is wrong when it is not one. */
export function parseCondition(text: string): Condition | string {
  const m = CONDITION.exec(text);
  if (!m) {
    return /^\s*\{\{[^{}]*\}\}\s*$/.test(text)
      ? 'the condition has no operator'
      : 'expected one template, an operator and a value';
  }
  const found = findTemplates(m[1] as string);
  const t = found[0];
  if (!t) return `cannot read ${m[1]}`;
  const comparison = parseComparison(m[2] as string);
  if (!comparison) return 'the condition has no value to compare with';
  return { template: t.text, ref: t.ref, comparison };
}

/** Evaluates a parsed condition: the value it read, and whether it holds. Throws TemplateError. */
export function evaluateCondition(c: Condition, ctx: RenderContext): { value: unknown; holds: boolean } {
  const value = resolveTemplate(c.ref, ctx);
  const actual =
    value === null || value === undefined
      ? null
      : typeof value === 'object'
        ? JSON.stringify(value)
        : (value as string | number | boolean);
  return { value, holds: compare(typeof actual === 'boolean' ? String(actual) : actual, c.comparison) };
}
