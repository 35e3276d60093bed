/** `kinesis.put`: records put in batches, resent when AWS reports some failed (activities/stream-records.ts). */
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { MiB, putAll, type StreamApi, type StreamLimits } from '../../activities/stream-records';
import type { ImmediateHandler } from '../../activities/stage-handler';

/** PutRecords: 500 records, 5 MiB per call, 1 MiB per record. */
export const KINESIS_LIMITS: StreamLimits = { maxRecords: 500, maxBytes: 5 * MiB, maxRecordBytes: MiB };
const kinesisApi: StreamApi = {
  kind: 'kinesis.put',
  service: 'Kinesis',
  limits: KINESIS_LIMITS,
  kinesis: true,
  target: (params) => String(params.StreamName ?? params.StreamARN),
  async put(ctx, records, signal) {
    const { StreamName, StreamARN } = ctx.params;
    const out = await ctx.clients.kinesis.send(
      new PutRecordsCommand({
        ...(typeof StreamName === 'string' ? { StreamName } : {}),
        ...(typeof StreamARN === 'string' ? { StreamARN } : {}),
        Records: records.map((r) => ({
          Data: r.data,
          PartitionKey: r.partitionKey as string,
          ...(r.explicitHashKey ? { ExplicitHashKey: r.explicitHashKey } : {}),
        })),
      }),
      { abortSignal: signal },
    );
    return out.Records;
  },
};

export const kinesisPut: ImmediateHandler = {
  kind: 'kinesis.put',
  mode: 'immediate',
  service: 'Kinesis',
  run: (ctx) => putAll(kinesisApi, ctx),
};
