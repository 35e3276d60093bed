/**
 * AWS Data Pipeline runs. moto keeps pipelines and their definitions (CreatePipeline,
 * PutPipelineDefinition, GetPipelineDefinition, ListPipelines... are forwarded to it), but it has no
 * run: ActivatePipeline only flips a state, QueryObjects and DeactivatePipeline are missing, no
 * @healthStatus, no AddTags. The gateway owns the run lifecycle:
 *
 *  - ActivatePipeline starts a run: one instance per activity of the definition (objects whose
 *    `type` ends in "Activity"), scheduled at `startTimestamp` (default: the activation time), id
 *    `@<activity>_<scheduledStartTime>`, going WAITING_FOR_RUNNER → RUNNING → FINISHED / FAILED
 *    (the first activity; the others CASCADE_FAILED) / TIMEDOUT, or CANCELED by DeactivatePipeline.
 *  - DescribePipelines is moto's answer with the run's fields laid over it: @pipelineState
 *    (SCHEDULED once activated, INACTIVE after DeactivatePipeline), @lastActivationTime,
 *    @latestRunTime, @healthStatus (HEALTHY / ERROR once the latest run ended) and the tags.
 *  - QueryObjects (INSTANCE sphere from the runs, COMPONENT from moto's definition; selectors EQ,
 *    REF_EQ, GE, LE, BETWEEN) and DescribeObjects (instances here, components from moto).
 *  - AddTags / RemoveTags keep tags here (moto has tags only from CreatePipeline).
 *
 * Scenarios match the pipeline's id or name exactly. Call-log resource: the pipelineId.
 */
import {
  AwsError,
  isObject,
  optionalString,
  requireString,
  takePage,
  type Emulator,
  type HandlerContext,
  type JsonObject,
} from './aws.js';
import { describeRun, requestStop, type LifecycleSpec, type Run, type Scenario } from './lifecycle.js';
import { findScenario } from './scenarios.js';

const SPEC: LifecycleSpec = {
  pending: { state: 'WAITING_FOR_RUNNER', ms: 200 },
  running: 'RUNNING',
  stopped: 'CANCELED',
  outcomes: { SUCCEEDED: 'FINISHED', FAILED: 'FAILED', TIMEOUT: 'TIMEDOUT' },
};

const DEFAULT_SCENARIO: Scenario = { durationMs: 1000, outcome: 'SUCCEEDED' };
const INVALID = 'InvalidRequestException';
const NOT_FOUND = 'PipelineNotFoundException';
/** AWS allows 10 tags per pipeline. */
const MAX_TAGS = 10;
/** DescribePipelines takes at most 25 ids; DescribeObjects at most 25 too. */
const MAX_IDS = 25;

interface Activation extends Run {
  /** Run id: `<pipelineId>@<scheduledStartTime>`. */
  pipelineId: string;
  scheduledStart: string;
  activities: string[];
}

interface PipelineState {
  tags: Map<string, string>;
  activations: Activation[];
  lastActivationAt?: number;
  deactivatedAt?: number;
}

const pipelines = new Map<string, PipelineState>();

/** Data Pipeline's own date-time format: UTC, seconds, no zone ("2024-03-01T00:00:00"). */
export function dpTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19);
}

function parseDpTime(s: string): number {
  return Date.parse(`${s.slice(0, 19)}Z`);
}

function state(pipelineId: string): PipelineState {
  let p = pipelines.get(pipelineId);
  if (p === undefined) {
    p = { tags: new Map(), activations: [] };
    pipelines.set(pipelineId, p);
  }
  return p;
}

/** moto's description of the pipeline; PipelineNotFoundException when moto does not know it. */
async function motoDescription(pipelineId: string, ctx: HandlerContext): Promise<JsonObject> {
  const { status, body } = await ctx.moto.json(
    'DataPipeline.DescribePipelines',
    { pipelineIds: [pipelineId] },
    ctx.headers,
  );
  if (status !== 200 || !isObject(body))
    throw new AwsError('InternalServiceError', `DescribePipelines on moto failed with HTTP ${status}`, 500);
  const list: unknown[] = Array.isArray(body.pipelineDescriptionList) ? body.pipelineDescriptionList : [];
  const found = list.find((d) => isObject(d) && d.pipelineId === pipelineId);
  if (!isObject(found)) throw new AwsError(NOT_FOUND, `Pipeline with id: ${pipelineId} does not exist`);
  return found;
}

