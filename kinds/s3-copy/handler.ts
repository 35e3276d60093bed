/**
 * `s3.copy`: S3 CopyObject of one key (`Bucket`, `Key`, `CopySource`, exactly AWS's request) or of
 * every key under a prefix (`SourceBucket` + `SourcePrefix` → `Bucket` + `Prefix`, listed with
 * ListObjectsV2 and copied key by key, a few at a time).
 *
 * Idempotent by nature: copying a key again gives the same object. For a prefix, progress (the
 * last key of the last finished chunk, and the counts so far) is heartbeated after every chunk, so
 * a retried attempt lists from there (`StartAfter`) instead of recopying what was done; at most
 * the one chunk that was in flight is copied twice.
 */
import {
  CopyObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type CopyObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { StageResult } from '../../common/run-types';
import { stageInputFailure } from '../../activities/errors';
import type { ImmediateHandler, StageContext } from '../../activities/stage-handler';
import { progress, type Progress } from '../../activities/progress';

/** Copies in flight at once; also the granularity of resumption (a failed chunk is redone whole). */
export const COPY_CHUNK = 8;

/** Sluice's own fields for a prefix copy; everything else is passed to each CopyObject. */
const PREFIX_FIELDS = ['SourceBucket', 'SourcePrefix', 'Prefix'] as const;

export interface CopyHeartbeat {
  tag: 's3.copy';
  /** The last source key whose chunk was fully copied; the next attempt lists after it. */
  after: string;
  objects: number;
  bytes: number;
}

/** `CopySource` as S3 wants it: `bucket/key`, URL-encoded, keeping the slashes. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Where a source key lands: its part after `sourcePrefix`, under `prefix`. */
export function destinationKey(sourceKey: string, sourcePrefix: string, prefix: string): string {
  return prefix + sourceKey.slice(sourcePrefix.length);
}

export interface PrefixCopy {
  sourceBucket: string;
  sourcePrefix: string;
  bucket: string;
  prefix: string;
  /** Extra CopyObject fields (StorageClass, MetadataDirective, ...) applied to every copy. */
  extra: Record<string, unknown>;
}

/** Reads the prefix-copy params, refusing a destination inside the source (the copy would list its own output). */
export function prefixCopy(params: Record<string, unknown>): PrefixCopy {
  const bucket = String(params.Bucket);
  const sourceBucket =
    typeof params.SourceBucket === 'string' && params.SourceBucket !== '' ? params.SourceBucket : bucket;
  const sourcePrefix = typeof params.SourcePrefix === 'string' ? params.SourcePrefix : '';
  const prefix = typeof params.Prefix === 'string' ? params.Prefix : '';
  if (sourceBucket === bucket && prefix.startsWith(sourcePrefix)) {
    throw stageInputFailure(
      `s3.copy: the destination s3://${bucket}/${prefix} is inside the source s3://${sourceBucket}/${sourcePrefix} (received Prefix ${JSON.stringify(prefix)}, SourcePrefix ${JSON.stringify(sourcePrefix)}). ` +
        'Fix: copy to another bucket, or to a Prefix outside SourcePrefix.',
    );
  }
  const extra = Object.fromEntries(
    Object.entries(params).filter(([k]) => k !== 'Bucket' && !(PREFIX_FIELDS as readonly string[]).includes(k)),
  );
  return { sourceBucket, sourcePrefix, bucket, prefix, extra };
}

async function copyOne(s3: S3Client, p: Progress<CopyHeartbeat>, input: CopyObjectCommandInput): Promise<void> {
  try {
    await s3.send(new CopyObjectCommand(input), { abortSignal: p.signal });
  } catch (err) {
    p.throwIfCancelled();
    throw err;
  }
}

async function copyPrefix(ctx: StageContext): Promise<StageResult> {
  const spec = prefixCopy(ctx.params);
  const s3 = ctx.clients.s3;
  const p = progress<CopyHeartbeat>('s3.copy');
  const done: CopyHeartbeat = p.prior ? { ...p.prior } : { tag: 's3.copy', after: '', objects: 0, bytes: 0 };
  const resumedAfter = p.prior ? p.prior.objects : 0;
  let token: string | undefined;
  do {
    p.throwIfCancelled();
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: spec.sourceBucket,
        Prefix: spec.sourcePrefix,
        ...(token ? { ContinuationToken: token } : done.after ? { StartAfter: done.after } : {}),
      }),
      { abortSignal: p.signal },
    );
    const objects = (page.Contents ?? []).filter((o): o is typeof o & { Key: string } => typeof o.Key === 'string');
    for (let i = 0; i < objects.length; i += COPY_CHUNK) {
      p.throwIfCancelled();
      const chunk = objects.slice(i, i + COPY_CHUNK);
      // allSettled: never leave copies running behind a failure; the whole chunk is redone on retry.
      const settled = await Promise.allSettled(
        chunk.map((o) =>
          copyOne(s3, p, {
            ...spec.extra,
            Bucket: spec.bucket,
            Key: destinationKey(o.Key, spec.sourcePrefix, spec.prefix),
            CopySource: copySource(spec.sourceBucket, o.Key),
          }),
        ),
      );
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      done.after = chunk[chunk.length - 1]?.Key ?? done.after;
      done.objects += chunk.length;
      done.bytes += chunk.reduce((n, o) => n + (o.Size ?? 0), 0);
      p.beat({ ...done });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const from = `s3://${spec.sourceBucket}/${spec.sourcePrefix}`;
  const to = `s3://${spec.bucket}/${spec.prefix}`;
  return {
    summary: `copied ${done.objects} objects (${done.bytes} bytes) from ${from} to ${to}${resumedAfter ? ` (resumed after ${resumedAfter})` : ''}`,
    output: { from, to, objects: done.objects, bytes: done.bytes, ...(resumedAfter ? { resumedAfter } : {}) },
  };
}

async function copyKey(ctx: StageContext): Promise<StageResult> {
  const input = ctx.params as unknown as CopyObjectCommandInput;
  const out = await ctx.clients.s3.send(new CopyObjectCommand(input));
  // CopyObject does not say how big the object is; the copy itself does.
  const head = await ctx.clients.s3.send(
    new HeadObjectCommand({
      Bucket: input.Bucket,
      Key: input.Key,
      ...(out.VersionId ? { VersionId: out.VersionId } : {}),
    }),
  );
  const uri = `s3://${input.Bucket}/${input.Key}`;
  const bytes = head.ContentLength ?? 0;
  return {
    summary: `copied ${input.CopySource} to ${uri} (${bytes} bytes)`,
    output: {
      from: input.CopySource,
      to: uri,
      objects: 1,
      bytes,
      ...(out.CopyObjectResult?.ETag ? { etag: out.CopyObjectResult.ETag } : {}),
      ...(out.VersionId ? { versionId: out.VersionId } : {}),
    },
  };
}

export const s3Copy: ImmediateHandler = {
  kind: 's3.copy',
  mode: 'immediate',
  service: 'S3',
  async run(ctx) {
    return ctx.params.SourcePrefix !== undefined ? copyPrefix(ctx) : copyKey(ctx);
  },
};
