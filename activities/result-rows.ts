/**
 * Reading a query's result for the stage result (Athena, Redshift Data): the row count, the column
 * names, the rows as objects (what `{{ stages.<id>.output.rows }}` passes downstream, up to a
 * bound), the first rows and the first value (what `expect` checks read). The result lands in
 * workflow history, so rows are kept up to ROWS_MAX rows and ROWS_MAX_BYTES of JSON (beyond,
 * `rowsComplete: false`: read the rest from the result location); counting stops after
 * MAX_RESULT_PAGES pages (then the count is a lower bound, flagged by `rowCountComplete: false`).
 */

/** Rows kept as arrays in `firstRows`. */
export const FIRST_ROWS = 10;
/** Rows kept as objects in `rows`: at most this many... */
export const ROWS_MAX = 1000;
/** ...and at most this much JSON. */
export const ROWS_MAX_BYTES = 128 * 1024;
/** Pages read to count rows. */
export const MAX_RESULT_PAGES = 100;

export interface ResultPage {
  columns: string[];
  rows: (string | null)[][];
  nextToken?: string;
}

export interface ResultRows {
  columns: string[];
  rowCount: number;
  rowCountComplete: boolean;
  /** The rows as `{ column: value }`, up to ROWS_MAX rows / ROWS_MAX_BYTES. */
  rows: Record<string, string | null>[];
  /** False when `rows` holds only the first of the rows. */
  rowsComplete: boolean;
  firstRows: (string | null)[][];
  /** The first column of the first row (null: NULL or no rows). */
  firstValue: string | null;
}

export async function readResultRows(
  fetchPage: (nextToken: string | undefined, pageIndex: number) => Promise<ResultPage>,
): Promise<ResultRows> {
  let columns: string[] = [];
  const firstRows: (string | null)[][] = [];
  const rows: Record<string, string | null>[] = [];
  let rowsComplete = true;
  let bytes = 2;
  let rowCount = 0;
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await fetchPage(nextToken, pages);
    if (!columns.length) columns = page.columns;
    rowCount += page.rows.length;
    for (const r of page.rows) {
      if (firstRows.length < FIRST_ROWS) firstRows.push(r);
      if (!rowsComplete) continue;
      const row = Object.fromEntries(columns.map((c, i) => [c, r[i] ?? null]));
      const size = JSON.stringify(row).length + 1;
      if (rows.length >= ROWS_MAX || bytes + size > ROWS_MAX_BYTES) rowsComplete = false;
      else {
        rows.push(row);
        bytes += size;
      }
    }
    nextToken = page.nextToken;
    pages++;
  } while (nextToken && pages < MAX_RESULT_PAGES);
  return {
    columns,
    rowCount,
    rowCountComplete: !nextToken,
    rows,
    rowsComplete: rowsComplete && !nextToken,
    firstRows,
    firstValue: firstRows[0]?.[0] ?? null,
  };
}

/** `3 rows; first: region=eu, total=12`, for the stage's one-line summary. */
export function describeRows(r: ResultRows): string {
  const first = r.firstRows[0];
  const preview = first ? `; first: ${r.columns.map((c, i) => `${c}=${first[i] ?? 'NULL'}`).join(', ')}` : '';
  return `${r.rowCount}${r.rowCountComplete ? '' : '+'} row${r.rowCount === 1 ? '' : 's'}${preview}`;
}
