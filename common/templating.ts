/**
 * `{{ name }}` templates in pipeline params. Names are checked when a pipeline is loaded
 * ({@link findTemplateNames}) and rendered by the stage runner for one logical date.
 * Pure functions: no Node built-ins.
 */
import { TEMPLATE_NAMES, type TemplateName } from './constants';
import { addDays } from './dates';

const TEMPLATE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

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

/** Every `{{ name }}` used in a string, known or not. */
export function findTemplateNames(text: string): string[] {
  return [...text.matchAll(TEMPLATE)].map((m) => m[1] as string);
}

export function renderString(text: string, ctx: TemplateContext): string {
  return text.replace(TEMPLATE, (whole, name: string) => (isTemplateName(name) ? ctx[name] : whole));
}

/** Renders every string inside `value` (objects and arrays are walked; keys are left alone). */
export function renderDeep<T>(value: T, ctx: TemplateContext): T {
  if (typeof value === 'string') return renderString(value, ctx) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => renderDeep(v, ctx)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderDeep(v, ctx);
    return out as T;
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
