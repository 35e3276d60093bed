/**
 * Redshift Data API statements. moto's answers are unusable from the JS SDK (CreatedAt is an ISO
 * string where the SDK expects epoch seconds, so even the statement Id is lost), its statements
 * never leave STARTED and BatchExecuteStatement is missing, so the gateway owns the whole statement
 * lifecycle: ExecuteStatement / BatchExecuteStatement (ClientToken honoured) → DescribeStatement
 * (SUBMITTED → STARTED → FINISHED / FAILED, ABORTED after CancelStatement) → GetStatementResult,
 * and ListStatements (by ClusterIdentifier / WorkgroupName / Status / StatementName prefix).
 *
 * Scenarios match a substring of the SQL (of any statement of a batch). A scenario's `result` is
 * the result set of the statement (of the last statement of a batch); every value is a
 * stringValue, NULL is `isNull`. Without a result, SELECT / WITH / SHOW statements have an empty
 * result set and the others none. Call-log resource: the ClusterIdentifier or WorkgroupName.
 */
import { randomUUID } from 'node:crypto';
import {
  AwsError,
  epochSeconds,
  optionalString,
  pageSize,
  requireString,
  takePage,
  type Emulator,
  type HandlerContext,
  type JsonObject,
} from './aws.js';
import { describeRun, requestStop, type LifecycleSpec, type Run, type Scenario } from './lifecycle.js';
import { emitOnEnd, runStopRequested } from './events.js';
import { findScenario } from './scenarios.js';

const SPEC: LifecycleSpec = {
  pending: { state: 'SUBMITTED', ms: 100 },
  running: 'STARTED',
  stopped: 'ABORTED',
  outcomes: { SUCCEEDED: 'FINISHED', FAILED: 'FAILED' },
};

const DEFAULT_SCENARIO: Scenario = { durationMs: 300, outcome: 'SUCCEEDED' };
const INVALID = 'ValidationException';
/** Rows per GetStatementResult page (AWS pages by size; a row count keeps the emulator simple). */
const PAGE_ROWS = 1000;

interface Statement extends Run {
  sqls: string[];
  batch: boolean;
  target: { ClusterIdentifier?: string; WorkgroupName?: string };
  database: string;
  dbUser?: string;
  secretArn?: string;
  statementName?: string;
  parameters?: unknown;
  token?: string;
  /** The request fields a reused ClientToken must repeat. */
  fingerprint: string;
}

const statements = new Map<string, Statement>();
const byToken = new Map<string, Statement>();

function resourceOf(s: Statement): string | undefined {
  return s.target.ClusterIdentifier ?? s.target.WorkgroupName;
}

function returnsRows(sql: string): boolean {
  return /^\s*(select|with|show|values)\b/i.test(sql);
}

/** `<id>` or `<id>:<n>` (a statement of a batch). */
function lookup(id: string): { statement: Statement; index?: number } | undefined {
  const direct = statements.get(id);
  if (direct !== undefined) return { statement: direct };
  const m = /^(.+):(\d+)$/.exec(id);
  if (m === null) return undefined;
  const parent = statements.get(m[1] as string);
  const index = Number(m[2]) - 1;
  if (parent?.batch !== true || index < 0 || index >= parent.sqls.length) return undefined;
  return { statement: parent, index };
}

function requireStatement(
  input: JsonObject,
  ctx: HandlerContext,
): { statement: Statement; index?: number; id: string } {
  const id = requireString(input, 'Id', INVALID);
  ctx.call.resource = id;
  const found = lookup(id);
  if (found === undefined)
    throw new AwsError('ResourceNotFoundException', 'Query does not exist.', 400, { ResourceId: id });
  ctx.call.resource = resourceOf(found.statement) ?? id;
  return { ...found, id };
}

/** Whether statement `index` of `s` (the last one when undefined) has a result set. */
function hasResultSet(s: Statement, index = s.sqls.length - 1): boolean {
  const last = index === s.sqls.length - 1;
  return (last && s.scenario.result !== undefined) || returnsRows(s.sqls[index] ?? '');
}

