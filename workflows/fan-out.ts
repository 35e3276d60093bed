/**
 * Fan-out (`forEach`): a stage run once per item. runPipeline starts `fanOutStage` as the stage's
 * child workflow; it splits the items into chunks and runs a few `fanOutChunk` workflows at once,
 * each running its items as `runStage` activities — one job per item, its idempotency key
 * `<pipeline>/<ds>/<stage>[<index>]/g<gen>`, so a crash mid-fan-out starts no item twice.
 *
 * Cancelling the run cancels these workflows; each chunk first has every running item's job
 * stopped from any worker (stopRunJobs, as runPipeline does), then cancels the attempts.
 *
 * Deterministic: imports only @temporalio/workflow, shared constants/pure helpers and activity types.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { SluiceActivities } from '../activities';
import { CHILD_RUN_KINDS, ERROR_TYPES, SENSOR_KINDS, WORKFLOW_TYPES } from '../common/constants';
import { renderStageParams, runSubPipeline } from './sub-pipeline';
import { durationMs } from '../common/durations';
import {
  FAN_OUT_LIMITS,
  batches,
  chunkItemsFor,
  chunkParallelism,
  itemIdempotencyKey,
  toleratedCount,
  type ChunkInput,
  type ChunkResult,
  type FanOutInput,
  type ItemFailure,
} from '../common/fan-out';
import type { StageDefinition } from '../common/pipeline';
import type { StageResult, StopOutcome, StopTarget } from '../common/run-types';
import { templateContext, TemplateError } from '../common/templating';
import { activityOptions, jobMayOutlive, lastHeartbeatJob, stageError, timeouts } from './run-pipeline';
import { PINNED, versioned } from './versioning';
import { inScope, stageSlotAsk, withPoolSlot, type SlotAsk } from './pool-slot';
import { poolWaitLine, type StagePool } from '../common/pools';

const { listKeyChunks, listKeyRange } = proxyActivities<SluiceActivities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: {
    initialInterval: '2s',
    maximumInterval: '1m',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [ERROR_TYPES.awsRequest, ERROR_TYPES.stageInput],
  },
  summary: 'list the keys to fan out over',
});

const { stopRunJobs } = proxyActivities<SluiceActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '30s',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
  summary: 'stop the AWS jobs of these items',
});

function sizeOf(v: unknown): number {
  return JSON.stringify(v ?? null).length;
}

// On a versioned worker: PINNED (finishes on the build it started on; see workflows/versioning.ts).
versioned(PINNED, fanOutChunk);
/** The items of one chunk, run with a window of `concurrency`. */
export async function fanOutChunk(input: ChunkInput): Promise<ChunkResult> {
  const { stage, pipeline, ds, generation } = input;
  const items: unknown[] =
    'items' in input.source
      ? input.source.items
      : await (async (src) => {
          const keys = await listKeyRange({ Bucket: src.s3.Bucket, Prefix: src.s3.Prefix, range: src.range });
          return src.batch && src.batch > 1 ? batches(keys, src.batch) : keys;
        })(input.source);
  const result: ChunkResult = { items: items.length, succeeded: 0, failed: 0, notStarted: 0, failures: [] };
  const outputs: { index: number; output: unknown }[] = [];
  /** Items whose attempt was cancelled (a set: an item is counted once however its end is seen). */
  const cancelledItems = new Set<number>();
  /** Items whose end was seen (succeeded, failed or cancelled). */
  const settled = new Set<number>();

  let cancelRequested = false;
  const cancelSeen = CancellationScope.current().cancelRequested.catch(() => {
    cancelRequested = true;
  });
  // As in runPipeline: the items' attempts are cancelled only after their jobs were stopped.
  const scope = new CancellationScope({ cancellable: true, parent: new CancellationScope({ cancellable: false }) });
  const running = new Map<number, Promise<void>>();
  /** Running items waiting for a slot of the stage's pool (no job yet), with the pool's counts. */
  const waiting = new Map<number, StagePool>();
  /** The scope of each item that asks a pool: a cancel withdraws the waiting asks before any job is stopped. */
  const askScopes = new Map<number, CancellationScope>();
  const targets = new Map<number, StopTarget>();
  const mayOutlive: StopTarget[] = [];
  const dateCtx = templateContext(pipeline, ds);
  const t = { ...timeouts(input.defaults?.timeout), ...timeouts(stage.timeout) };

  const show = (): void => {
    const pool = [...waiting.values()].at(-1);
    setCurrentDetails(
      `**${stage.stageId} items ${input.offset}–${input.offset + items.length - 1}**: ${result.succeeded} succeeded, ` +
        `${result.failed} failed, ${running.size - waiting.size} running, ` +
        (pool ? `${waiting.size} ${poolWaitLine(pool)}, ` : '') +
        `${items.length - result.succeeded - result.failed - running.size - cancelledItems.size} pending`,
    );
  };

  const fail = (index: number, f: Omit<ItemFailure, 'index'>): void => {
    result.failed++;
    if (result.failures.length < FAN_OUT_LIMITS.failuresListed) result.failures.push({ index, ...f });
  };

  const launch = (i: number): void => {
    const index = input.offset + i;
    const id = `${stage.stageId}[${index}]`;
    let params: Record<string, unknown>;
    try {
      params = renderStageParams(stage.kind, stage.params, { date: dateCtx, item: items[i], itemIndex: index });
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      return fail(index, { message: `params: ${err.message}`, type: ERROR_TYPES.stageInput });
    }
    const def = {
      id,
      kind: stage.kind,
      dependsOn: [],
      params,
      retry: stage.retry,
      timeout: stage.timeout,
    } as StageDefinition;
    const { runStage } = proxyActivities<SluiceActivities>(activityOptions(def, input.defaults));
    const idempotencyKey =
      input.keyScope !== undefined
        ? `${input.keyScope}/${stage.stageId}[${index}]/g${generation}`
        : itemIdempotencyKey(pipeline, ds, stage.stageId, index, generation);
    const subRun = CHILD_RUN_KINDS.includes(stage.kind);
    const target: StopTarget = {
      stageId: id,
      kind: stage.kind,
      params,
      rendered: true,
      idempotencyKey,
      scheduledAtMs: Date.now(),
    };
    // A sub-pipeline item is a child run: cancelled with this chunk, it stops its own jobs.
    if (!subRun) targets.set(i, target);
    const poll = stage.poll ?? input.defaults?.poll;
    // Each item holds a slot of the stage's pool while its job runs, as a stage of a run does.
    const ask: SlotAsk | undefined =
      input.pooling && !subRun ? stageSlotAsk(stage, id, params, { pipeline, ds, ...input.pooling }) : undefined;
    const status: { pool?: StagePool; startedAt?: string } = {};
    const waitShown = (): void => {
      if (status.pool && !status.pool.grantedAt) waiting.set(i, status.pool);
      else waiting.delete(i);
      show();
    };
    const attempt = (): Promise<StageResult> =>
      withPoolSlot(ask, status, waitShown, (slot) =>
        runStage({
          ...(slot ? { poolSlot: slot } : {}),
          pipeline,
          ds,
          stageId: id,
          kind: stage.kind,
          params,
          rendered: true,
          idempotencyKey,
          ...(poll ? { poll: { ...input.defaults?.poll, ...stage.poll } } : {}),
          ...(stage.expect ? { expect: stage.expect } : {}),
          ...(SENSOR_KINDS.includes(stage.kind) && t.total !== undefined
            ? { deadlineMs: Date.now() + durationMs(t.total) }
            : {}),
        }),
      );
    const p = scope
      .run(() =>
        subRun
          ? runSubPipeline(params, ds, generation, `${input.runWorkflowId}/${id}`)
          : ask
            ? inScope(askScopes, i, attempt)
            : attempt(),
      )
      .then(
        (r: StageResult) => {
          settled.add(i);
          result.succeeded++;
          if (input.collectOutputs) outputs.push({ index, output: r.output ?? null });
        },
        (err: unknown) => {
          settled.add(i);
          if (isCancellation(err) || cancelRequested) {
            cancelledItems.add(i);
            return;
          }
          const e = stageError(err);
          const jobId = lastHeartbeatJob(err) ?? e.jobId;
          fail(index, { message: e.message, ...(e.type ? { type: e.type } : {}), ...(jobId ? { jobId } : {}) });
          // Its job may still be running (its worker died, AWS refused a status call): stopped below.
          if (
            jobMayOutlive({
              id,
              kind: stage.kind,
              dependsOn: [],
              state: 'failed',
              error: e,
              ...(jobId ? { jobId } : {}),
            })
          )
            mayOutlive.push({ ...target, ...(jobId ? { jobId } : {}) });
        },
      )
      .finally(() => {
        running.delete(i);
        waiting.delete(i);
        askScopes.delete(i);
        targets.delete(i);
        show();
      });
    running.set(i, p);
  };

  let next = 0;
  let swept = false;
  let stops: StopOutcome[] = [];
  const { workflowId, runId } = workflowInfo();
  show();
  for (;;) {
    while (
      !cancelRequested &&
      next < items.length &&
      running.size < input.concurrency &&
      result.failed <= input.failureBudget
    )
      launch(next++);
    show();
    if (running.size === 0) break;
    await Promise.race(cancelRequested ? running.values() : [...running.values(), cancelSeen]);
    if (cancelRequested && !swept) {
      swept = true;
      // Items still waiting for a slot withdraw first (no job to stop): a slot freed by a stopped job
      // must not go to an item of this cancelled chunk.
      const withdrawn = [...waiting.keys()].flatMap((i) => {
        askScopes.get(i)?.cancel();
        const settling = running.get(i);
        return settling ? [settling] : [];
      });
      if (withdrawn.length) await Promise.allSettled(withdrawn);
      const sweep = [...targets.values(), ...mayOutlive.splice(0)];
      stops = sweep.length
        ? await CancellationScope.nonCancellable(() => stopRunJobs({ workflowId, runId, pipeline, ds, stages: sweep }))
        : [];
      scope.cancel();
      // An attempt that had not started its job when the stop looked stops the job it starts (see runPipeline).
      const pending = [
        ...stops.filter((o) => o.result === 'none').map((o) => o.stageId),
        ...(CHILD_RUN_KINDS.includes(stage.kind)
          ? [...running.keys()].map((i) => `${stage.stageId}[${input.offset + i}]`)
          : []),
      ];
      await Promise.allSettled(
        [...running].filter(([i]) => pending.includes(`${stage.stageId}[${input.offset + i}]`)).map(([, p]) => p),
      );
      break;
    }
  }
  if (!swept && mayOutlive.length)
    stops = await CancellationScope.nonCancellable(() =>
      stopRunJobs({ workflowId, runId, pipeline, ds, stages: mayOutlive.splice(0) }),
    );
  for (const i of running.keys()) if (!settled.has(i)) cancelledItems.add(i);
  const cancelled = cancelledItems.size;
  result.notStarted = items.length - result.succeeded - result.failed - cancelled;
  if (input.collectOutputs) result.outputs = outputs.sort((a, b) => a.index - b.index);
  const unstopped = stops.filter((o) => o.result === 'error' || o.result === 'unconfirmed');
  if (unstopped.length) result.unstopped = unstopped.map((o) => ({ index: indexOf(o.stageId), message: o.message }));
  // Cancelled, it still returns what it did: a cancellation reaches the parent without details.
  if (cancelRequested) result.cancelled = cancelled;
  // A copy: attempts still settling after this point must not change what is returned.
  return { ...result, failures: [...result.failures] };
}

