/**
 * Athena query executions. moto keeps workgroups/data catalogs (forwarded), but ignores
 * ClientRequestToken, has no FAILED path and lets you "cancel" finished queries, so the gateway
 * owns the query-execution lifecycle and results.
 *
 * Results: the matching scenario's `result` becomes the ResultSet — first a header row with the
 * column names (as Athena returns for SELECT), then the data rows, all VarCharValue ('varchar').
 * Without a `result`, a query succeeds with an empty result: a single header row with zero
 * columns and no ColumnInfo.
 *
 * Quotas: Athena refuses StartQueryExecution with TooManyRequestsException (Reason
 * CONCURRENT_QUERY_LIMIT_EXCEEDED) when the account's active (running + queued) DML queries, or
 * DDL queries, in the Region are at its quota. No API sets a quota, so tests do
 * (capacity.ts: athena.activeQueries / activeDdlQueries); unlimited unless set. A
 * ClientRequestToken retry of a query already started returns that query whatever the quota.
 */
import { randomUUID } from 'node:crypto';
import {
  AwsError,
  epochSeconds,
  isObject,
  optionalObject,
  optionalString,
  pageSize,
  requireString,
  takePage,
  type Emulator,
  type HandlerContext,
  type JsonObject,
} from './aws.js';
import { describeRun, requestStop, type LifecycleSpec, type Run, type Scenario } from './lifecycle.js';
import { countRefusal, countStart, limitFor, registerActive } from './capacity.js';
import { emitOnEnd, regionOf, runStopRequested } from './events.js';
import { findScenario } from './scenarios.js';

const SPEC: LifecycleSpec = {
  pending: { state: 'QUEUED', ms: 100 },
  running: 'RUNNING',
  stopped: 'CANCELLED', // Athena has no intermediate "cancelling" state
  outcomes: { SUCCEEDED: 'SUCCEEDED', FAILED: 'FAILED' },
};

const DEFAULT_SCENARIO: Scenario = { durationMs: 300, outcome: 'SUCCEEDED' };
const INVALID = 'InvalidRequestException';

interface AthenaRun extends Run {
  query: string;
  workGroup: string;
  /** The quota the query counts towards: "DML/<region>" or "DDL/<region>". */
  quota: string;
  context?: JsonObject;
  executionParameters?: unknown;
  outputLocation?: string;
  token?: string;
}

const runs = new Map<string, AthenaRun>();
const byToken = new Map<string, AthenaRun>();

/** AWS's words, as StartQueryExecution answers past the quota. */
const QUOTA_MESSAGE =
  'You have exceeded the limit for the number of queries you can run concurrently. Please reduce the number of concurrent queries submitted by this account. Contact customer support to request a concurrent query limit increase.';

/** Active (queued or running) queries per quota, for the limits and the capacity counters. */
function activeQueries(now: number): Map<string, number> {
  const active = new Map<string, number>();
  for (const run of runs.values()) {
    if (!describeRun(SPEC, run, now).terminal) active.set(run.quota, (active.get(run.quota) ?? 0) + 1);
  }
  return active;
}
registerActive('athena', activeQueries);

/** Athena's InvalidRequestException carries an AthenaErrorCode member. */
function invalid(message: string): AwsError {
  return new AwsError(INVALID, message, 400, { AthenaErrorCode: 'INVALID_INPUT' });
}

function requireRun(input: JsonObject, ctx: HandlerContext): AthenaRun {
  const id = requireString(input, 'QueryExecutionId', INVALID);
  ctx.call.resource = id;
  const run = runs.get(id);
  if (run === undefined) throw invalid(`QueryExecution ${id} was not found`);
  return run;
}

