/**
 * Reading a query's result for the stage result (Athena, Redshift Data): the row count, the column
 * names and the first rows — what `expect` checks read. The result lands in workflow history, so
 * only the first rows are kept; counting stops after MAX_RESULT_PAGES pages (then the count is a
 * lower bound, flagged by `rowCountComplete: false`).
 */

/** Rows kept in the stage result. */
export const FIRST_ROWS = 10;
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
  firstRows: (string | null)[][];
}

export async function readResultRows(
  fetchPage: (nextToken: string | undefined, pageIndex: number) => Promise<ResultPage>,
): Promise<ResultRows> {
  let columns: string[] = [];
  const firstRows: (string | null)[][] = [];
  let rowCount = 0;
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await fetchPage(nextToken, pages);
    if (!columns.length) columns = page.columns;
    rowCount += page.rows.length;
    for (const r of page.rows) if (firstRows.length < FIRST_ROWS) firstRows.push(r);
    nextToken = page.nextToken;
    pages++;
  } while (nextToken && pages < MAX_RESULT_PAGES);
  return { columns, rowCount, rowCountComplete: !nextToken, firstRows };
}

/** `3 rows; first: region=eu, total=12`, for the stage's one-line summary. */
export function describeRows(r: ResultRows): string {
  const first = r.firstRows[0];
  const preview = first ? `; first: ${r.columns.map((c, i) => `${c}=${first[i] ?? 'NULL'}`).join(', ')}` : '';
  return `${r.rowCount}${r.rowCountComplete ? '' : '+'} row${r.rowCount === 1 ? '' : 's'}${preview}`;
}
