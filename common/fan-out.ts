/**
 * Fan-out (`forEach`): one stage run once per item — the keys under an S3 prefix, or a list — each
 * item its own job with its own idempotency key. Pure types and planning, shared by the workflows
 * (workflows/fan-out.ts), the activities that read S3 listings (activities/fan-out.ts) and the
 * load-time checks.
 *
 * Shape (so 10,000 items never crowd one history): the stage's run is a child workflow
 * (`fanOutStage`) that splits the items into chunks of at most CHUNK_ITEMS and runs a few chunk
 * workflows (`fanOutChunk`) at once, each running its items as activities with a share of the
 * concurrency. An S3 listing travels only as chunk boundaries through the stage's history; each
 * chunk lists its own keys.
 */
import type { PollSpec, RetrySpec, TimeoutSpec } from './pipeline';
import type { ExpectSpec } from './checks';
import type { StageKind } from './constants';

export interface ForEachSpec {
  /** The keys under a prefix, read page by page. */
  s3?: { Bucket: string; Prefix?: string };
  /** A literal list, or one template that yields a list. */
  items?: unknown[] | string;
  /** Items per job: `{{ item }}` is then a list of up to this many. */
  batch?: number;
  /** Jobs at once (default 10). */
  concurrency?: number;
  /** Failed items the stage tolerates: a count, or a percentage of the items ("5%"). Default 0. */
  toleratedFailures?: number | string;
}

export const FAN_OUT_DEFAULTS = { concurrency: 10 } as const;

export const FAN_OUT_LIMITS = {
  /** Items (jobs, after batching) in one fan-out. */
  maxItems: 100_000,
  maxConcurrency: 1000,
  maxBatch: 1000,
  /** Items per chunk workflow: its history stays far under Temporal's 10,240-event warning. */
  chunkItems: 500,
  /** Values (S3 keys, list elements) per chunk: what its listing or input holds stays well under 256 KB. */
  chunkKeys: 1000,
  /** Chunk workflows running at once (more when the concurrency needs them, see chunkConcurrency). */
  parallelChunks: 4,
  /**
   * Items one chunk runs at once. Above about 100, a chunk's completions arrive faster than its
   * workflow tasks take them, and the server force-closes tasks that buffer over 100 events
   * (measured by bench:fanout): a higher concurrency runs more chunks at once instead.
   */
  chunkConcurrency: 64,
  /** Item outputs are kept in the stage output only up to this many items... */
  outputsMaxItems: 100,
  /** ...and this much JSON. */
  outputsMaxBytes: 64 * 1024,
  /** Failures listed in the stage output. */
  failuresListed: 10,
  /** A literal or templated `items` list handed to the fan-out (larger: use forEach.s3). */
  itemsMaxBytes: 200 * 1024,
} as const;

/** What a forEach stage's output holds: `{{ stages.<id>.output.<field> }}`. */
export const FAN_OUT_OUTPUTS = ['items', 'succeeded', 'failed', 'failures', 'outputs', 'outputsComplete'] as const;

/** The item's idempotency key: `<pipeline>/<ds>/<stage>[<index>]/g<generation>`. */
export function itemIdempotencyKey(
  pipeline: string,
  ds: string,
  stageId: string,
  index: number,
  generation: number,
): string {
  return `${pipeline}/${ds}/${stageId}[${index}]/g${generation}`;
}

/** How many failed items are tolerated out of `items`. */
export function toleratedCount(spec: number | string | undefined, items: number): number {
  if (spec === undefined) return 0;
  if (typeof spec === 'number') return spec;
  const pct = Number(spec.replace('%', ''));
  return Math.floor((pct / 100) * items);
}

/** Items per chunk for a batch size: CHUNK_ITEMS, fewer when each item is a batch (at most chunkKeys values a chunk). */
export function chunkItemsFor(batch: number): number {
  return Math.max(1, Math.min(FAN_OUT_LIMITS.chunkItems, Math.floor(FAN_OUT_LIMITS.chunkKeys / batch)));
}

