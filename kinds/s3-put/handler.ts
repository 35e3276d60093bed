/** `s3.put`: one idempotent PutObject of inline text (Body) or a file the worker reads (BodyFile). */
import { readFile } from 'node:fs/promises';
import { PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { stageInputFailure } from '../../activities/errors';
import type { ImmediateHandler } from '../../activities/stage-handler';

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
