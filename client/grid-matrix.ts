/**
 * The grid as rows and cells (pure): a date's (or a week's) state per stage, the totals per
 * stage, and the failing cells with their messages. `sluice grid` prints it; its JSON is the same.
 */
import { addDays, dsToEpochMs } from '../common/dates';
import { totalCalls, type CellState, type GridCell, type GridData, type GridRun } from './grid-data';

/** Worst first: a week shows the worst state among its dates. */
export const STATE_ORDER: readonly CellState[] = [
  'failed',
  'late',
  'cancelled',
  'unknown',
  'waiting',
  'running',
  'pending',
  'never',
  'skipped',
  'succeeded',
];

export const STATE_LABEL: Record<CellState, string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  running: 'running',
  waiting: 'waiting for a pool',
  late: 'late',
  skipped: 'skipped',
  cancelled: 'cancelled',
  pending: 'not started yet',
  never: 'never ran',
  unknown: 'unknown',
};

/** The worst of `states` (STATE_ORDER); `never` for none. */
export function worstState(states: Iterable<CellState>): CellState {
  let worst = STATE_ORDER.length - 1;
  let any = false;
  for (const s of states) {
    any = true;
    worst = Math.min(worst, STATE_ORDER.indexOf(s));
  }
  return any ? (STATE_ORDER[worst] as CellState) : 'never';
}

export interface MatrixCell {
  state: CellState;
  /** "48/50" for a forEach stage or sub-runs; for a week, how many of its dates are in the worst state. */
  text?: string;
}

export interface MatrixRow {
  /** The date, or a week's first date. */
  label: string;
  dates: string[];
  /** The run's status (a date row), or the worst of the week's. */
  status: string;
  cells: MatrixCell[];
  /** A date row's run. */
  run?: GridRun;
}

export interface FailingCell {
  ds: string;
  stage: string;
  message: string;
  jobId?: string;
  url?: string;
}

export interface Matrix {
  stages: string[];
  rows: MatrixRow[];
  /** Per stage: how many dates are in each state. */
  totals: Record<string, Partial<Record<CellState, number>>>;
  failing: FailingCell[];
  by: 'day' | 'week';
}

/** A date's cell of `stage`: the run's, `never` when there is no run or the stage was not in it. */
export function cellOf(run: GridRun | undefined, stage: string): GridCell {
  if (!run) return { state: 'never' };
  const c = run.cells[stage];
  if (c) return c;
  // No stages known (no worker to ask, a record that could not be decoded): unknown, not "never ran".
  return Object.keys(run.cells).length ? { state: 'never' } : { state: 'unknown' };
}

function cellText(c: GridCell): string | undefined {
  return c.items ? `${c.items.succeeded}/${c.items.total}` : undefined;
}

/** The Monday of `ds`'s ISO week. */
export function weekStart(ds: string): string {
  const day = new Date(dsToEpochMs(ds)).getUTCDay(); // 0 Sunday … 6 Saturday
  return addDays(ds, -((day + 6) % 7));
}

/** Date rows folded by ISO week (Monday first): each cell the week's worst, with how many dates had it. */
export function foldWeeks(rows: MatrixRow[]): MatrixRow[] {
  const weeks = new Map<string, MatrixRow[]>();
  for (const r of rows) {
    const w = weekStart(r.label);
    weeks.set(w, [...(weeks.get(w) ?? []), r]);
  }
  return [...weeks.values()].map((days) => {
    const first = days[0] as MatrixRow;
    const cells = first.cells.map((_, i) => {
      const states = days.map((d) => (d.cells[i] as MatrixCell).state);
      const state = worstState(states);
      const n = states.filter((s) => s === state).length;
      return n === days.length ? { state } : { state, text: `${n}/${days.length}` };
    });
    const statuses = days.map((d) => d.status);
    return {
      label: first.label,
      dates: days.flatMap((d) => d.dates),
      status: worstStatus(statuses),
      cells,
    };
  });
}

const STATUS_ORDER = ['Failed', 'TERMINATED', 'TIMED_OUT', 'Cancelled', 'Running', 'never ran', 'Succeeded'];
function worstStatus(statuses: string[]): string {
  const rank = (s: string) => (STATUS_ORDER.includes(s) ? STATUS_ORDER.indexOf(s) : 0);
  return statuses.reduce((w, s) => (rank(s) < rank(w) ? s : w), statuses[0] ?? 'never ran');
}

/** The matrix of `data`: one row per date (`by: 'day'`) or per ISO week. */
export function buildMatrix(data: GridData, by: 'day' | 'week' = 'day'): Matrix {
  const totals: Matrix['totals'] = Object.fromEntries(data.stages.map((s) => [s, {}]));
  const failing: FailingCell[] = [];
  const days: MatrixRow[] = data.dates.map((ds) => {
    const run = data.runs[ds];
    const cells = data.stages.map((stage) => {
      const c = cellOf(run, stage);
      const t = totals[stage] as Partial<Record<CellState, number>>;
      t[c.state] = (t[c.state] ?? 0) + 1;
      if (c.state === 'failed' && run)
        failing.push({
          ds,
          stage,
          message: c.message ?? 'failed',
          ...(c.jobId ? { jobId: c.jobId } : {}),
          ...(run.url ? { url: run.url } : {}),
        });
      const text = cellText(c);
      return text ? { state: c.state, text } : { state: c.state };
    });
    return { label: ds, dates: [ds], status: run?.status ?? 'never ran', cells, ...(run ? { run } : {}) };
  });
  return { stages: data.stages, rows: by === 'week' ? foldWeeks(days) : days, totals, failing, by };
}

/** The grid as `--json` prints it: every date of the range (never-ran ones too), each stage's cell. */
export function gridJson(data: GridData, m: Matrix) {
  return {
    pipeline: data.pipeline,
    from: data.from,
    to: data.to,
    stages: data.stages.map((id) => ({ id, kind: data.kinds[id] })),
    dates: data.dates.map((ds) => {
      const run = data.runs[ds];
      const cells = Object.fromEntries(data.stages.map((s) => [s, cellOf(run, s)]));
      if (!run) return { ds, status: 'never ran', cells };
      const { cells: _own, ...rest } = run;
      return { ...rest, cells };
    }),
    totals: m.totals,
    failing: m.failing,
    calls: { ...data.calls, total: totalCalls(data.calls) },
    workerUp: data.workerUp,
    loadMs: data.loadMs,
  };
}
