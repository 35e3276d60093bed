/** `firehose.put`: records put in batches, resent when AWS reports some failed (activities/stream-records.ts). */
import { PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { MiB, putAll, type StreamApi, type StreamLimits } from '../../activities/stream-records';
import type { ImmediateHandler } from '../../activities/stage-handler';

/** PutRecordBatch: 500 records, 4 MiB per call, 1,000 KiB per record. */
export const FIREHOSE_LIMITS: StreamLimits = { maxRecords: 500, maxBytes: 4 * MiB, maxRecordBytes: 1000 * 1024 };
const firehoseApi: StreamApi = {
  kind: 'firehose.put',
  service: 'Firehose',
  limits: FIREHOSE_LIMITS,
  kinesis: false,
  target: (params) => String(params.DeliveryStreamName),
  async put(ctx, records, signal) {
    const out = await ctx.clients.firehose.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: String(ctx.params.DeliveryStreamName),
        Records: records.map((r) => ({ Data: r.data })),
      }),
      { abortSignal: signal },
    );
    return out.RequestResponses;
  },
};

export const firehosePut: ImmediateHandler = {
  kind: 'firehose.put',
  mode: 'immediate',
  service: 'Firehose',
  run: (ctx) => putAll(firehoseApi, ctx),
};
