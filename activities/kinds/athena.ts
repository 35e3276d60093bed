/**
 * `athena.query`: StartQueryExecution (ClientRequestToken from the idempotency key) →
 * GetQueryExecution → StopQueryExecution; on success the result carries the row count and the
 * first rows.
 */
import { createHash } from 'node:crypto';
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type QueryExecutionStatus,
  type StartQueryExecutionCommandInput,
} from '@aws-sdk/client-athena';
import type { JobHandler, JobStatus } from '../stage-handler';

/** Rows kept in the stage result (it lands in workflow history, so it stays small). */
export const FIRST_ROWS = 10;
/** Pages of up to 1,000 rows read to count rows; past this the count is a lower bound. */
const MAX_RESULT_PAGES = 100;

/** Athena tokens are 32–128 characters; a hash of the key fits and is stable. */
export function athenaClientToken(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex');
}

export function mapAthenaState(status: QueryExecutionStatus | undefined): JobStatus {
  const s = status?.State ?? 'UNKNOWN';
  const message = status?.AthenaError?.ErrorMessage ?? status?.StateChangeReason;
  switch (s) {
    case 'SUCCEEDED':
      return { state: 'succeeded', awsState: s };
    case 'FAILED':
      return { state: 'failed', awsState: s, ...(message ? { message } : {}) };
    case 'CANCELLED':
      return { state: 'stopped', awsState: s, ...(message ? { message } : {}) };
    default: // QUEUED, RUNNING
      return { state: 'running', awsState: s };
  }
}

export const athenaQuery: JobHandler = {
  kind: 'athena.query',
  mode: 'job',
  service: 'Athena',
  async start(ctx) {
    const request = ctx.params as unknown as StartQueryExecutionCommandInput;
    const out = await ctx.clients.athena.send(new StartQueryExecutionCommand({ ...request, ClientRequestToken: athenaClientToken(ctx.idempotencyKey) }));
    if (!out.QueryExecutionId) throw new Error('Athena StartQueryExecution returned no QueryExecutionId');
    return out.QueryExecutionId;
  },
  async describe(ctx, jobId) {
    const out = await ctx.clients.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: jobId }));
    return mapAthenaState(out.QueryExecution?.Status);
  },
  async stop(ctx, jobId) {
    await ctx.clients.athena.send(new StopQueryExecutionCommand({ QueryExecutionId: jobId }));
  },
  async collect(ctx, jobId) {
    let columns: string[] = [];
    const firstRows: (string | null)[][] = [];
    let rowCount = 0;
    let NextToken: string | undefined;
    let pages = 0;
    let headerChecked = false;
    do {
      const out = await ctx.clients.athena.send(new GetQueryResultsCommand({ QueryExecutionId: jobId, NextToken, MaxResults: 1000 }));
      if (!columns.length) columns = (out.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
      let rows = (out.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? null));
      // For SELECT, Athena repeats the column names as the first row of the first page.
      if (!headerChecked) {
        headerChecked = true;
        const first = rows[0];
        if (first && columns.length && first.length === columns.length && first.every((v, i) => v === columns[i])) rows = rows.slice(1);
      }
      rowCount += rows.length;
      for (const r of rows) if (firstRows.length < FIRST_ROWS) firstRows.push(r);
      NextToken = out.NextToken;
      pages++;
    } while (NextToken && pages < MAX_RESULT_PAGES);
    const complete = !NextToken;
    const first = firstRows[0];
    const preview = first ? `; first: ${columns.map((c, i) => `${c}=${first[i] ?? 'NULL'}`).join(', ')}` : '';
    return {
      summary: `Athena query ${jobId} succeeded: ${rowCount}${complete ? '' : '+'} row${rowCount === 1 ? '' : 's'}${preview}`,
      output: { queryExecutionId: jobId, columns, rowCount, rowCountComplete: complete, firstRows },
    };
  },
};