function statementType(query: string): { StatementType: string; SubstatementType: string } {
  const word = (/^\s*(\w+)/.exec(query)?.[1] ?? '').toUpperCase();
  // CREATE TABLE AS SELECT is DML for Athena (it counts towards the DML quota).
  if (/^\s*CREATE\s+TABLE\b[\s\S]*\bAS\s*\(?\s*(SELECT|WITH)\b/i.test(query))
    return { StatementType: 'DML', SubstatementType: 'CREATE_TABLE_AS_SELECT' };
  if (['CREATE', 'DROP', 'ALTER', 'MSCK', 'SHOW', 'DESCRIBE'].includes(word))
    return { StatementType: 'DDL', SubstatementType: word };
  if (word === 'WITH') return { StatementType: 'DML', SubstatementType: 'SELECT' };
  return { StatementType: 'DML', SubstatementType: word || 'SELECT' };
}

function toQueryExecution(run: AthenaRun, now: number): JsonObject {
  const view = describeRun(SPEC, run, now);
  const end = view.endedAt ?? now;
  const queued = Math.min(end, run.startedAt + SPEC.pending.ms) - run.startedAt;
  const status: JsonObject = { State: view.state, SubmissionDateTime: epochSeconds(run.startedAt) };
  if (view.endedAt !== undefined) status.CompletionDateTime = epochSeconds(view.endedAt);
  if (view.outcome === 'FAILED') {
    const message = run.scenario.message ?? 'Query failed';
    status.StateChangeReason = message;
    status.AthenaError = { ErrorCategory: 2, ErrorType: 1000, Retryable: false, ErrorMessage: message };
  }
  if (view.stopped) status.StateChangeReason = 'Query was cancelled by user';
  const execution: JsonObject = {
    QueryExecutionId: run.id,
    Query: run.query,
    ...statementType(run.query),
    ResultConfiguration:
      run.outputLocation === undefined
        ? {}
        : { OutputLocation: `${run.outputLocation.replace(/\/+$/, '')}/${run.id}.csv` },
    QueryExecutionContext: run.context ?? {},
    Status: status,
    Statistics: {
      EngineExecutionTimeInMillis: end - run.startedAt - queued,
      DataScannedInBytes: run.scenario.usage?.bytesScanned ?? 0,
      TotalExecutionTimeInMillis: end - run.startedAt,
      QueryQueueTimeInMillis: queued,
      ServicePreProcessingTimeInMillis: 0,
      QueryPlanningTimeInMillis: 0,
      ServiceProcessingTimeInMillis: 0,
    },
    WorkGroup: run.workGroup,
    EngineVersion: { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'Athena engine version 3' },
  };
  if (run.executionParameters !== undefined) execution.ExecutionParameters = run.executionParameters;
  return execution;
}

async function startQueryExecution(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const query = requireString(input, 'QueryString', INVALID);
  const token = optionalString(input, 'ClientRequestToken', INVALID);
  const workGroup = optionalString(input, 'WorkGroup', INVALID) ?? 'primary';
  const resultConfig = optionalObject(input, 'ResultConfiguration', INVALID);

  // moto owns workgroups: an unknown one answers {"WorkGroup": null}.
  const wg = await ctx.moto.json('AmazonAthena.GetWorkGroup', { WorkGroup: workGroup }, ctx.headers);
  const wgBody = isObject(wg.body) && isObject(wg.body.WorkGroup) ? wg.body.WorkGroup : undefined;
  if (wgBody === undefined) throw invalid(`WorkGroup ${workGroup} is not found.`);
  if (wgBody.State === 'DISABLED') throw invalid(`WorkGroup ${workGroup} is disabled.`);

  // Idempotency (checked after the await so concurrent retries with one token cannot both create):
  // the same token returns the same execution; a changed query with that token is an error, as on AWS.
  if (token !== undefined) {
    const existing = byToken.get(token);
    if (existing !== undefined) {
      if (existing.query !== query || existing.workGroup !== workGroup) {
        throw invalid('Idempotent parameters do not match');
      }
      ctx.call.resource = existing.id;
      return { QueryExecutionId: existing.id };
    }
  }

  // The quota check, like the token check, is synchronous with the insert below.
  const now = Date.now();
  const ddl = statementType(query).StatementType === 'DDL';
  const region = regionOf(ctx.headers) ?? 'us-east-1';
  const quota = `${ddl ? 'DDL' : 'DML'}/${region}`;
  const limit = limitFor(region, 'athena', ddl ? 'activeDdlQueries' : 'activeQueries');
  const active = activeQueries(now).get(quota) ?? 0;
  if (limit !== undefined && active >= limit) {
    countRefusal('athena', quota, limit);
    throw new AwsError('TooManyRequestsException', QUOTA_MESSAGE, 400, { Reason: 'CONCURRENT_QUERY_LIMIT_EXCEEDED' });
  }

  const wgConfig = isObject(wgBody.Configuration) ? wgBody.Configuration : {};
  const wgResult = isObject(wgConfig.ResultConfiguration) ? wgConfig.ResultConfiguration : {};
  const outputLocation = resultConfig?.OutputLocation ?? wgResult.OutputLocation;
  const run: AthenaRun = {
    id: randomUUID(),
    startedAt: now,
    scenario: findScenario('athena', (match) => query.includes(match)) ?? DEFAULT_SCENARIO,
    query,
    workGroup,
    quota,
  };
  const context = optionalObject(input, 'QueryExecutionContext', INVALID);
  if (context !== undefined) run.context = context;
  if (input.ExecutionParameters !== undefined) run.executionParameters = input.ExecutionParameters;
  if (typeof outputLocation === 'string') run.outputLocation = outputLocation;
  emitOnEnd(SPEC, run, ctx.headers, (view) => ({
    source: 'aws.athena',
    detailType: 'Athena Query State Change',
    detail: {
      currentState: view.state,
      previousState: 'RUNNING',
      queryExecutionId: run.id,
      sequenceNumber: '3',
      statementType: 'DML',
      versionId: '0',
      workgroupName: run.workGroup,
    },
  }));
  if (token !== undefined) {
    run.token = token;
    byToken.set(token, run);
  }
  runs.set(run.id, run);
  countStart('athena', quota, active + 1, limit);
  ctx.call.resource = run.id;
  return { QueryExecutionId: run.id };
}

async function getQueryExecution(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  return { QueryExecution: toQueryExecution(requireRun(input, ctx), ctx.now) };
}

async function batchGetQueryExecution(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const ids = input.QueryExecutionIds;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
    throw invalid('QueryExecutionIds must be a list of strings');
  }
  const QueryExecutions: JsonObject[] = [];
  const UnprocessedQueryExecutionIds: JsonObject[] = [];
  for (const id of ids) {
    const run = runs.get(id);
    if (run === undefined)
      UnprocessedQueryExecutionIds.push({
        QueryExecutionId: id,
        ErrorCode: 'INVALID_INPUT',
        ErrorMessage: `QueryExecution ${id} was not found`,
      });
    else QueryExecutions.push(toQueryExecution(run, ctx.now));
  }
  return { QueryExecutions, UnprocessedQueryExecutionIds };
}

