/** `s3.wait`: a sensor for a key (HeadObject) or any object under a prefix (ListObjectsV2). */
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { JobHandler } from '../../activities/stage-handler';

function target(params: Record<string, unknown>): { bucket: string; key?: string; prefix?: string; uri: string } {
  const bucket = String(params.Bucket);
  if (typeof params.Key === 'string') return { bucket, key: params.Key, uri: `s3://${bucket}/${params.Key}` };
  const prefix = typeof params.Prefix === 'string' ? params.Prefix : '';
  return { bucket, prefix, uri: `s3://${bucket}/${prefix}*` };
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/**
 * A sensor: "running" until the object (or any object under the prefix) exists. The job id is the
 * S3 URI waited on; nothing is started, so there is nothing to stop.
 */
export const s3Wait: JobHandler = {
  kind: 's3.wait',
  mode: 'job',
  service: 'S3',
  async start(ctx) {
    return target(ctx.params).uri;
  },
  async describe(ctx) {
    const t = target(ctx.params);
    if (t.key !== undefined) {
      try {
        await ctx.clients.s3.send(new HeadObjectCommand({ Bucket: t.bucket, Key: t.key }));
        return { state: 'succeeded', awsState: 'EXISTS' };
      } catch (err) {
        if (isNotFound(err)) return { state: 'running', awsState: 'NOT_FOUND' };
        throw err;
      }
    }
    const out = await ctx.clients.s3.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: t.prefix, MaxKeys: 1 }));
    return (out.KeyCount ?? out.Contents?.length ?? 0) > 0
      ? { state: 'succeeded', awsState: 'EXISTS' }
      : { state: 'running', awsState: 'NOT_FOUND' };
  },
  async collect(ctx) {
    const t = target(ctx.params);
    return { summary: `found ${t.uri}`, output: { uri: t.uri } };
  },
};