function indexOf(itemStageId: string): number {
  return Number(/\[(\d+)\]$/.exec(itemStageId)?.[1] ?? -1);
}

/** The chunks of a fan-out: their sources and how many items each holds. */
async function planChunks(input: FanOutInput): Promise<{ source: ChunkInput['source']; items: number }[]> {
  const batch = input.batch ?? 1;
  if ('s3' in input.source) {
    const s3 = input.source.s3;
    const per = chunkItemsFor(batch);
    const ranges = await listKeyChunks({
      Bucket: s3.Bucket,
      Prefix: s3.Prefix,
      chunkKeys: per * batch,
      maxKeys: FAN_OUT_LIMITS.maxItems * batch,
    });
    return ranges.map((range) => ({ source: { s3, range, batch }, items: Math.ceil(range.count / batch) }));
  }
  const items = batch > 1 ? batches(input.source.items, batch) : input.source.items;
  return batches(items, chunkItemsFor(batch)).map((slice) => ({
    source: { items: slice },
    items: slice.length,
  }));
}

// On a versioned worker: PINNED (finishes on the build it started on; see workflows/versioning.ts).
versioned(PINNED, fanOutStage);
/** A forEach stage: its items in chunks, a few chunks at once; the stage's output sums them up. */
export async function fanOutStage(input: FanOutInput): Promise<StageResult> {
  const { stage } = input;
  const chunks = await planChunks(input);
  const total = chunks.reduce((n, c) => n + c.items, 0);
  if (total > FAN_OUT_LIMITS.maxItems) {
    throw ApplicationFailure.create({
      message: `${stage.stageId}: ${total} items, more than the ${FAN_OUT_LIMITS.maxItems} one fan-out runs; use forEach.batch to group them`,
      type: ERROR_TYPES.stageInput,
      nonRetryable: true,
    });
  }
  const tolerated = toleratedCount(input.toleratedFailures, total);
  const collectOutputs = total <= FAN_OUT_LIMITS.outputsMaxItems;
  const { parallel, each } = chunkParallelism(input.concurrency, chunks.length);
  const results: ChunkResult[] = [];
  let failed = 0;
  let cancelled = false;
  const running = new Map<number, Promise<void>>();
  const { workflowId } = workflowInfo();
  const offsets = chunks.map((_c, i) => chunks.slice(0, i).reduce((n, c) => n + c.items, 0));
  const show = (): void => {
    const done = results.reduce((n, r) => n + r.succeeded + r.failed, 0);
    setCurrentDetails(
      `**${stage.stageId}**: ${done} / ${total} items done, ${failed} failed (tolerated ${tolerated}), ${running.size} chunk(s) running`,
    );
  };
  CancellationScope.current().cancelRequested.catch(() => {
    cancelled = true;
  });

  const launch = (i: number): void => {
    const chunk = chunks[i] as (typeof chunks)[number];
    const offset = offsets[i] as number;
    const args: ChunkInput = {
      pipeline: input.pipeline,
      ds: input.ds,
      generation: input.generation,
      runWorkflowId: input.runWorkflowId,
      ...(input.keyScope !== undefined ? { keyScope: input.keyScope } : {}),
      stage,
      ...(input.defaults ? { defaults: input.defaults } : {}),
      offset,
      source: chunk.source,
      concurrency: each,
      failureBudget: Math.max(0, tolerated - failed),
      collectOutputs,
      ...(input.pooling ? { pooling: input.pooling } : {}),
    };
    const p = startChild(WORKFLOW_TYPES.fanOutChunk, {
      workflowId: `${workflowId}/chunk-${i}`,
      args: [args],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      staticSummary: `${stage.stageId} (${stage.kind}): items ${offset}–${offset + chunk.items - 1} of ${total}`,
    })
      .then((h) => h.result() as Promise<ChunkResult>)
      .then(
        (r) => {
          results.push(r);
          failed += r.failed;
        },
        (err: unknown) => {
          // Cancelled before it started any item (while listing its keys): a started chunk returns.
          if (isCancellation(err)) {
            results.push({ items: chunk.items, succeeded: 0, failed: 0, notStarted: chunk.items, failures: [] });
            return;
          }
          const e = stageError(err);
          failed += chunk.items;
          results.push({
            items: chunk.items,
            succeeded: 0,
            failed: chunk.items,
            notStarted: 0,
            failures: [
              {
                index: offset,
                message: `items ${offset}–${offset + chunk.items - 1}: ${e.message}`,
                ...(e.type ? { type: e.type } : {}),
              },
            ],
          });
        },
      )
      .finally(() => {
        running.delete(i);
        show();
      });
    running.set(i, p);
  };

  let next = 0;
  show();
  for (;;) {
    while (!cancelled && next < chunks.length && running.size < parallel && failed <= tolerated) launch(next++);
    if (running.size === 0) break;
    // A cancel reaches the chunks by itself (they are children of this scope): wait for them all.
    await CancellationScope.nonCancellable(() => Promise.race(running.values()));
  }

  const succeeded = results.reduce((n, r) => n + r.succeeded, 0);
  const failures = results
    .flatMap((r) => r.failures)
    .sort((a, b) => a.index - b.index)
    .slice(0, FAN_OUT_LIMITS.failuresListed);
  const itemOutputs = collectOutputs ? results.flatMap((r) => r.outputs ?? []).sort((a, b) => a.index - b.index) : [];
  const outputsFit = collectOutputs && sizeOf(itemOutputs) <= FAN_OUT_LIMITS.outputsMaxBytes;
  const output: Record<string, unknown> = {
    items: total,
    succeeded,
    failed,
    failures,
    ...(outputsFit ? { outputs: itemOutputs.map((o) => o.output) } : {}),
    outputsComplete: outputsFit && itemOutputs.length === total,
  };
  const unstopped = results.flatMap((r) => r.unstopped ?? []);
  if (cancelled) {
    // Returned, not thrown: Temporal hands a child's cancellation to its parent without details,
    // and the run must say what was stopped and what could not be. The run marks the stage cancelled.
    const notStopped = unstopped.map((u) => `[${u.index}] ${u.message}`).join('; ');
    setCurrentDetails(`**${stage.stageId}: cancelled** after ${succeeded} of ${total} items succeeded`);
    return {
      summary: `cancelled after ${succeeded} of ${total} items succeeded${notStopped ? `; jobs not confirmed stopped: ${notStopped}` : ''}`,
      output: { ...output, cancelled: results.reduce((n, r) => n + (r.cancelled ?? 0), 0) },
      cancelled: true,
      ...(unstopped.length ? { unstopped } : {}),
    };
  }
  const failedText = failures
    .slice(0, 3)
    .map((f) => `[${f.index}] ${f.message}`)
    .join('; ');
  if (failed > tolerated) {
    throw ApplicationFailure.create({
      message: `${failed} of ${total} items failed (tolerated ${tolerated}): ${failedText}${failed > 3 ? '; …' : ''}`,
      type: ERROR_TYPES.itemsFailed,
      nonRetryable: true,
      details: [{ output }],
    });
  }
  return {
    summary: `${succeeded} of ${total} items succeeded${failed ? `, ${failed} failed (tolerated ${tolerated}): ${failedText}` : ''}`,
    output,
  };
}