async function motoDefinition(pipelineId: string, ctx: HandlerContext): Promise<JsonObject[]> {
  const { status, body } = await ctx.moto.json('DataPipeline.GetPipelineDefinition', { pipelineId }, ctx.headers);
  if (status !== 200 || !isObject(body)) return [];
  return Array.isArray(body.pipelineObjects) ? body.pipelineObjects.filter(isObject) : [];
}

function fieldValue(obj: JsonObject, key: string): string | undefined {
  const fields = Array.isArray(obj.fields) ? obj.fields.filter(isObject) : [];
  const f = fields.find((x) => x.key === key);
  const v = f?.stringValue ?? f?.refValue;
  return typeof v === 'string' ? v : undefined;
}

function requirePipelineId(input: JsonObject, ctx: HandlerContext): string {
  const id = requireString(input, 'pipelineId', INVALID);
  ctx.call.resource = id;
  return id;
}

/** The instance of `activity` (index `i`) in activation `a`, as a pipeline object. */
function instanceObject(a: Activation, activity: string, i: number, now: number): JsonObject {
  const view = describeRun(SPEC, a, now);
  let status = view.state;
  if (view.outcome === 'FAILED' && i > 0) status = 'CASCADE_FAILED';
  const fields: JsonObject[] = [
    { key: '@sphere', stringValue: 'INSTANCE' },
    { key: '@status', stringValue: status },
    { key: '@componentParent', refValue: activity },
    { key: '@scheduledStartTime', stringValue: a.scheduledStart },
    { key: '@scheduledEndTime', stringValue: a.scheduledStart },
    { key: '@attemptCount', stringValue: '1' },
  ];
  if (view.state !== SPEC.pending.state)
    fields.push({ key: '@actualStartTime', stringValue: dpTime(a.startedAt + SPEC.pending.ms) });
  if (view.endedAt !== undefined) fields.push({ key: '@actualEndTime', stringValue: dpTime(view.endedAt) });
  if (view.outcome === 'FAILED') {
    fields.push(
      i === 0
        ? { key: 'errorMessage', stringValue: a.scenario.message ?? 'Activity failed' }
        : { key: 'errorMessage', stringValue: `Dependency @${activity} cascade failed` },
    );
    if (i === 0) fields.push({ key: 'errorId', stringValue: 'ActivityFailed:ErrorCode' });
  }
  if (view.outcome === 'TIMEOUT')
    fields.push({ key: 'errorMessage', stringValue: a.scenario.message ?? 'Resource exceeded terminateAfter time' });
  return { id: `@${activity}_${a.scheduledStart}`, name: `@${activity}_${a.scheduledStart}`, fields };
}

function allInstances(pipelineId: string, now: number): JsonObject[] {
  const p = pipelines.get(pipelineId);
  if (p === undefined) return [];
  return p.activations.flatMap((a) => a.activities.map((act, i) => instanceObject(a, act, i, now)));
}

// ---------------------------------------------------------------- operations

async function activatePipeline(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const pipelineId = requirePipelineId(input, ctx);
  const description = await motoDescription(pipelineId, ctx);
  const definition = await motoDefinition(pipelineId, ctx);
  if (definition.length === 0)
    throw new AwsError(INVALID, `Pipeline ${pipelineId} has no pipeline definition; call PutPipelineDefinition first`);
  const now = Date.now();
  const start = input.startTimestamp;
  if (start !== undefined && typeof start !== 'number')
    throw new AwsError(INVALID, 'startTimestamp must be a timestamp');
  const scheduledStart = dpTime(typeof start === 'number' ? start * 1000 : now);
  const activities = definition
    .filter((o) => (fieldValue(o, 'type') ?? '').endsWith('Activity'))
    .map((o) => String(o.id));
  const name = typeof description.name === 'string' ? description.name : '';
  const p = state(pipelineId);
  const a: Activation = {
    id: `${pipelineId}@${scheduledStart}`,
    startedAt: now,
    scenario: findScenario('datapipeline', (match) => match === pipelineId || match === name) ?? DEFAULT_SCENARIO,
    pipelineId,
    scheduledStart,
    activities,
  };
  // A new activation for the same scheduled start replaces the earlier one's instances, as AWS reuses instance ids.
  p.activations = p.activations.filter((x) => x.scheduledStart !== scheduledStart);
  p.activations.push(a);
  p.lastActivationAt = now;
  delete p.deactivatedAt;
  return {};
}

