/**
 * The grid's cell states, once (pure): worst first, each with the words, the terminal's symbol and
 * ANSI colour (`sluice grid`) and the page's colour (`sluice ui`, which gets this table from its
 * server's /api/config rather than keeping a copy of its own).
 */

export interface StateLook {
  /** In words, as the tooltip, the legend and the totals say it. */
  label: string;
  /** The terminal's symbol: plain text says what colour does. */
  symbol: string;
  /** The terminal's ANSI SGR colour. */
  ansi: string;
  /** The page's colour. */
  colour: string;
}

/** Worst first: a week shows the worst state among its dates. */
export const CELL_STATES = {
  failed: { label: 'failed', symbol: '✘', ansi: '31;1', colour: '#c62828' },
  late: { label: 'late', symbol: '!', ansi: '35', colour: '#6a1b9a' },
  cancelled: { label: 'cancelled', symbol: '■', ansi: '33', colour: '#ef6c00' },
  unknown: { label: 'unknown', symbol: '?', ansi: '35', colour: '#ab47bc' },
  waiting: { label: 'waiting for a pool', symbol: '⧗', ansi: '36', colour: '#00838f' },
  running: { label: 'running', symbol: '▶', ansi: '34', colour: '#1565c0' },
  pending: { label: 'not started yet', symbol: '◌', ansi: '90', colour: '#b0bec5' },
  never: { label: 'never ran', symbol: '·', ansi: '90', colour: '#eceff1' },
  skipped: { label: 'skipped', symbol: '–', ansi: '90', colour: '#9e9e9e' },
  succeeded: { label: 'succeeded', symbol: '✔', ansi: '32', colour: '#2e7d32' },
} satisfies Record<string, StateLook>;

/** A cell's state: what the grid shows in one date × stage. */
export type CellState = keyof typeof CELL_STATES;

export const STATE_ORDER = Object.keys(CELL_STATES) as readonly CellState[];

const pick = (key: keyof StateLook) =>
  Object.fromEntries(STATE_ORDER.map((s) => [s, CELL_STATES[s][key]])) as Record<CellState, string>;

export const STATE_LABEL = pick('label');
export const STATE_SYMBOL = pick('symbol');
export const STATE_ANSI = pick('ansi');

/** The states as the page gets them (/api/config), worst first. */
export function pageStates(): { id: CellState; label: string; colour: string }[] {
  return STATE_ORDER.map((id) => ({ id, label: CELL_STATES[id].label, colour: CELL_STATES[id].colour }));
}
