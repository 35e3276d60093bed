/**
 * `datapipeline.activate`: runs an existing AWS Data Pipeline once, for teams migrating off it:
 * ActivatePipeline → wait for the run → DeactivatePipeline (cancelActive) on cancel.
 *
 * What "the run" is. Data Pipeline has no run object: an activation creates *instances* of the
 * pipeline's components, each with a `@scheduledStartTime` and a `@status`, and the pipeline's own
 * `@pipelineState` stays SCHEDULED whether work is going on or finished. So Sluice defines the run
 * of an activation as the instances (QueryObjects, sphere INSTANCE) of the first scheduled period
 * at or after the run's start — the `startTimestamp` param if given, else the pipeline's
 * `@lastActivationTime` (AWS's clock) — and the job id as `<pipelineId>@<that start>`.
 *  - running: no instance of the period yet, or one is not in a final status;
 *  - succeeded: every instance FINISHED, MARK_FINISHED or SKIPPED;
 *  - failed: an instance FAILED or CASCADE_FAILED (message: the FAILED instance's errorMessage);
 *    timeout: one TIMEDOUT; stopped: one CANCELED (e.g. DeactivatePipeline);
 *  - a pipeline made INACTIVE before any instance of the period exists is stopped.
 * An on-demand pipeline (scheduleType ondemand) has one period per activation; a scheduled one is
 * waited on for its first period only.
 *
 * ActivatePipeline has no client token, so before activating Sluice tags the pipeline with
 * `sluice:activation` = `<time> <key>` (AddTags); `find` adopts the activation when the tag
 * carries the stage's key and `@lastActivationTime` is not older than the tag (a crash between
 * the tag and the activation leaves no activation, so the next attempt activates).
 */
import { createHash } from 'node:crypto';
import {
  ActivatePipelineCommand,
  AddTagsCommand,
  DeactivatePipelineCommand,
  DescribeObjectsCommand,
  DescribePipelinesCommand,
  QueryObjectsCommand,
  type ActivatePipelineCommandInput,
  type Field,
  type PipelineDescription,
} from '@aws-sdk/client-data-pipeline';
import type { JobHandler, JobStatus, StageContext } from '../../activities/stage-handler';
import { dataPipelineActivate as dataPipelineActivateKind } from './kind';

export const DP_ACTIVATION_TAG = 'sluice:activation';
/** Tag values hold 256 characters: the time (19), a space, and the key or its hash. */
const TAG_KEY_MAX = 256 - 20;
/** Clock skew tolerated between the worker (tag time) and AWS (@lastActivationTime). */
const SKEW_MS = 5_000;
const QUERY_PAGES = 10;
/** DescribeObjects takes at most 25 ids. */
const DESCRIBE_CHUNK = 25;
/** Instances listed in the stage result. */
const RESULT_INSTANCES = 20;

const FINAL_OK = new Set(['FINISHED', 'MARK_FINISHED', 'SKIPPED']);
const FINAL_BAD = new Set(['FAILED', 'CASCADE_FAILED', 'TIMEDOUT', 'CANCELED']);

export interface DpInstance {
  id: string;
  status?: string;
  scheduledStartTime?: string;
  errorMessage?: string;
}

/** Data Pipeline's date-time format: UTC to the second, no zone ("2024-03-01T00:00:00"). */
export function dpTime(date: Date): string {
  return date.toISOString().slice(0, 19);
}

function dpMs(s: string): number {
  return Date.parse(`${s.slice(0, 19)}Z`);
}

function keyTagPart(key: string): string {
  return key.length <= TAG_KEY_MAX && !key.includes(' ') ? key : createHash('sha256').update(key).digest('hex');
}

function field(fields: Field[] | undefined, key: string): string | undefined {
  const f = fields?.find((x) => x.key === key);
  return f?.stringValue ?? f?.refValue;
}

/**
 * The run's status from the pipeline state and the instances at or after the run's start (see
 * the module comment for the definition).
 */
