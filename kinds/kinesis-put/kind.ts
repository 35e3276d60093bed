import { recordsProblems } from '../../common/stream-records';
import { defineKind } from '../types';

export const kinesisPut = defineKind({
  kind: 'kinesis.put',
  states: { none: 'PutRecords calls: their answers are the outcome' },
  events: { none: 'calls, nothing to wait for' },
  usage: { none: 'Kinesis bills shard-hours and payload units, not per call' },
  stop: { none: 'the puts are calls the cancel interrupts between batches' },
  iam: ['kinesis:PutRecords'],
  api: 'Kinesis PutRecords',
  outputs: ['target', 'records', 'bytes', 'batches', 'resent', 'resumedAfterBatch'],
  required: [],
  oneOf: {
    fields: ['Records', 'RecordsFile'],
    hint: 'Records (a list of { Data, PartitionKey }) or RecordsFile (one record per line, relative to the pipeline file)',
  },
  check: (p) => [
    ...((p.StreamName === undefined) === (p.StreamARN === undefined)
      ? [
          {
            field: 'StreamName|StreamARN',
            received: p.StreamName ?? p.StreamARN,
            problem: 'kinesis.put needs exactly one of these',
            fix: 'give StreamName (the stream name) or StreamARN',
          },
        ]
      : []),
    ...recordsProblems(p, true),
  ],
  grants: ({ p, g, arn, str }) => [
    g(['kinesis:PutRecords'], [str(p, 'StreamARN') ?? arn('kinesis', `stream/${str(p, 'StreamName')!}`)]),
  ],
});
