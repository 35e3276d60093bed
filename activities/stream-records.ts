/**
 * Records put to a stream, shared by `kinesis.put` (Kinesis PutRecords, kinds/kinesis-put) and
 * `firehose.put` (Firehose PutRecordBatch, kinds/firehose-put): records from the
 * pipeline (`Records`, AWS's record shape: `Data` — a string, or anything else sent as JSON — plus
 * `PartitionKey` / `ExplicitHashKey` for Kinesis) or from a file the worker reads (`RecordsFile`,
 * one record per line, relative to the pipeline file).
 *
 * Records are sent in batches within the API limits (Kinesis: 500 records / 5 MiB per call;
 * Firehose: 500 records / 4 MiB). Those AWS reports failed (FailedRecordCount / FailedPutCount, a
 * per-record ErrorCode) are resent alone, with backoff, up to {@link MAX_RESENDS} times; then the
 * stage fails with the error codes (retryable when they are throttling or service errors).
 *
 * Idempotency: neither API deduplicates, so the puts are at-least-once. Progress (batches fully
 * acknowledged, and the records of the current batch still to resend) is heartbeated after every
 * call; a retried attempt resumes there, so only a crash between a call and its heartbeat reaching
 * Temporal can send records twice. Consumers that must not see a duplicate should deduplicate
 * (Kinesis: on the data or an id inside it; Firehose: downstream).
 */
import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import { ERROR_TYPES, type StageKind } from '../common/constants';
import type { StageResult } from '../common/run-types';
import { isTransientAwsError, stageInputFailure } from './errors';
import type { StageContext } from './stage-handler';
import { progress } from './progress';

export const MiB = 1024 * 1024;
/** Resends of the records AWS reported failed, per batch, before the stage fails. */
export const MAX_RESENDS = 6;
const RESEND_BASE_MS = 100;
const RESEND_MAX_MS = 2000;

export interface StreamLimits {
  maxRecords: number;
  maxBytes: number;
  maxRecordBytes: number;
}

export interface StreamRecord {
  data: Buffer;
  partitionKey?: string;
  explicitHashKey?: string;
}

/** Bytes a record counts for against the limits (Kinesis counts the partition key too). */
export function recordBytes(r: StreamRecord): number {
  return r.data.length + (r.partitionKey ? Buffer.byteLength(r.partitionKey) : 0);
}

/** `Data` as bytes: strings as they are, anything else as JSON. */
export function dataBytes(data: unknown): Buffer {
  return Buffer.from(typeof data === 'string' ? data : JSON.stringify(data), 'utf8');
}

/**
 * Cuts records into consecutive batches within the limits. A pure function of the records, so
 * every attempt of a stage cuts the same batches and "batches done" means the same thing.
 */
export function planBatches(
  sizes: readonly number[],
  limits: Pick<StreamLimits, 'maxRecords' | 'maxBytes'>,
): { start: number; end: number }[] {
  const batches: { start: number; end: number }[] = [];
  let start = 0;
  let bytes = 0;
  sizes.forEach((size, i) => {
    if (i > start && (i - start >= limits.maxRecords || bytes + size > limits.maxBytes)) {
      batches.push({ start, end: i });
      start = i;
      bytes = 0;
    }
    bytes += size;
  });
  if (sizes.length > start) batches.push({ start, end: sizes.length });
  return batches;
}

export interface FailedRecord {
  index: number;
  code: string;
  message?: string;
}

/** The records of a call's answer that carry an ErrorCode, mapped back to their indices. */
export function failedRecords(
  sent: readonly number[],
  answers: readonly { ErrorCode?: string; ErrorMessage?: string }[] | undefined,
): FailedRecord[] {
  const failed: FailedRecord[] = [];
  sent.forEach((index, i) => {
    const a = answers?.[i];
    if (a?.ErrorCode) failed.push({ index, code: a.ErrorCode, ...(a.ErrorMessage ? { message: a.ErrorMessage } : {}) });
  });
  return failed;
}

/** "3 × ProvisionedThroughputExceededException (Rate exceeded...), 1 × InternalFailure". */
export function describeFailures(failed: readonly FailedRecord[]): string {
  const byCode = new Map<string, { n: number; message?: string }>();
  for (const f of failed) {
    const e = byCode.get(f.code) ?? { n: 0, ...(f.message ? { message: f.message } : {}) };
    e.n++;
    byCode.set(f.code, e);
  }
  return [...byCode].map(([code, e]) => `${e.n} × ${code}${e.message ? ` (${e.message})` : ''}`).join(', ');
}

export function resendDelayMs(resend: number): number {
  return Math.min(RESEND_MAX_MS, RESEND_BASE_MS * 2 ** resend);
}

export interface StreamHeartbeat {
  /** The stage kind that heartbeated it. */
  tag: StageKind;
  batchesDone: number;
  records: number;
  bytes: number;
  resent: number;
  /** Records of batch `batchesDone` still unacknowledged after a partial failure. */
  pending?: number[];
}