async function listQueryExecutions(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const workGroup = optionalString(input, 'WorkGroup', INVALID) ?? 'primary';
  ctx.call.resource = workGroup;
  const all = [...runs.values()].filter((r) => r.workGroup === workGroup).reverse();
  const tag = `athena-list:${workGroup}`;
  const { page, next } = takePage(
    all,
    optionalString(input, 'NextToken', INVALID),
    pageSize(input, 50, 50, INVALID),
    tag,
    INVALID,
  );
  return { QueryExecutionIds: page.map((r) => r.id), ...(next ? { NextToken: next } : {}) };
}

async function stopQueryExecution(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  // Like AWS: stopping a query that already finished is accepted and changes nothing.
  const run = requireRun(input, ctx);
  requestStop(SPEC, run, ctx.now);
  runStopRequested(run);
  return {};
}

async function getQueryResults(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const run = requireRun(input, ctx);
  const view = describeRun(SPEC, run, ctx.now);
  if (!view.terminal) throw invalid(`Query has not yet finished. Current state: ${view.state}`);
  if (view.state !== 'SUCCEEDED') throw invalid(`Query did not finish successfully. Final query state: ${view.state}`);

  const columns = run.scenario.result?.columns ?? [];
  const dataRows = run.scenario.result?.rows ?? [];
  const allRows: JsonObject[] = [
    { Data: columns.map((c) => ({ VarCharValue: c })) },
    ...dataRows.map((row) => ({ Data: row.map((v) => (v === null ? {} : { VarCharValue: v })) })),
  ];
  const tag = `athena-results:${run.id}`;
  const { page, next } = takePage(
    allRows,
    optionalString(input, 'NextToken', INVALID),
    pageSize(input, 1000, 1000, INVALID),
    tag,
    INVALID,
  );
  return {
    UpdateCount: 0,
    ResultSet: {
      Rows: page,
      ResultSetMetadata: {
        ColumnInfo: columns.map((name) => ({
          CatalogName: 'hive',
          SchemaName: '',
          TableName: '',
          Name: name,
          Label: name,
          Type: 'varchar',
          Precision: 2147483647,
          Scale: 0,
          Nullable: 'UNKNOWN',
          CaseSensitive: true,
        })),
      },
    },
    ...(next ? { NextToken: next } : {}),
  };
}

export const athena: Emulator = {
  service: 'athena',
  targetPrefix: 'AmazonAthena',
  spec: SPEC,
  defaultScenario: DEFAULT_SCENARIO,
  matchDescription: 'a substring of the QueryString',
  supportsResult: true,
  operations: {
    StartQueryExecution: startQueryExecution,
    GetQueryExecution: getQueryExecution,
    BatchGetQueryExecution: batchGetQueryExecution,
    ListQueryExecutions: listQueryExecutions,
    StopQueryExecution: stopQueryExecution,
    GetQueryResults: getQueryResults,
  },
  reset: () => {
    runs.clear();
    byToken.clear();
  },
};