function resultRows(s: Statement, index: number): number {
  if (!hasResultSet(s, index)) return -1;
  return index === s.sqls.length - 1 ? (s.scenario.result?.rows.length ?? 0) : 0;
}

function toDescription(s: Statement, now: number): JsonObject {
  const view = describeRun(SPEC, s, now);
  const end = view.endedAt ?? now;
  const durationNs = view.state === 'SUBMITTED' ? -1 : (end - s.startedAt) * 1_000_000;
  const out: JsonObject = {
    Id: s.id,
    Status: view.state,
    CreatedAt: epochSeconds(s.startedAt),
    UpdatedAt: epochSeconds(view.changedAt),
    Duration: durationNs,
    Database: s.database,
    ...s.target,
    HasResultSet: s.batch
      ? s.sqls.some((_, i) => hasResultSet(s, i)) && view.state === 'FINISHED'
      : hasResultSet(s) && view.state === 'FINISHED',
    ResultRows: view.state === 'FINISHED' && !s.batch ? resultRows(s, 0) : -1,
    ResultSize: -1,
    RedshiftPid: 1073815000 + (s.startedAt % 1000),
    RedshiftQueryId: view.state === 'SUBMITTED' ? 0 : 100000 + (s.startedAt % 100000),
  };
  if (!s.batch) out.QueryString = s.sqls[0];
  if (s.dbUser !== undefined) out.DbUser = s.dbUser;
  if (s.secretArn !== undefined) out.SecretArn = s.secretArn;
  if (s.parameters !== undefined) out.QueryParameters = s.parameters;
  if (view.outcome === 'FAILED') out.Error = s.scenario.message ?? 'ERROR: statement failed';
  if (view.stopped) out.Error = "Query cancelled on user's request";
  if (s.batch) {
    // Statements run in order; a failure fails the statement it reached (the last) and aborts nothing else.
    out.SubStatements = s.sqls.map((sql, i) => {
      const sub: JsonObject = {
        Id: `${s.id}:${i + 1}`,
        QueryString: sql,
        Status: view.state,
        CreatedAt: epochSeconds(s.startedAt),
        UpdatedAt: epochSeconds(view.changedAt),
        Duration: durationNs,
        HasResultSet: view.state === 'FINISHED' && hasResultSet(s, i),
        ResultRows: view.state === 'FINISHED' ? resultRows(s, i) : -1,
        ResultSize: -1,
        RedshiftQueryId: 0,
      };
      if (view.terminal && i < s.sqls.length - 1 && !view.stopped) sub.Status = 'FINISHED';
      if (out.Error !== undefined && i === s.sqls.length - 1) sub.Error = out.Error;
      return sub;
    });
  }
  return out;
}

function fieldOrUndefined(input: JsonObject, key: string): string | undefined {
  return optionalString(input, key, INVALID);
}

