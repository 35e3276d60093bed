import { recordsProblems } from '../../common/stream-records';
import { defineKind } from '../types';

export const firehosePut = defineKind({
  kind: 'firehose.put',
  states: { none: 'PutRecordBatch calls: their answers are the outcome' },
  events: { none: 'calls, nothing to wait for' },
  usage: { none: 'Firehose bills ingested GB monthly, not per call' },
  stop: { none: 'the puts are calls the cancel interrupts between batches' },
  iam: ['firehose:PutRecordBatch'],
  api: 'Firehose PutRecordBatch',
  outputs: ['target', 'records', 'bytes', 'batches', 'resent', 'resumedAfterBatch'],
  required: [{ field: 'DeliveryStreamName', hint: 'the Firehose stream name' }],
  oneOf: {
    fields: ['Records', 'RecordsFile'],
    hint: 'Records (a list of { Data }) or RecordsFile (one record per line, relative to the pipeline file)',
  },
  check: (p) => recordsProblems(p, false),
  grants: ({ p, g, arn, str }) => [
    g(['firehose:PutRecordBatch'], [arn('firehose', `deliverystream/${str(p, 'DeliveryStreamName')!}`)]),
  ],
});
