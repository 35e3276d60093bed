/**
 * A fan-out as state machines over plain state: the input a run gives its forEach stage, what each
 * chunk (`fanOutChunk`) starts next and makes of an item's end, and how the stage (`fanOutStage`)
 * sums its chunks up. workflows/fan-out.ts only translates between these and Temporal. Pure.
 */
import { FAN_OUT_DEFAULTS, FAN_OUT_LIMITS, type FanOutInput, type FanOutPooling, type ForEachSpec } from './fan-out';
import type { PipelineDefinition, StageDefinition } from './pipeline';
import { renderParams, renderValue, TemplateError, type RenderContext } from './templating';

/** The run a forEach stage belongs to, as its fan-out needs it. */
export interface FanOutRun {
  pipeline: string;
  ds: string;
  generation: number;
  runWorkflowId: string;
  keyScope?: string;
  defaults?: PipelineDefinition['defaults'];
}

/**
 * The fan-out of a forEach stage: its items resolved for this run (a list, or the S3 prefix to
 * list), its params rendered but for `{{ item }}`. Throws TemplateError when the source cannot be
 * rendered, is not a list, or is too large to hand over.
 */
export function fanOutInputFor(
  stage: StageDefinition,
  params: Record<string, unknown>,
  ctx: RenderContext,
  run: FanOutRun,
  pooling: () => FanOutPooling,
): FanOutInput {
  const spec = stage.forEach as ForEachSpec;
  let source: FanOutInput['source'];
  if (spec.s3) {
    const s3 = renderParams(spec.s3, ctx);
    source = { s3: { Bucket: String(s3.Bucket), Prefix: String(s3.Prefix ?? '') } };
  } else {
    const items: unknown =
      typeof spec.items === 'string' ? renderValue(spec.items, ctx) : renderParams(spec.items, ctx);
    if (!Array.isArray(items))
      throw new TemplateError(
        `forEach.items: ${JSON.stringify(spec.items)} yields ${items === null ? 'null' : typeof items}, not a list`,
      );
    if (JSON.stringify(items).length > FAN_OUT_LIMITS.itemsMaxBytes)
      throw new TemplateError(
        `forEach.items: the list is over ${FAN_OUT_LIMITS.itemsMaxBytes / 1024} KB; fan out over an S3 prefix (forEach.s3) instead`,
      );
    source = { items };
  }
  return {
    pipeline: run.pipeline,
    ds: run.ds,
    generation: run.generation,
    runWorkflowId: run.runWorkflowId,
    ...(run.keyScope !== undefined ? { keyScope: run.keyScope } : {}),
    stage: {
      stageId: stage.id,
      kind: stage.kind,
      params,
      ...(stage.retry ? { retry: stage.retry } : {}),
      ...(stage.timeout !== undefined ? { timeout: stage.timeout } : {}),
      ...(stage.poll ? { poll: stage.poll } : {}),
      ...(stage.expect ? { expect: stage.expect } : {}),
      ...(stage.pool !== undefined ? { pool: stage.pool } : {}),
    },
    ...(run.defaults ? { defaults: run.defaults } : {}),
    source,
    ...(spec.batch ? { batch: spec.batch } : {}),
    concurrency: spec.concurrency ?? FAN_OUT_DEFAULTS.concurrency,
    ...(spec.toleratedFailures !== undefined ? { toleratedFailures: spec.toleratedFailures } : {}),
    // Each item holds a slot of the stage's pool (an input, not a patch: a chunk replays its own).
    pooling: pooling(),
  };
}