function start(input: JsonObject, ctx: HandlerContext, sqls: string[], batch: boolean): JsonObject {
  const database = fieldOrUndefined(input, 'Database');
  const cluster = fieldOrUndefined(input, 'ClusterIdentifier');
  const workgroup = fieldOrUndefined(input, 'WorkgroupName');
  const dbUser = fieldOrUndefined(input, 'DbUser');
  const secretArn = fieldOrUndefined(input, 'SecretArn');
  const token = fieldOrUndefined(input, 'ClientToken');
  const statementName = fieldOrUndefined(input, 'StatementName');
  ctx.call.resource = cluster ?? workgroup;
  if (input.SessionId !== undefined) throw new AwsError(INVALID, 'Sessions are not supported by the local endpoint');
  if (database === undefined) throw new AwsError(INVALID, 'Database is required');
  if ((cluster === undefined) === (workgroup === undefined)) {
    throw new AwsError(INVALID, 'Exactly one of ClusterIdentifier or WorkgroupName must be provided');
  }
  if (cluster !== undefined && dbUser === undefined && secretArn === undefined) {
    throw new AwsError(INVALID, 'Either DbUser or SecretArn must be provided with ClusterIdentifier');
  }
  if (workgroup !== undefined && dbUser !== undefined)
    throw new AwsError(INVALID, 'DbUser is not supported with WorkgroupName; use SecretArn or IAM');
  if (token !== undefined && (token.length > 64 || !/^[!-~]+$/.test(token))) {
    throw new AwsError(INVALID, 'ClientToken must be 1 to 64 printable ASCII characters');
  }
  const target = cluster !== undefined ? { ClusterIdentifier: cluster } : { WorkgroupName: workgroup as string };
  const fingerprint = JSON.stringify([sqls, database, target, dbUser, secretArn, input.Parameters ?? null]);

  if (token !== undefined) {
    const existing = byToken.get(token);
    if (existing !== undefined) {
      if (existing.fingerprint !== fingerprint)
        throw new AwsError(INVALID, 'Idempotent parameters do not match the earlier request with this ClientToken');
      return executeOutput(existing);
    }
  }
  const all = sqls.join('\n');
  const s: Statement = {
    id: randomUUID(),
    startedAt: Date.now(),
    scenario: findScenario('redshift-data', (match) => all.includes(match)) ?? DEFAULT_SCENARIO,
    sqls,
    batch,
    target,
    database,
    fingerprint,
  };
  if (dbUser !== undefined) s.dbUser = dbUser;
  if (secretArn !== undefined) s.secretArn = secretArn;
  // Like AWS: only statements run WithEvent emit their state change.
  if (input.WithEvent === true)
    emitOnEnd(SPEC, s, ctx.headers, (view) => ({
      source: 'aws.redshift-data',
      detailType: 'Redshift Data Statement Status Change',
      detail: {
        principal: 'arn:aws:iam::123456789012:role/sluice',
        statementName: typeof input.StatementName === 'string' ? input.StatementName : '',
        statementId: s.id,
        redshiftQueryId: -1,
        state: view.state,
        rows: 0,
        expireAt: Math.floor(s.startedAt / 1000) + 86_400,
      },
    }));
  if (statementName !== undefined) s.statementName = statementName;
  if (input.Parameters !== undefined) s.parameters = input.Parameters;
  if (token !== undefined) {
    s.token = token;
    byToken.set(token, s);
  }
  statements.set(s.id, s);
  return executeOutput(s);
}

function executeOutput(s: Statement): JsonObject {
  const out: JsonObject = { Id: s.id, CreatedAt: epochSeconds(s.startedAt), Database: s.database, ...s.target };
  if (s.dbUser !== undefined) out.DbUser = s.dbUser;
  if (s.secretArn !== undefined) out.SecretArn = s.secretArn;
  return out;
}

async function executeStatement(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const sql = requireString(input, 'Sql', INVALID);
  return start(input, ctx, [sql], false);
}

async function batchExecuteStatement(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const sqls = input.Sqls;
  if (
    !Array.isArray(sqls) ||
    sqls.length === 0 ||
    sqls.length > 40 ||
    !sqls.every((q) => typeof q === 'string' && q !== '')
  ) {
    throw new AwsError(INVALID, 'Sqls must be a list of 1 to 40 non-empty SQL statements');
  }
  return start(input, ctx, sqls as string[], true);
}

async function describeStatement(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const { statement, index } = requireStatement(input, ctx);
  const description = toDescription(statement, ctx.now);
  if (index === undefined) return description;
  // Describing one statement of a batch: its own view.
  const sub = (description.SubStatements as JsonObject[])[index] as JsonObject;
  return { ...description, ...sub, SubStatements: [] };
}

async function cancelStatement(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const { statement } = requireStatement(input, ctx);
  const view = requestStop(SPEC, statement, ctx.now);
  runStopRequested(statement);
  if (view.terminal) throw new AwsError(INVALID, `Could not cancel a query that is already in ${view.state} state.`);
  return { Status: true };
}

