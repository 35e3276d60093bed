/**
 * QuickSight SPICE ingestions. moto keeps data sources and data sets (forwarded to it) but answers
 * CreateIngestion with INITIALIZED forever, accepts unknown data sets, and has no DescribeIngestion,
 * CancelIngestion or ListIngestions, so the gateway owns ingestions:
 * CreateIngestion → DescribeIngestion (QUEUED → RUNNING → COMPLETED / FAILED with ErrorInfo,
 * CANCELLED after CancelIngestion) → ListIngestions.
 *
 * The data set must exist in moto. moto has no DescribeDataSet, so the gateway passes CreateDataSet
 * on to moto and remembers the data sets moto accepted; one it has not seen (created before a
 * gateway restart) is looked up in moto's model dump (/moto-api/data.json), which moto fails to
 * produce once some of its other models are in use (then: ResourceNotFoundException). An IngestionId is unique per data set: creating it again is
 * ResourceExistsException, as on AWS. Cancelling an ingestion that has ended is
 * ConflictException. Scenarios match the DataSetId exactly; a scenario's `result` rows count as
 * the RowsIngested of a COMPLETED ingestion. Call-log resource: the DataSetId.
 */
import {
  AwsError,
  epochSeconds,
  isObject,
  requireString,
  takePage,
  type Emulator,
  type HandlerContext,
  type JsonObject,
} from './aws.js';
import { describeRun, requestStop, type LifecycleSpec, type Run, type Scenario } from './lifecycle.js';
import { findScenario } from './scenarios.js';

const SPEC: LifecycleSpec = {
  pending: { state: 'QUEUED', ms: 150 },
  running: 'RUNNING',
  stopped: 'CANCELLED',
  outcomes: { SUCCEEDED: 'COMPLETED', FAILED: 'FAILED' },
};

const DEFAULT_SCENARIO: Scenario = { durationMs: 800, outcome: 'SUCCEEDED' };
const INVALID = 'InvalidParameterValueException';
const ID = /^[A-Za-z0-9_-]{1,128}$/;

interface Ingestion extends Run {
  account: string;
  region: string;
  dataSetId: string;
  ingestionId: string;
  type: string;
}

/** Keyed by `<account>/<region>/<dataSetId>/<ingestionId>`. */
const ingestions = new Map<string, Ingestion>();

function key(account: string, region: string, dataSetId: string, ingestionId: string): string {
  return `${account}/${region}/${dataSetId}/${ingestionId}`;
}

/** "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/quicksight/aws4_request" → us-east-1. */
function regionOf(ctx: HandlerContext): string {
  const auth: string = ctx.headers.authorization ?? '';
  const credential = /Credential=([^,\s]+)/.exec(auth)?.[1];
  return credential?.split('/')[2] ?? 'us-east-1';
}

function arnOf(i: Pick<Ingestion, 'account' | 'region' | 'dataSetId'>): string {
  return `arn:aws:quicksight:${i.region}:${i.account}:dataset/${i.dataSetId}`;
}

function ids(input: JsonObject, ctx: HandlerContext): { account: string; region: string; dataSetId: string } {
  const account = requireString(input, 'AwsAccountId', INVALID);
  const dataSetId = requireString(input, 'DataSetId', INVALID);
  ctx.call.resource = dataSetId;
  if (!/^\d{12}$/.test(account)) throw new AwsError(INVALID, `AwsAccountId must be 12 digits (received ${account})`);
  return { account, region: regionOf(ctx), dataSetId };
}

/** Data sets moto accepted through this gateway, by `<account>/<region>/<dataSetId>`. */
const dataSets = new Set<string>();

/** moto has no DescribeDataSet: data sets created through the gateway, else moto's model dump. */
async function requireDataSet(account: string, region: string, dataSetId: string, ctx: HandlerContext): Promise<void> {
  if (dataSets.has(`${account}/${region}/${dataSetId}`)) return;
  const { status, body } = await ctx.moto.rest('GET', '/moto-api/data.json', undefined, {});
  const qs = status === 200 && isObject(body) && isObject(body.quicksight) ? body.quicksight : {};
  const sets = Array.isArray(qs.QuicksightDataSet) ? qs.QuicksightDataSet.filter(isObject) : [];
  const suffix = `:${region}:${account}:data-set/${dataSetId}`;
  if (!sets.some((s) => typeof s.arn === 'string' && s.arn.endsWith(suffix))) {
    throw new AwsError('ResourceNotFoundException', `DataSet ${dataSetId} not found in account ${account}.`, 404);
  }
}

function requireIngestion(input: JsonObject, ctx: HandlerContext): Ingestion {
  const { account, region, dataSetId } = ids(input, ctx);
  const ingestionId = requireString(input, 'IngestionId', INVALID);
  const i = ingestions.get(key(account, region, dataSetId, ingestionId));
  if (i === undefined)
    throw new AwsError(
      'ResourceNotFoundException',
      `Ingestion ${ingestionId} for DataSet ${dataSetId} not found.`,
      404,
    );
  return i;
}

