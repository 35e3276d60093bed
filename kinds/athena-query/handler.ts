/**
 * `athena.query`: StartQueryExecution (ClientRequestToken from the idempotency key) →
 * GetQueryExecution → StopQueryExecution; on success the output carries the row count, the rows
 * (up to a bound, see result-rows.ts), the first value and the result location in S3.
 */
import { watchKey } from '../../common/stage-events';
import { createHash } from 'node:crypto';
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type QueryExecutionStatus,
  type StartQueryExecutionCommandInput,
  QueryExecutionState as SERVICE_STATES,
} from '@aws-sdk/client-athena';
import { jobStatus, type JobHandler, type JobStatus } from '../../activities/stage-handler';
import { describeRows, readResultRows } from '../../activities/result-rows';
import { athenaQuery as athenaQueryKind } from './kind';

/** Athena tokens are 32–128 characters; a hash of the key fits and is stable. */
export function athenaClientToken(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey).digest('hex');
}

export function mapAthenaState(status: QueryExecutionStatus | undefined): JobStatus {
  return jobStatus(
    athenaQueryKind.states,
    status?.State ?? 'UNKNOWN',
    status?.AthenaError?.ErrorMessage ?? status?.StateChangeReason,
  );
}

/** Athena's quota of active DML queries per account and Region is Region-specific; the lowest common default. */
export const ATHENA_DEFAULT_ACTIVE_QUERIES = 20;

export const athenaQuery: JobHandler = {
  kind: athenaQueryKind.kind,
  mode: 'job',
  serviceStates: Object.values(SERVICE_STATES),
  service: 'Athena',
  watchKey: (_ctx, jobId) => watchKey('athena.query', jobId),
  // Active DML queries (running and queued) over the account's quota in this Region.
  capacityErrors: ['TooManyRequestsException'],
  capacity: () =>
    Promise.resolve({
      slots: ATHENA_DEFAULT_ACTIVE_QUERIES,
      source: `Athena's default quota of active DML queries (${ATHENA_DEFAULT_ACTIVE_QUERIES}; it varies by Region: sluice pool set athena --slots N)`,
    }),
  async start(ctx) {
    const request = ctx.params as unknown as StartQueryExecutionCommandInput;
    const out = await ctx.clients.athena.send(
      new StartQueryExecutionCommand({ ...request, ClientRequestToken: athenaClientToken(ctx.idempotencyKey) }),
    );
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
    const described = await ctx.clients.athena.send(new GetQueryExecutionCommand({ QueryExecutionId: jobId }));
    const resultLocation = described.QueryExecution?.ResultConfiguration?.OutputLocation;
    const rows = await readResultRows(async (NextToken, pageIndex) => {
      const out = await ctx.clients.athena.send(
        new GetQueryResultsCommand({ QueryExecutionId: jobId, NextToken, MaxResults: 1000 }),
      );
      const columns = (out.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
      let data = (out.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? null));
      // For SELECT, Athena repeats the column names as the first row of the first page.
      const first = data[0];
      if (
        pageIndex === 0 &&
        first &&
        columns.length &&
        first.length === columns.length &&
        first.every((v, i) => v === columns[i])
      )
        data = data.slice(1);
      return { columns, rows: data, ...(out.NextToken ? { nextToken: out.NextToken } : {}) };
    });
    const scanned = described.QueryExecution?.Statistics?.DataScannedInBytes;
    return {
      summary: `Athena query ${jobId} succeeded: ${describeRows(rows)}`,
      output: { queryExecutionId: jobId, ...rows, ...(resultLocation ? { resultLocation } : {}) },
      ...(scanned !== undefined
        ? { usage: { athenaBytesScanned: scanned, basis: `DataScannedInBytes ${scanned}, 10 MB minimum per query` } }
        : {}),
    };
  },
};
