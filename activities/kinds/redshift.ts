/**
 * `redshift.sql`: Redshift Data ExecuteStatement (`Sql`) or BatchExecuteStatement (`Sqls`), with a
 * ClientToken derived from the idempotency key → DescribeStatement → CancelStatement on cancel;
 * on success, when the statement has a result set, GetStatementResult gives the row count, the
 * column names and the first rows (so `expect` checks work as on athena.query).
 */
import { createHash } from 'node:crypto';
import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  type BatchExecuteStatementCommandInput,
  type DescribeStatementResponse,
  type ExecuteStatementCommandInput,
  type Field,
} from '@aws-sdk/client-redshift-data';
import type { JobHandler, JobStatus } from '../stage-handler';
import { FIRST_ROWS } from './athena';

/** Pages read to count rows; past this the count is a lower bound. */
const MAX_RESULT_PAGES = 100;

/** Redshift Data tokens are 1–64 printable ASCII characters: a hex SHA-256 of the key fits exactly. */
export function redshiftClientToken(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex');
}

export function mapRedshiftState(statement: Pick<DescribeStatementResponse, 'Status' | 'Error'>): JobStatus {
  const s = statement.Status ?? 'UNKNOWN';
  switch (s) {
    case 'FINISHED':
      return { state: 'succeeded', awsState: s };
    case 'FAILED':
      return { state: 'failed', awsState: s, ...(statement.Error ? { message: statement.Error } : {}) };
    case 'ABORTED':
      return { state: 'stopped', awsState: s, ...(statement.Error ? { message: statement.Error } : {}) };
    default: // SUBMITTED, PICKED, STARTED
      return { state: 'running', awsState: s };
  }
}

/** A Redshift Data field as text (the form `expect` compares and Athena returns); NULL is null. */
export function fieldText(f: Field): string | null {
  if (f.isNull) return null;
  if (f.stringValue !== undefined) return f.stringValue;
  if (f.longValue !== undefined) return String(f.longValue);
  if (f.doubleValue !== undefined) return String(f.doubleValue);
  if (f.booleanValue !== undefined) return String(f.booleanValue);
  if (f.blobValue !== undefined) return Buffer.from(f.blobValue).toString('base64');
  return null;
}

export const redshiftSql: JobHandler = {
  kind: 'redshift.sql',
  mode: 'job',
  service: 'Redshift Data',
  async start(ctx) {
    const ClientToken = redshiftClientToken(ctx.idempotencyKey);
    const out =
      ctx.params.Sqls !== undefined
        ? await ctx.clients.redshiftData.send(new BatchExecuteStatementCommand({ ...(ctx.params as unknown as BatchExecuteStatementCommandInput), ClientToken }))
        : await ctx.clients.redshiftData.send(new ExecuteStatementCommand({ ...(ctx.params as unknown as ExecuteStatementCommandInput), ClientToken }));
    if (!out.Id) throw new Error('Redshift Data returned no statement Id');
    return out.Id;
  },
  async describe(ctx, jobId) {
    return mapRedshiftState(await ctx.clients.redshiftData.send(new DescribeStatementCommand({ Id: jobId })));
  },
  async stop(ctx, jobId) {
    try {
      await ctx.clients.redshiftData.send(new CancelStatementCommand({ Id: jobId }));
    } catch (err) {
      // A statement that ended before the cancel reached it cannot be cancelled, and need not be.
      if ((await redshiftSql.describe(ctx, jobId)).state === 'running') throw err;
    }
  },
  async collect(ctx, jobId) {
    const d = await ctx.clients.redshiftData.send(new DescribeStatementCommand({ Id: jobId }));
    // A batch's results belong to its statements (<Id>:<n>): read the last one that has a result set.
    const resultId = d.SubStatements?.length ? [...d.SubStatements].reverse().find((s) => s.HasResultSet)?.Id : d.HasResultSet ? jobId : undefined;
    if (!resultId) {
      return { summary: `Redshift statement ${jobId} finished (no result set)`, output: { statementId: jobId, columns: [], rowCount: 0, rowCountComplete: true, firstRows: [] } };
    }
    let columns: string[] = [];
    const firstRows: (string | null)[][] = [];
    let rowCount = 0;
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const out = await ctx.clients.redshiftData.send(new GetStatementResultCommand({ Id: resultId, NextToken }));
      if (!columns.length) columns = (out.ColumnMetadata ?? []).map((c) => c.name ?? c.label ?? '');
      for (const record of out.Records ?? []) {
        rowCount++;
        if (firstRows.length < FIRST_ROWS) firstRows.push(record.map(fieldText));
      }
      NextToken = out.NextToken;
      pages++;
    } while (NextToken && pages < MAX_RESULT_PAGES);
    const complete = !NextToken;
    const first = firstRows[0];
    const preview = first ? `; first: ${columns.map((c, i) => `${c}=${first[i] ?? 'NULL'}`).join(', ')}` : '';
    return {
      summary: `Redshift statement ${resultId} finished: ${rowCount}${complete ? '' : '+'} row${rowCount === 1 ? '' : 's'}${preview}`,
      output: { statementId: jobId, ...(resultId !== jobId ? { resultStatementId: resultId } : {}), columns, rowCount, rowCountComplete: complete, firstRows },
    };
  },
};