function toIngestion(i: Ingestion, now: number): JsonObject {
  const view = describeRun(SPEC, i, now);
  const out: JsonObject = {
    Arn: `${arnOf(i)}/ingestion/${i.ingestionId}`,
    IngestionId: i.ingestionId,
    IngestionStatus: view.state,
    CreatedTime: epochSeconds(i.startedAt),
    RequestSource: 'MANUAL',
    RequestType: i.type,
  };
  if (view.state === SPEC.pending.state) out.QueueInfo = { WaitingOnIngestion: '', QueuedIngestion: i.ingestionId };
  if (view.endedAt !== undefined) out.IngestionTimeInSeconds = Math.round((view.endedAt - i.startedAt) / 1000);
  if (view.state === 'COMPLETED') {
    const rows = i.scenario.result?.rows.length ?? 0;
    out.RowInfo = { RowsIngested: rows, RowsDropped: 0, TotalRowsInDataset: rows };
    out.IngestionSizeInBytes = 0;
  }
  if (view.outcome === 'FAILED')
    out.ErrorInfo = { Type: 'DATA_SOURCE_CONNECTION_FAILED', Message: i.scenario.message ?? 'Ingestion failed' };
  if (view.stopped) out.ErrorInfo = { Type: 'USER_CANCELLED', Message: 'Ingestion was cancelled by the user' };
  return out;
}

/** Passed on to moto (which keeps data sets); remembered so CreateIngestion can check the data set exists. */
async function createDataSet(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const { AwsAccountId: account, ...body } = input;
  const path = `/accounts/${encodeURIComponent(String(account))}/data-sets`;
  const { status, body: out } = await ctx.moto.rest('POST', path, body, ctx.headers);
  if (status >= 200 && status < 300 && isObject(out)) {
    if (typeof out.DataSetId === 'string') {
      ctx.call.resource = out.DataSetId;
      dataSets.add(`${String(account)}/${regionOf(ctx)}/${out.DataSetId}`);
    }
    return out;
  }
  const code = isObject(out) && typeof out.__type === 'string' ? out.__type : 'InvalidParameterValueException';
  const message =
    isObject(out) && typeof out.Message === 'string' ? out.Message : `CreateDataSet on moto failed with HTTP ${status}`;
  throw new AwsError(code, message, status >= 400 ? status : 500);
}

async function createIngestion(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const { account, region, dataSetId } = ids(input, ctx);
  const ingestionId = requireString(input, 'IngestionId', INVALID);
  if (!ID.test(ingestionId))
    throw new AwsError(INVALID, `IngestionId must match [A-Za-z0-9_-]{1,128} (received ${ingestionId})`);
  const type = input.IngestionType ?? 'FULL_REFRESH';
  if (type !== 'FULL_REFRESH' && type !== 'INCREMENTAL_REFRESH')
    throw new AwsError(INVALID, 'IngestionType must be FULL_REFRESH or INCREMENTAL_REFRESH');
  await requireDataSet(account, region, dataSetId, ctx);
  // Synchronous from here: two concurrent creates with one id cannot both succeed.
  const k = key(account, region, dataSetId, ingestionId);
  if (ingestions.has(k))
    throw new AwsError(
      'ResourceExistsException',
      `Ingestion ${ingestionId} already exists for DataSet ${dataSetId}.`,
      409,
      { ResourceType: 'INGESTION' },
    );
  const i: Ingestion = {
    id: ingestionId,
    startedAt: Date.now(),
    scenario: findScenario('quicksight', (match) => match === dataSetId) ?? DEFAULT_SCENARIO,
    account,
    region,
    dataSetId,
    ingestionId,
    type,
  };
  ingestions.set(k, i);
  return {
    Arn: `${arnOf(i)}/ingestion/${ingestionId}`,
    IngestionId: ingestionId,
    IngestionStatus: 'INITIALIZED',
    RequestId: i.id,
    Status: 201,
  };
}

async function describeIngestion(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  return { Ingestion: toIngestion(requireIngestion(input, ctx), ctx.now), RequestId: 'local', Status: 200 };
}

async function cancelIngestion(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const i = requireIngestion(input, ctx);
  const view = requestStop(SPEC, i, ctx.now);
  if (view.terminal)
    throw new AwsError(
      'ConflictException',
      `Ingestion ${i.ingestionId} is in terminal state ${view.state} and cannot be cancelled.`,
      409,
    );
  return { Arn: `${arnOf(i)}/ingestion/${i.ingestionId}`, IngestionId: i.ingestionId, RequestId: 'local', Status: 202 };
}

async function listIngestions(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const { account, region, dataSetId } = ids(input, ctx);
  const prefix = key(account, region, dataSetId, '');
  const all = [...ingestions.entries()]
    .filter(([k]) => k.startsWith(prefix))
    .map(([, i]) => toIngestion(i, ctx.now))
    .reverse();
  const tag = `qs-ingestions:${prefix}`;
  const max = Number(ctx.query.get('max-results') ?? 100);
  const size = Number.isInteger(max) && max > 0 ? Math.min(max, 100) : 100;
  const { page, next } = takePage(
    all,
    ctx.query.get('next-token') ?? undefined,
    size,
    tag,
    'InvalidNextTokenException',
  );
  return { Ingestions: page, RequestId: 'local', Status: 200, ...(next ? { NextToken: next } : {}) };
}

export const quicksight: Emulator = {
  service: 'quicksight',
  spec: SPEC,
  defaultScenario: DEFAULT_SCENARIO,
  matchDescription: 'the exact DataSetId',
  supportsResult: true,
  operations: {
    CreateDataSet: createDataSet,
    CreateIngestion: createIngestion,
    DescribeIngestion: describeIngestion,
    CancelIngestion: cancelIngestion,
    ListIngestions: listIngestions,
  },
  reset: () => {
    ingestions.clear();
    dataSets.clear();
  },
};
