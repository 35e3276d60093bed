import { defineKind, type ParamProblem } from './types';

/** Problems with a `Records` list of kinesis.put / firehose.put (AWS's record shape: Data, and PartitionKey for Kinesis). */
function recordsProblems(params: Record<string, unknown>, kinesis: boolean): ParamProblem[] {
  const records = params.Records;
  if (records === undefined) return [];
  const shape = kinesis ? '{ Data: ..., PartitionKey: ... }' : '{ Data: ... }';
  if (!Array.isArray(records) || records.length === 0) {
    return [
      {
        field: 'Records',
        received: records,
        problem: 'expected a non-empty list of records',
        fix: `give a list of records such as ${shape}, or use RecordsFile`,
      },
    ];
  }
  const out: ParamProblem[] = [];
  records.forEach((r: unknown, i) => {
    const rec = r !== null && typeof r === 'object' && !Array.isArray(r) ? (r as Record<string, unknown>) : undefined;
    if (rec?.Data === undefined || rec.Data === null) {
      out.push({
        field: `Records[${i}]`,
        received: r,
        problem: 'a record needs Data (a string, or any value sent as JSON)',
        fix: `write it as ${shape}`,
      });
    } else if (kinesis && rec.PartitionKey !== undefined && typeof rec.PartitionKey !== 'string') {
      out.push({
        field: `Records[${i}].PartitionKey`,
        received: rec.PartitionKey,
        problem: 'expected a string',
        fix: 'quote it',
      });
    }
  });
  return out;
}

export const kinesisPut = defineKind({
  kind: 'kinesis.put',
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

export const firehosePut = defineKind({
  kind: 'firehose.put',
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
