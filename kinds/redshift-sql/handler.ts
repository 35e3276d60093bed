/**
 * `redshift.sql`: Redshift Data ExecuteStatement (`Sql`) or BatchExecuteStatement (`Sqls`), with a
 * ClientToken derived from the idempotency key → DescribeStatement → CancelStatement on cancel;
 * on success, when the statement has a result set, GetStatementResult gives the row count, the
 * column names and the first rows (so `expect` checks work as on athena.query).
 */
import { watchKey } from '../../common/stage-events';
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
  StatusString as SERVICE_STATES,
} from '@aws-sdk/client-redshift-data';
import { jobStatus, type JobHandler, type JobStatus } from '../../activities/stage-handler';
import { describeRows, readResultRows } from '../../activities/result-rows';
import { redshiftSql as redshiftSqlKind } from './kind';

/** Redshift Data tokens are 1–64 printable ASCII characters: a hex SHA-256 of the key fits exactly. */
export function redshiftClientToken(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex');
}

export function mapRedshiftState(statement: Pick<DescribeStatementResponse, 'Status' | 'Error'>): JobStatus {
  return jobStatus(redshiftSqlKind.states, statement.Status ?? 'UNKNOWN', statement.Error || undefined);
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
  kind: redshiftSqlKind.kind,
  mode: 'job',
  serviceStates: Object.values(SERVICE_STATES).filter((s) => s !== 'ALL'), // ALL: a ListStatements filter, never a statement's state
  service: 'Redshift Data',
  capacityErrors: ['ActiveStatementsExceededException', 'ActiveSessionsExceededException'],
  watchKey: (_ctx, jobId) => watchKey('redshift.sql', jobId),
  async start(ctx) {
    const ClientToken = redshiftClientToken(ctx.idempotencyKey);
    const out =
      ctx.params.Sqls !== undefined
        ? await ctx.clients.redshiftData.send(
            new BatchExecuteStatementCommand({
              ...(ctx.params as unknown as BatchExecuteStatementCommandInput),
              // WithEvent: AWS emits the statement's state-change event, which push completion
              // waits for (set after the params: a WithEvent false there would leave the stage
              // waiting until the fallback poll). It has no other effect.
              WithEvent: true,
              ClientToken,
            }),
          )
        : await ctx.clients.redshiftData.send(
            new ExecuteStatementCommand({
              ...(ctx.params as unknown as ExecuteStatementCommandInput),
              WithEvent: true,
              ClientToken,
            }),
          );
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
    const resultId = d.SubStatements?.length
      ? [...d.SubStatements].reverse().find((s) => s.HasResultSet)?.Id
      : d.HasResultSet
        ? jobId
        : undefined;
    if (!resultId) {
      return {
        summary: `Redshift statement ${jobId} finished (no result set)`,
        output: {
          statementId: jobId,
          columns: [],
          rowCount: 0,
          rowCountComplete: true,
          rows: [],
          rowsComplete: true,
          firstRows: [],
          firstValue: null,
        },
      };
    }
    const rows = await readResultRows(async (NextToken) => {
      const out = await ctx.clients.redshiftData.send(new GetStatementResultCommand({ Id: resultId, NextToken }));
      return {
        columns: (out.ColumnMetadata ?? []).map((c) => c.name ?? c.label ?? ''),
        rows: (out.Records ?? []).map((record) => record.map(fieldText)),
        ...(out.NextToken ? { nextToken: out.NextToken } : {}),
      };
    });
    return {
      summary: `Redshift statement ${resultId} finished: ${describeRows(rows)}`,
      output: { statementId: jobId, ...(resultId !== jobId ? { resultStatementId: resultId } : {}), ...rows },
    };
  },
};
