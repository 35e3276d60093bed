/**
 * `sluice grid` in the terminal (pure): the matrix as text, one symbol per state, coloured only
 * when asked (a TTY without NO_COLOR), so that plain text says everything colour does.
 */
import type { CellState } from './grid-data';
import { STATE_LABEL, STATE_ORDER, type Matrix } from './grid-matrix';

export const STATE_SYMBOL: Record<CellState, string> = {
  succeeded: '✔',
  failed: '✘',
  running: '▶',
  waiting: '⧗',
  late: '!',
  skipped: '–',
  cancelled: '■',
  pending: '◌',
  never: '·',
  unknown: '?',
};

/** ANSI SGR colour per state. */
const COLOUR: Record<CellState, string> = {
  succeeded: '32',
  failed: '31;1',
  running: '34',
  waiting: '36',
  late: '35',
  skipped: '90',
  cancelled: '33',
  pending: '90',
  never: '90',
  unknown: '35',
};

/** Colour when writing to a terminal, unless NO_COLOR is set (https://no-color.org: any value). */
export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
}

/** By day, unless the dates do not fit in `screenRows` lines (a TTY's height): then by week. */
export function chooseFold(dates: number, screenRows: number | undefined, extraLines: number): 'day' | 'week' {
  return screenRows !== undefined && dates + extraLines > screenRows ? 'week' : 'day';
}

function paint(text: string, state: CellState, colour: boolean): string {
  return colour ? `\u001b[${COLOUR[state]}m${text}\u001b[0m` : text;
}

/** The lines around the matrix rows (header, totals, failing list), for chooseFold. */
export const GRID_EXTRA_LINES = 6;

export interface GridTextHeader {
  pipeline: string;
  from: string;
  to: string;
}

/** The grid as lines of text. */
export function renderGrid(
  m: Matrix,
  h: GridTextHeader,
  o: { colour: boolean; failuresShown?: number } = { colour: false },
): string[] {
  const out: string[] = [];
  const rows = m.rows.length;
  out.push(
    `${h.pipeline}: ${h.from} → ${h.to}, ${m.rows.reduce((n, r) => n + r.dates.length, 0)} dates × ${m.stages.length} stages${m.by === 'week' ? ` (${rows} weeks, each the worst state of its dates)` : ''}`,
  );
  if (!m.stages.length) {
    out.push('No stage has run in this range.');
    return out;
  }
  const label = m.by === 'week' ? 'week of' : 'date';
  const cellWidth = (i: number) =>
    Math.max(
      (m.stages[i] as string).length,
      ...m.rows.map((r) => {
        const c = r.cells[i];
        return c ? 2 + (c.text?.length ?? 0) : 1;
      }),
    );
  const widths = m.stages.map((_, i) => cellWidth(i));
  const first = Math.max(label.length, 10);
  out.push([label.padEnd(first), ...m.stages.map((s, i) => s.padEnd(widths[i] as number)), 'run'].join('  '));
  for (const r of m.rows) {
    const cells = r.cells.map((c, i) => {
      const text = c.text ? `${STATE_SYMBOL[c.state]} ${c.text}` : STATE_SYMBOL[c.state];
      return paint(text, c.state, o.colour) + ' '.repeat(Math.max(0, (widths[i] as number) - [...text].length));
    });
    out.push([r.label.padEnd(first), ...cells, r.status].join('  ').trimEnd());
  }
  out.push('');
  const used = STATE_ORDER.filter((s) => m.stages.some((st) => m.totals[st]?.[s]));
  out.push(`legend: ${used.map((s) => `${paint(STATE_SYMBOL[s], s, o.colour)} ${STATE_LABEL[s]}`).join('  ')}`);
  out.push('totals per stage (dates):');
  for (const st of m.stages) {
    const t = m.totals[st] ?? {};
    out.push(
      `  ${st}: ${STATE_ORDER.filter((s) => t[s])
        .map((s) => `${t[s]} ${STATE_LABEL[s]}`)
        .join(', ')}`,
    );
  }
  if (m.failing.length) {
    const shown = o.failuresShown ?? 20;
    out.push(`failing (${m.failing.length}):`);
    for (const f of m.failing.slice(0, shown))
      out.push(`  ${f.ds} ${f.stage}: ${f.message}${f.jobId ? ` (job ${f.jobId})` : ''}${f.url ? ` ${f.url}` : ''}`);
    if (m.failing.length > shown) out.push(`  … ${m.failing.length - shown} more (--json lists them all)`);
  }
  return out;
}
