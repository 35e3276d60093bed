/**
 * S3 listings for fan-out (`forEach.s3`). The stage's workflow gets only chunk boundaries
 * (listKeyChunks); each chunk workflow lists its own keys (listKeyRange), so a listing of 10,000
 * keys never travels through one history or one payload.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ERROR_TYPES } from '../common/constants';
import { FAN_OUT_LIMITS, type KeyRange } from '../common/fan-out';
import type { AwsClients } from './aws-clients';
import { awsCall } from './errors';

async function* keysOf(
  clients: AwsClients,
  Bucket: string,
  Prefix: string,
  StartAfter?: string,
): AsyncGenerator<string[], void, void> {
  let ContinuationToken: string | undefined;
  do {
    const out = await awsCall({ service: 'S3', operation: 'ListObjectsV2' }, () =>
      clients.s3.send(
        new ListObjectsV2Command({
          Bucket,
          Prefix,
          ...(ContinuationToken ? { ContinuationToken } : StartAfter ? { StartAfter } : {}),
        }),
      ),
    );
    // Keys ending in "/" are folder markers, not data.
    yield (out.Contents ?? []).map((o) => o.Key ?? '').filter((k) => k !== '' && !k.endsWith('/'));
    ContinuationToken = out.IsTruncated ? out.NextContinuationToken : undefined;
    Context.current().heartbeat();
  } while (ContinuationToken);
}

export function createFanOutActivities(clients: AwsClients) {
  return {
    /**
     * The keys under a prefix, as chunk boundaries of `chunkKeys` keys: what each chunk workflow
     * lists. Reads the whole listing page by page (1,000 keys per call).
     */
    async listKeyChunks(input: {
      Bucket: string;
      Prefix: string;
      chunkKeys: number;
      /** More keys than this is more than one fan-out runs: refused before any item starts. */
      maxKeys?: number;
    }): Promise<KeyRange[]> {
      const ranges: KeyRange[] = [];
      let current: KeyRange = { startAfter: '', lastKey: '', count: 0 };
      let total = 0;
      for await (const keys of keysOf(clients, input.Bucket, input.Prefix)) {
        for (const key of keys) {
          current.lastKey = key;
          current.count++;
          total++;
          if (current.count === input.chunkKeys) {
            ranges.push(current);
            current = { startAfter: key, lastKey: '', count: 0 };
          }
        }
        if (total > (input.maxKeys ?? FAN_OUT_LIMITS.maxItems * FAN_OUT_LIMITS.maxBatch))
          throw ApplicationFailure.create({
            message: `more than ${input.maxKeys ?? FAN_OUT_LIMITS.maxItems * FAN_OUT_LIMITS.maxBatch} keys under s3://${input.Bucket}/${input.Prefix}: more than the ${FAN_OUT_LIMITS.maxItems} items one fan-out runs; use forEach.batch to group them, or a narrower prefix`,
            type: ERROR_TYPES.stageInput,
            nonRetryable: true,
          });
      }
      if (current.count) ranges.push(current);
      return ranges;
    },

    /**
     * One chunk's keys: after `startAfter`, up to and including `lastKey`. The count must be the
     * one the boundaries were made with: keys that appeared or vanished in between would shift the
     * items' indexes (their idempotency keys), so that fails clearly instead.
     */
    async listKeyRange(input: { Bucket: string; Prefix: string; range: KeyRange }): Promise<string[]> {
      const { range } = input;
      const out: string[] = [];
      listing: for await (const keys of keysOf(clients, input.Bucket, input.Prefix, range.startAfter || undefined)) {
        for (const key of keys) {
          if (key > range.lastKey) break listing;
          out.push(key);
        }
      }
      if (out.length !== range.count || out[out.length - 1] !== range.lastKey) {
        throw ApplicationFailure.create({
          message:
            `the keys under s3://${input.Bucket}/${input.Prefix} changed while the fan-out read them ` +
            `(${range.count} keys up to ${range.lastKey} when it started, ${out.length} now); ` +
            'fan out over a prefix that is complete (e.g. after an s3.wait), then rerun',
          type: ERROR_TYPES.stageInput,
          nonRetryable: true,
        });
      }
      return out;
    },
  };
}