/** Reads the stage's records: inline `Records`, or `RecordsFile` lines (empty lines skipped). */
export async function readRecords(
  ctx: StageContext,
  opts: { kinesis: boolean; appendNewline: boolean },
): Promise<StreamRecord[]> {
  const p = ctx.params;
  const defaultKey = typeof p.PartitionKey === 'string' && p.PartitionKey !== '' ? p.PartitionKey : undefined;
  const finish = (data: Buffer, i: number, entry?: Record<string, unknown>): StreamRecord => {
    const out: StreamRecord = {
      data: opts.appendNewline && data[data.length - 1] !== 0x0a ? Buffer.concat([data, Buffer.from('\n')]) : data,
    };
    if (opts.kinesis) {
      // Default key: the record's position, so records spread over the shards and a resent record hashes where it did before.
      out.partitionKey = typeof entry?.PartitionKey === 'string' ? entry.PartitionKey : (defaultKey ?? String(i));
      if (typeof entry?.ExplicitHashKey === 'string') out.explicitHashKey = entry.ExplicitHashKey;
    }
    return out;
  };
  if (typeof p.RecordsFile === 'string') {
    let text: string;
    try {
      text = await readFile(p.RecordsFile, 'utf8');
    } catch (err) {
      throw stageInputFailure(
        `stage ${ctx.stageId}: cannot read RecordsFile ${p.RecordsFile} on this worker: ${(err as Error).message}`,
        err,
      );
    }
    return text
      .split(/\r?\n/)
      .filter((line) => line !== '')
      .map((line, i) => finish(Buffer.from(line, 'utf8'), i));
  }
  if (!Array.isArray(p.Records)) {
    throw stageInputFailure(
      `stage ${ctx.stageId}: Records must be a list of records such as { Data: ... } (received ${JSON.stringify(p.Records)})`,
    );
  }
  return p.Records.map((entry: unknown, i) => {
    if (
      entry === null ||
      typeof entry !== 'object' ||
      Array.isArray(entry) ||
      (entry as Record<string, unknown>).Data === undefined
    ) {
      throw stageInputFailure(
        `stage ${ctx.stageId}: Records[${i}] must be an object with Data (received ${JSON.stringify(entry)})`,
      );
    }
    const e = entry as Record<string, unknown>;
    return finish(dataBytes(e.Data), i, e);
  });
}

export interface StreamApi {
  /** The stage kind (its heartbeat's tag). */
  kind: StageKind;
  service: 'Kinesis' | 'Firehose';
  limits: StreamLimits;
  kinesis: boolean;
  /** Where the records go, for messages. */
  target(params: Record<string, unknown>): string;
  /** One call; the answers are in the order of `records`. */
  put(
    ctx: StageContext,
    records: StreamRecord[],
    signal: AbortSignal | undefined,
  ): Promise<{ ErrorCode?: string; ErrorMessage?: string }[] | undefined>;
}

function failure(
  api: StreamApi,
  target: string,
  failed: FailedRecord[],
  retryable: boolean,
  why: string,
): ApplicationFailure {
  const codes = [...new Set(failed.map((f) => f.code))];
  const details = [
    { service: api.service, target, failedRecords: failed.length, codes, awsMessage: describeFailures(failed) },
  ];
  const message = `${api.service} ${target}: ${failed.length} records ${why}: ${describeFailures(failed)}`;
  return retryable
    ? ApplicationFailure.create({ message, type: ERROR_TYPES.awsTransient, details })
    : ApplicationFailure.create({ message, type: ERROR_TYPES.awsRequest, nonRetryable: true, details });
}

export async function putAll(api: StreamApi, ctx: StageContext): Promise<StageResult> {
  const target = api.target(ctx.params);
  const records = await readRecords(ctx, {
    kinesis: api.kinesis,
    appendNewline: !api.kinesis && ctx.params.AppendNewline !== false,
  });
  records.forEach((r, i) => {
    if (recordBytes(r) > api.limits.maxRecordBytes) {
      throw stageInputFailure(
        `stage ${ctx.stageId}: record ${i} is ${recordBytes(r)} bytes; ${api.service} takes at most ${api.limits.maxRecordBytes} per record. Fix: split it.`,
      );
    }
  });
  const batches = planBatches(records.map(recordBytes), api.limits);
  const p = progress<StreamHeartbeat>(api.kind);
  const hb: StreamHeartbeat = p.prior
    ? { ...p.prior }
    : { tag: api.kind, batchesDone: 0, records: 0, bytes: 0, resent: 0 };
  const resumedAt = hb.batchesDone;
  for (let b = hb.batchesDone; b < batches.length; b++) {
    const batch = batches[b] as { start: number; end: number };
    let pending = hb.pending ?? Array.from({ length: batch.end - batch.start }, (_, i) => batch.start + i);
    for (let resend = 0; ; resend++) {
      p.throwIfCancelled();
      let answers;
      try {
        answers = await api.put(
          ctx,
          pending.map((i) => records[i] as StreamRecord),
          p.signal,
        );
      } catch (err) {
        p.throwIfCancelled();
        throw err;
      }
      const failed = failedRecords(pending, answers);
      const acked = pending.filter((i) => !failed.some((f) => f.index === i));
      hb.records += acked.length;
      hb.bytes += acked.reduce((n, i) => n + (records[i] as StreamRecord).data.length, 0);
      if (failed.length === 0) break;
      hb.pending = pending = failed.map((f) => f.index);
      p.beat({ ...hb });
      const transient = failed.every((f) => isTransientAwsError({ name: f.code }));
      if (!transient) throw failure(api, target, failed, false, 'were refused');
      if (resend >= MAX_RESENDS) throw failure(api, target, failed, true, `still failed after ${MAX_RESENDS} resends`);
      hb.resent += failed.length;
      await p.sleep(resendDelayMs(resend));
    }
    delete hb.pending;
    hb.batchesDone = b + 1;
    p.beat({ ...hb });
  }
  const resumed = resumedAt > 0 ? ` (resumed after batch ${resumedAt})` : '';
  return {
    summary: `put ${hb.records} records (${hb.bytes} bytes) to ${api.service} ${target} in ${batches.length} batches${hb.resent ? `, ${hb.resent} resent after partial failures` : ''}${resumed}`,
    output: {
      target,
      records: hb.records,
      bytes: hb.bytes,
      batches: batches.length,
      resent: hb.resent,
      ...(resumedAt > 0 ? { resumedAfterBatch: resumedAt } : {}),
    },
  };
}