export function mapDataPipelineRun(pipelineState: string | undefined, instances: DpInstance[]): JobStatus {
  const starts = instances
    .map((i) => i.scheduledStartTime)
    .filter((s): s is string => s !== undefined)
    .sort();
  const period = starts[0];
  const run = instances.filter((i) => i.scheduledStartTime === period);
  if (period === undefined || run.length === 0) {
    if (pipelineState === 'INACTIVE' || pipelineState === 'PAUSED') {
      return {
        state: 'stopped',
        awsState: pipelineState,
        message: `the pipeline is ${pipelineState} and no instance of the run exists`,
      };
    }
    if (pipelineState === 'FINISHED') return { state: 'succeeded', awsState: pipelineState };
    return { state: 'running', awsState: pipelineState ?? 'UNKNOWN' };
  }
  const ended = run.filter((i) => FINAL_OK.has(i.status ?? '') || FINAL_BAD.has(i.status ?? ''));
  if (ended.length < run.length)
    return { state: 'running', awsState: `RUNNING (${ended.length}/${run.length} instances ended)` };
  const failed = run.find((i) => i.status === 'FAILED') ?? run.find((i) => i.status === 'CASCADE_FAILED');
  if (failed) {
    return {
      state: 'failed',
      awsState: failed.status as string,
      message: `${failed.id}: ${failed.errorMessage ?? 'no error message'}`,
    };
  }
  const timedOut = run.find((i) => i.status === 'TIMEDOUT');
  if (timedOut)
    return {
      state: 'timeout',
      awsState: 'TIMEDOUT',
      message: `${timedOut.id}: ${timedOut.errorMessage ?? 'exceeded its terminateAfter time'}`,
    };
  const canceled = run.find((i) => i.status === 'CANCELED');
  if (canceled)
    return {
      state: 'stopped',
      awsState: 'CANCELED',
      message: `${canceled.id} was canceled${pipelineState ? ` (pipeline ${pipelineState})` : ''}`,
    };
  return { state: 'succeeded', awsState: 'FINISHED' };
}

function pipelineId(ctx: StageContext): string {
  return String(ctx.params.pipelineId);
}

/** `startTimestamp` as the SDK wants it (a Date), from YAML text or epoch milliseconds. */
function startTimestamp(ctx: StageContext): Date | undefined {
  const v = ctx.params.startTimestamp;
  if (v === undefined || v === null || v === '') return undefined;
  const d = v instanceof Date ? v : typeof v === 'number' || typeof v === 'string' ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime()))
    throw Object.assign(new Error(`startTimestamp is not a date-time: ${JSON.stringify(v)}`), {
      name: 'ValidationException',
    });
  return d;
}

function parseJobId(jobId: string): { pipelineId: string; runStart: string } {
  const at = jobId.indexOf('@');
  return { pipelineId: jobId.slice(0, at), runStart: jobId.slice(at + 1) };
}

async function describePipeline(ctx: StageContext, id: string): Promise<PipelineDescription> {
  const out = await ctx.clients.dataPipeline.send(new DescribePipelinesCommand({ pipelineIds: [id] }));
  const d = out.pipelineDescriptionList?.[0];
  if (!d) throw Object.assign(new Error(`Pipeline ${id} was not found`), { name: 'PipelineNotFoundException' });
  return d;
}

/** Every instance scheduled at or after `runStart`, with its status. */
async function instancesFrom(ctx: StageContext, id: string, runStart: string): Promise<DpInstance[]> {
  const ids: string[] = [];
  let marker: string | undefined;
  for (let page = 0; page < QUERY_PAGES; page++) {
    const out = await ctx.clients.dataPipeline.send(
      new QueryObjectsCommand({
        pipelineId: id,
        sphere: 'INSTANCE',
        query: { selectors: [{ fieldName: '@scheduledStartTime', operator: { type: 'GE', values: [runStart] } }] },
        limit: 100,
        marker,
      }),
    );
    ids.push(...(out.ids ?? []));
    marker = out.marker;
    if (!out.hasMoreResults || !marker) break;
  }
  const instances: DpInstance[] = [];
  for (let i = 0; i < ids.length; i += DESCRIBE_CHUNK) {
    const out = await ctx.clients.dataPipeline.send(
      new DescribeObjectsCommand({ pipelineId: id, objectIds: ids.slice(i, i + DESCRIBE_CHUNK) }),
    );
    for (const o of out.pipelineObjects ?? []) {
      const inst: DpInstance = { id: o.id ?? '?' };
      const status = field(o.fields, '@status');
      const start = field(o.fields, '@scheduledStartTime');
      const error = field(o.fields, 'errorMessage');
      if (status !== undefined) inst.status = status;
      if (start !== undefined) inst.scheduledStartTime = start;
      if (error !== undefined) inst.errorMessage = error;
      instances.push(inst);
    }
  }
  return instances.filter((i) => i.scheduledStartTime === undefined || dpMs(i.scheduledStartTime) >= dpMs(runStart));
}