/** How many chunks run at once, and each one's share of the concurrency (their sum ≤ concurrency). */
export function chunkParallelism(concurrency: number, chunks: number): { parallel: number; each: number } {
  const wanted = Math.max(FAN_OUT_LIMITS.parallelChunks, Math.ceil(concurrency / FAN_OUT_LIMITS.chunkConcurrency));
  const parallel = Math.max(1, Math.min(wanted, chunks, concurrency));
  return { parallel, each: Math.max(1, Math.min(FAN_OUT_LIMITS.chunkConcurrency, Math.floor(concurrency / parallel))) };
}

/** Groups values into lists of `size` (the last may be shorter). */
export function batches<T>(values: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

/** One chunk of an S3 listing: the keys after `startAfter` up to and including `lastKey`. */
export interface KeyRange {
  startAfter: string;
  lastKey: string;
  count: number;
}

/** The stage as every item of it runs: what the chunk needs to start each item's activity. */
export interface FanOutStageSpec {
  stageId: string;
  kind: StageKind;
  /** Rendered for the run; only `{{ item }}` / `{{ item_index }}` are left to render per item. */
  params: Record<string, unknown>;
  retry?: RetrySpec;
  timeout?: TimeoutSpec;
  poll?: PollSpec;
  expect?: ExpectSpec;
  /** The stage's `pool` (a name, or `none`); absent: its kind's default pool. */
  pool?: string;
}

/**
 * Who a fan-out's items ask their pool as: the run's priority and fairness key. Set by runs of
 * pools on: each item holds a slot of the stage's pool while its job runs. Absent (fan-outs
 * started before): the items take no slot.
 */
export interface FanOutPooling {
  priority: number;
  fairnessKey: string;
}

export interface FanOutInput {
  pipeline: string;
  ds: string;
  generation: number;
  /** The run's workflow ID: sub-pipeline items are its children's IDs' prefix. */
  runWorkflowId: string;
  /** The run's key scope when it is itself a sub-pipeline's run (RunPipelineInput.keyScope). */
  keyScope?: string;
  stage: FanOutStageSpec;
  /** The pipeline's defaults (retry, timeout, poll), as each item's activity applies them. */
  defaults?: { retry?: RetrySpec; timeout?: TimeoutSpec; poll?: PollSpec };
  source: { items: unknown[] } | { s3: { Bucket: string; Prefix: string } };
  batch?: number;
  concurrency: number;
  toleratedFailures?: number | string;
  pooling?: FanOutPooling;
}

export interface ChunkInput {
  pipeline: string;
  ds: string;
  generation: number;
  runWorkflowId: string;
  keyScope?: string;
  stage: FanOutStageSpec;
  defaults?: FanOutInput['defaults'];
  /** The index of this chunk's first item in the whole fan-out. */
  offset: number;
  /** The items themselves, or the S3 key range to list (then grouped by `batch`). */
  source: { items: unknown[] } | { s3: { Bucket: string; Prefix: string }; range: KeyRange; batch?: number };
  concurrency: number;
  /** Stop starting items once this many failed (in this chunk): the stage has failed anyway. */
  failureBudget: number;
  /** Return each item's output (the fan-out is small). */
  collectOutputs: boolean;
  pooling?: FanOutPooling;
}

export interface ItemFailure {
  index: number;
  message: string;
  type?: string;
  jobId?: string;
}

export interface ChunkResult {
  items: number;
  succeeded: number;
  failed: number;
  /** Items never started (the failure budget ran out, or the run was cancelled). */
  notStarted: number;
  failures: ItemFailure[];
  /** By item index, when collected. */
  outputs?: { index: number; output: unknown }[];
  /** Jobs a cancel could not confirm stopped. */
  unstopped?: { index: number; message: string }[];
  /** Set when the chunk was cancelled: its running items, cancelled once their jobs were stopped. */
  cancelled?: number;
}
