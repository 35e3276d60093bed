/** S3 stages: `s3.put` (one idempotent PutObject) and `s3.wait` (a sensor for a key or prefix). */
import { readFile } from 'node:fs/promises';
import {
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { stageInputFailure } from '../errors';
import type { ImmediateHandler, JobHandler } from '../stage-handler';

export const s3Put: ImmediateHandler = {
  kind: 's3.put',
  mode: 'immediate',
  service: 'S3',
  async run(ctx) {
    const { BodyFile, Body, ...request } = ctx.params as Record<string, unknown> & { BodyFile?: string; Body?: string };
    let body: string | Buffer;
    if (typeof BodyFile === 'string') {
      try {
        body = await readFile(BodyFile);
      } catch (err) {
        throw stageInputFailure(
          `stage ${ctx.stageId}: cannot read BodyFile ${BodyFile} on this worker: ${(err as Error).message}`,
          err,
        );
      }
    } else {
      body = String(Body ?? '');
    }
    const input = { ...request, Body: body } as PutObjectCommandInput;
    const out = await ctx.clients.s3.send(new PutObjectCommand(input));
    const uri = `s3://${input.Bucket}/${input.Key}`;
    return {
      summary: `wrote ${body.length} bytes to ${uri}`,
      output: {
        uri,
        bytes: body.length,
        ...(out.ETag ? { etag: out.ETag } : {}),
        ...(out.VersionId ? { versionId: out.VersionId } : {}),
      },
    };
  },
};

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
  sensor: true,
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