export const dataPipelineActivate: JobHandler = {
  kind: dataPipelineActivateKind.kind,
  mode: 'job',
  // No SDK enum: the instance states of the Data Pipeline developer guide, as its table lists them.
  serviceStates: Object.keys(dataPipelineActivateKind.states),
  service: 'Data Pipeline',
  async find(ctx) {
    const d = await describePipeline(ctx, pipelineId(ctx));
    const tag = d.tags?.find((t) => t.key === DP_ACTIVATION_TAG)?.value;
    const [taggedAt, key] = tag?.split(' ') ?? [];
    const lastActivation = field(d.fields, '@lastActivationTime');
    if (!taggedAt || key !== keyTagPart(ctx.idempotencyKey) || !lastActivation) return undefined;
    if (dpMs(lastActivation) < dpMs(taggedAt) - SKEW_MS) return undefined; // tagged, then the worker died before activating
    const start = startTimestamp(ctx);
    return `${pipelineId(ctx)}@${start ? dpTime(start) : lastActivation}`;
  },
  async start(ctx) {
    const id = pipelineId(ctx);
    const start = startTimestamp(ctx);
    await ctx.clients.dataPipeline.send(
      new AddTagsCommand({
        pipelineId: id,
        tags: [{ key: DP_ACTIVATION_TAG, value: `${dpTime(new Date())} ${keyTagPart(ctx.idempotencyKey)}` }],
      }),
    );
    const request = ctx.params as unknown as ActivatePipelineCommandInput;
    await ctx.clients.dataPipeline.send(
      new ActivatePipelineCommand({ ...request, pipelineId: id, ...(start ? { startTimestamp: start } : {}) }),
    );
    if (start) return `${id}@${dpTime(start)}`;
    const lastActivation = field((await describePipeline(ctx, id)).fields, '@lastActivationTime');
    return `${id}@${lastActivation ?? dpTime(new Date(Date.now() - SKEW_MS))}`;
  },
  async describe(ctx, jobId) {
    const { pipelineId: id, runStart } = parseJobId(jobId);
    const d = await describePipeline(ctx, id);
    return mapDataPipelineRun(field(d.fields, '@pipelineState'), await instancesFrom(ctx, id, runStart));
  },
  async stop(ctx, jobId) {
    try {
      await ctx.clients.dataPipeline.send(
        new DeactivatePipelineCommand({ pipelineId: parseJobId(jobId).pipelineId, cancelActive: true }),
      );
    } catch (err) {
      if ((await dataPipelineActivate.describe(ctx, jobId)).state === 'running') throw err;
    }
  },
  async collect(ctx, jobId) {
    const { pipelineId: id, runStart } = parseJobId(jobId);
    const all = await instancesFrom(ctx, id, runStart);
    const period = all
      .map((i) => i.scheduledStartTime)
      .filter((s): s is string => s !== undefined)
      .sort()[0];
    const run = all.filter((i) => i.scheduledStartTime === period);
    return {
      summary: `Data Pipeline ${id} run of ${period ?? runStart} finished: ${run.length} instance${run.length === 1 ? '' : 's'} ${[...new Set(run.map((i) => i.status))].join('/') || 'none'}`,
      output: {
        pipelineId: id,
        scheduledStartTime: period ?? runStart,
        instances: run.slice(0, RESULT_INSTANCES).map((i) => ({ id: i.id, status: i.status ?? null })),
      },
    };
  },
};