async function deactivatePipeline(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const pipelineId = requirePipelineId(input, ctx);
  await motoDescription(pipelineId, ctx);
  const p = state(pipelineId);
  const cancelActive = input.cancelActive !== false;
  p.deactivatedAt = ctx.now;
  if (cancelActive) for (const a of p.activations) requestStop(SPEC, a, ctx.now);
  return {};
}

function pipelineState(p: PipelineState | undefined, motoState: string | undefined): string {
  if (p?.deactivatedAt !== undefined) return 'INACTIVE';
  if (p?.lastActivationAt !== undefined) return 'SCHEDULED';
  return motoState ?? 'PENDING';
}

function overlay(description: JsonObject, now: number): JsonObject {
  const pipelineId = String(description.pipelineId);
  const p = pipelines.get(pipelineId);
  const fields = (Array.isArray(description.fields) ? description.fields.filter(isObject) : []).filter(
    (f) =>
      ![
        '@pipelineState',
        '@lastActivationTime',
        '@latestRunTime',
        '@healthStatus',
        '@healthStatusFromInstanceId',
        '@healthStatusUpdatedTime',
      ].includes(String(f.key)),
  );
  const motoState = isObject(description) ? fieldValue(description, '@pipelineState') : undefined;
  fields.unshift({ key: '@pipelineState', stringValue: pipelineState(p, motoState) });
  if (p?.lastActivationAt !== undefined)
    fields.push({ key: '@lastActivationTime', stringValue: dpTime(p.lastActivationAt) });
  const latest = p?.activations[p.activations.length - 1];
  if (latest !== undefined) {
    fields.push({ key: '@latestRunTime', stringValue: latest.scheduledStart });
    const view = describeRun(SPEC, latest, now);
    if (view.terminal) {
      const healthy = view.state === 'FINISHED';
      fields.push({ key: '@healthStatus', stringValue: healthy ? 'HEALTHY' : 'ERROR' });
      fields.push({ key: '@healthStatusUpdatedTime', stringValue: dpTime(view.endedAt ?? now) });
      if (latest.activities[0] !== undefined)
        fields.push({
          key: '@healthStatusFromInstanceId',
          stringValue: `@${latest.activities[0]}_${latest.scheduledStart}`,
        });
    }
  }
  const tags = new Map<string, string>();
  for (const t of Array.isArray(description.tags) ? description.tags.filter(isObject) : [])
    tags.set(String(t.key), String(t.value));
  for (const [k, v] of p?.tags ?? []) tags.set(k, v);
  return { ...description, fields, tags: [...tags].map(([key, value]) => ({ key, value })) };
}

async function describePipelines(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const ids = input.pipelineIds;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_IDS || !ids.every((id) => typeof id === 'string')) {
    throw new AwsError(INVALID, `pipelineIds must be a list of 1 to ${MAX_IDS} pipeline ids`);
  }
  if (ids.length === 1) ctx.call.resource = ids[0];
  const list: JsonObject[] = [];
  for (const id of ids) list.push(overlay(await motoDescription(id, ctx), ctx.now));
  return { pipelineDescriptionList: list };
}

async function addTags(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const pipelineId = requirePipelineId(input, ctx);
  const description = await motoDescription(pipelineId, ctx);
  const tags = input.tags;
  if (
    !Array.isArray(tags) ||
    !tags.every((t) => isObject(t) && typeof t.key === 'string' && typeof t.value === 'string' && t.key !== '')
  ) {
    throw new AwsError(INVALID, 'tags must be a list of {key, value} strings');
  }
  const p = state(pipelineId);
  const current = overlay(description, ctx.now).tags as JsonObject[];
  const next = new Map(current.map((t) => [String(t.key), String(t.value)]));
  for (const t of tags as { key: string; value: string }[]) {
    if (t.key.length > 128 || t.value.length > 256)
      throw new AwsError(INVALID, 'A tag key has at most 128 characters and a value at most 256');
    next.set(t.key, t.value);
  }
  if (next.size > MAX_TAGS) throw new AwsError(INVALID, `A pipeline has at most ${MAX_TAGS} tags`);
  for (const t of tags as { key: string; value: string }[]) p.tags.set(t.key, t.value);
  return {};
}

async function removeTags(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const pipelineId = requirePipelineId(input, ctx);
  await motoDescription(pipelineId, ctx);
  const keys = input.tagKeys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
    throw new AwsError(INVALID, 'tagKeys must be a list of strings');
  const p = state(pipelineId);
  for (const k of keys) p.tags.delete(k);
  return {};
}

