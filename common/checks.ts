/**
 * Data-quality gates on stages that read results (`athena.query`, `redshift.sql`):
 *   expect: { rows: ">0" }              the row count
 *   expect: { firstValue: ">= 1000" }   the first column of the first row
 * A failed check fails the stage (non-retryable QualityCheckError), so downstream stages never start.
 * Pure functions: parsed at load time (so a bad expression is rejected before anything starts)
 * and evaluated by the stage runner.
 */

export interface ExpectSpec {
  rows?: string;
  firstValue?: string;
}

type Op = '==' | '!=' | '>=' | '<=' | '>' | '<';

export interface Comparison {
  op: Op;
  operand: string;
}

const EXPR = /^\s*(==|!=|>=|<=|>|<)\s*(.+?)\s*$/;

/** Parses `>0`, `>= 10`, `== 'ok'`; undefined when not a comparison. */
export function parseComparison(text: string): Comparison | undefined {
  const m = EXPR.exec(text);
  if (!m) return undefined;
  let operand = m[2] as string;
  const quoted = /^'(.*)'$|^"(.*)"$/.exec(operand);
  if (quoted) operand = quoted[1] ?? quoted[2] ?? '';
  return { op: m[1] as Op, operand };
}

function isNumber(s: string): boolean {
  return s.trim() !== '' && Number.isFinite(Number(s));
}

/** Whether `actual` satisfies the comparison: numerically when both sides are numbers, else as text. */
export function compare(actual: string | number | null | undefined, c: Comparison): boolean {
  if (actual === null || actual === undefined)
    return c.op === '==' ? c.operand.toUpperCase() === 'NULL' : c.op === '!=' && c.operand.toUpperCase() !== 'NULL';
  const a = String(actual);
  if (isNumber(a) && isNumber(c.operand)) {
    const [x, y] = [Number(a), Number(c.operand)];
    return { '==': x === y, '!=': x !== y, '>=': x >= y, '<=': x <= y, '>': x > y, '<': x < y }[c.op];
  }
  if (c.op === '==') return a === c.operand;
  if (c.op === '!=') return a !== c.operand;
  return { '>=': a >= c.operand, '<=': a <= c.operand, '>': a > c.operand, '<': a < c.operand }[c.op];
}

/** Problems with an expect block, for load-time validation. */
export function expectProblems(spec: ExpectSpec): { field: string; received: string }[] {
  const out: { field: string; received: string }[] = [];
  for (const [field, text] of Object.entries(spec)) {
    if (typeof text !== 'string' || !parseComparison(text))
      out.push({ field: `expect.${field}`, received: String(text) });
  }
  return out;
}

export interface ResultFacts {
  rowCount?: number;
  firstRows?: (string | null)[][];
}

/** The failed expectations, described for people; empty when every one holds. */
export function failedExpectations(spec: ExpectSpec, facts: ResultFacts): string[] {
  const failed: string[] = [];
  if (spec.rows !== undefined) {
    const c = parseComparison(spec.rows) as Comparison;
    if (!compare(facts.rowCount ?? 0, c)) failed.push(`rows ${spec.rows.trim()} (got ${facts.rowCount ?? 0})`);
  }
  if (spec.firstValue !== undefined) {
    const c = parseComparison(spec.firstValue) as Comparison;
    const v = facts.firstRows?.[0]?.[0];
    if (!compare(v, c))
      failed.push(
        `firstValue ${spec.firstValue.trim()} (got ${v === undefined ? 'no rows' : v === null ? 'NULL' : v})`,
      );
  }
  return failed;
}