async function getStatementResult(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const { statement, index, id } = requireStatement(input, ctx);
  const view = describeRun(SPEC, statement, ctx.now);
  const i = index ?? (statement.batch ? -1 : 0);
  if (i < 0) throw new AwsError(INVALID, 'Use the Id of one statement of the batch (<Id>:<n>) to get its result');
  if (view.state !== 'FINISHED')
    throw new AwsError(
      'ResourceNotFoundException',
      `Query has not finished successfully (status ${view.state}).`,
      400,
      { ResourceId: id },
    );
  if (!hasResultSet(statement, i))
    throw new AwsError(
      'ResourceNotFoundException',
      'Query does not have result. Please check query status with DescribeStatement.',
      400,
      { ResourceId: id },
    );

  const last = i === statement.sqls.length - 1;
  const table = last ? statement.scenario.result : undefined;
  const columns = table?.columns ?? [];
  const rows = table?.rows ?? [];
  const tag = `redshift-results:${id}`;
  const { page, next } = takePage(rows, optionalString(input, 'NextToken', INVALID), PAGE_ROWS, tag, INVALID);
  return {
    ColumnMetadata: columns.map((name) => ({
      name,
      label: name,
      typeName: 'varchar',
      columnDefault: null,
      isCaseSensitive: true,
      isCurrency: false,
      isSigned: false,
      nullable: 1,
      length: 256,
      precision: 256,
      scale: 0,
      schemaName: '',
      tableName: '',
    })),
    Records: page.map((row) => row.map((v) => (v === null ? { isNull: true } : { stringValue: v }))),
    TotalNumRows: rows.length,
    ...(next ? { NextToken: next } : {}),
  };
}

async function listStatements(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const cluster = fieldOrUndefined(input, 'ClusterIdentifier');
  const workgroup = fieldOrUndefined(input, 'WorkgroupName');
  const status = fieldOrUndefined(input, 'Status') ?? 'ALL';
  const name = fieldOrUndefined(input, 'StatementName');
  ctx.call.resource = cluster ?? workgroup;
  const all = [...statements.values()]
    .filter(
      (s) =>
        (cluster === undefined || s.target.ClusterIdentifier === cluster) &&
        (workgroup === undefined || s.target.WorkgroupName === workgroup),
    )
    .filter((s) => name === undefined || s.statementName?.startsWith(name) === true)
    .map((s) => ({ s, view: describeRun(SPEC, s, ctx.now) }))
    .filter(({ view }) => status === 'ALL' || view.state === status)
    .reverse();
  const tag = `redshift-list:${cluster ?? ''}:${workgroup ?? ''}:${status}`;
  const { page, next } = takePage(
    all,
    fieldOrUndefined(input, 'NextToken'),
    pageSize(input, 100, 100, INVALID),
    tag,
    INVALID,
  );
  return {
    Statements: page.map(({ s, view }) => ({
      Id: s.id,
      Status: view.state,
      CreatedAt: epochSeconds(s.startedAt),
      UpdatedAt: epochSeconds(view.changedAt),
      IsBatchStatement: s.batch,
      ...(s.batch ? { QueryStrings: s.sqls } : { QueryString: s.sqls[0] }),
      ...(s.statementName !== undefined ? { StatementName: s.statementName } : {}),
      Database: s.database,
    })),
    ...(next ? { NextToken: next } : {}),
  };
}

export const redshiftData: Emulator = {
  service: 'redshift-data',
  targetPrefix: 'RedshiftData',
  spec: SPEC,
  defaultScenario: DEFAULT_SCENARIO,
  matchDescription: 'a substring of the SQL (of any statement of a batch)',
  supportsResult: true,
  operations: {
    ExecuteStatement: executeStatement,
    BatchExecuteStatement: batchExecuteStatement,
    DescribeStatement: describeStatement,
    CancelStatement: cancelStatement,
    GetStatementResult: getStatementResult,
    ListStatements: listStatements,
  },
  reset: () => {
    statements.clear();
    byToken.clear();
  },
};