interface Selector {
  fieldName: string;
  type: string;
  values: string[];
}

function parseSelectors(query: unknown): Selector[] {
  if (query === undefined || query === null) return [];
  if (!isObject(query)) throw new AwsError(INVALID, 'query must be an object');
  const selectors = query.selectors ?? [];
  if (!Array.isArray(selectors)) throw new AwsError(INVALID, 'query.selectors must be a list');
  return selectors.map((s) => {
    if (
      !isObject(s) ||
      typeof s.fieldName !== 'string' ||
      !isObject(s.operator) ||
      typeof s.operator.type !== 'string'
    ) {
      throw new AwsError(INVALID, 'each selector needs fieldName and operator.type');
    }
    const values = Array.isArray(s.operator.values) ? s.operator.values.map(String) : [];
    return { fieldName: s.fieldName, type: s.operator.type, values };
  });
}

function matches(obj: JsonObject, sel: Selector): boolean {
  const v = sel.fieldName === 'name' ? String(obj.name) : fieldValue(obj, sel.fieldName);
  if (v === undefined) return false;
  const time = (s: string): number => parseDpTime(s);
  switch (sel.type) {
    case 'EQ':
    case 'REF_EQ':
      return sel.values.includes(v);
    case 'GE':
      return sel.values[0] !== undefined && time(v) >= time(sel.values[0]);
    case 'LE':
      return sel.values[0] !== undefined && time(v) <= time(sel.values[0]);
    case 'BETWEEN':
      return (
        sel.values[0] !== undefined &&
        sel.values[1] !== undefined &&
        time(v) >= time(sel.values[0]) &&
        time(v) <= time(sel.values[1])
      );
    default:
      throw new AwsError(INVALID, `Unsupported operator type ${sel.type}`);
  }
}

async function queryObjects(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const pipelineId = requirePipelineId(input, ctx);
  await motoDescription(pipelineId, ctx);
  const sphere = requireString(input, 'sphere', INVALID);
  const selectors = parseSelectors(input.query);
  let objects: JsonObject[];
  if (sphere === 'INSTANCE') objects = allInstances(pipelineId, ctx.now);
  else if (sphere === 'COMPONENT') objects = await motoDefinition(pipelineId, ctx);
  else if (sphere === 'ATTEMPT') objects = [];
  else throw new AwsError(INVALID, 'sphere must be COMPONENT, INSTANCE or ATTEMPT');
  const ids = objects.filter((o) => selectors.every((s) => matches(o, s))).map((o) => String(o.id));
  const tag = `dp-query:${pipelineId}:${sphere}`;
  const limit = typeof input.limit === 'number' && input.limit > 0 ? Math.min(input.limit, 500) : 100;
  const { page, next } = takePage(ids, optionalString(input, 'marker', INVALID), limit, tag, INVALID);
  return { ids: page, hasMoreResults: next !== undefined, ...(next ? { marker: next } : {}) };
}

async function describeObjects(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const pipelineId = requirePipelineId(input, ctx);
  await motoDescription(pipelineId, ctx);
  const ids = input.objectIds;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_IDS || !ids.every((id) => typeof id === 'string')) {
    throw new AwsError(INVALID, `objectIds must be a list of 1 to ${MAX_IDS} object ids`);
  }
  const instances = new Map(allInstances(pipelineId, ctx.now).map((o) => [String(o.id), o]));
  const components = new Map((await motoDefinition(pipelineId, ctx)).map((o) => [String(o.id), o]));
  const pipelineObjects = ids
    .map((id) => instances.get(id) ?? components.get(id))
    .filter((o): o is JsonObject => o !== undefined);
  return { pipelineObjects, hasMoreResults: false };
}

export const dataPipeline: Emulator = {
  service: 'datapipeline',
  targetPrefix: 'DataPipeline',
  spec: SPEC,
  defaultScenario: DEFAULT_SCENARIO,
  matchDescription: 'the exact pipeline id or name',
  supportsResult: false,
  operations: {
    ActivatePipeline: activatePipeline,
    DeactivatePipeline: deactivatePipeline,
    DescribePipelines: describePipelines,
    AddTags: addTags,
    RemoveTags: removeTags,
    QueryObjects: queryObjects,
    DescribeObjects: describeObjects,
  },
  reset: () => pipelines.clear(),
};
