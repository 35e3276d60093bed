/** The pure parts of the ingest kinds: batching, per-record failures, payloads, copy keys, validation. */
import { ApplicationFailure } from '@temporalio/common';
import {
  clientContextWithKey,
  encodePayload,
  functionErrorOf,
  LAMBDA_KEY_FIELD,
  PAYLOAD_OUTPUT_LIMIT,
  payloadOutput,
} from '../../kinds/lambda-invoke/handler';
import { copySource, destinationKey, prefixCopy } from '../../kinds/s3-copy/handler';
import {
  dataBytes,
  describeFailures,
  failedRecords,
  planBatches,
  recordBytes,
  resendDelayMs,
} from '../../activities/stream-records';
import { FIREHOSE_LIMITS } from '../../kinds/firehose-put/handler';
import { KINESIS_LIMITS } from '../../kinds/kinesis-put/handler';
import { ERROR_TYPES } from '../../common/constants';
import { definePipeline, PipelineValidationError } from '../../common/pipeline';

function problems(stage: Record<string, unknown>): string {
  try {
    definePipeline({ name: 'p', stages: [{ id: 's', ...stage }] as never });
  } catch (err) {
    if (err instanceof PipelineValidationError) return err.message;
    throw err;
  }
  return '';
}

describe('kinesis.put / firehose.put batching', () => {
  test('500 records per call at most', () => {
    expect(planBatches(Array(1201).fill(10), KINESIS_LIMITS)).toEqual([
      { start: 0, end: 500 },
      { start: 500, end: 1000 },
      { start: 1000, end: 1201 },
    ]);
  });

  test('5 MiB per Kinesis call, 4 MiB per Firehose call', () => {
    const mib = 1024 * 1024;
    expect(planBatches(Array(6).fill(mib), KINESIS_LIMITS)).toEqual([
      { start: 0, end: 5 },
      { start: 5, end: 6 },
    ]);
    expect(planBatches(Array(6).fill(mib), FIREHOSE_LIMITS)).toEqual([
      { start: 0, end: 4 },
      { start: 4, end: 6 },
    ]);
    expect(planBatches([3 * mib, 3 * mib, 1], KINESIS_LIMITS)).toEqual([
      { start: 0, end: 1 },
      { start: 1, end: 3 },
    ]);
  });

  test('no records, no calls', () => {
    expect(planBatches([], KINESIS_LIMITS)).toEqual([]);
  });

  test('a Kinesis record counts its partition key; Data objects are sent as JSON, strings as they are', () => {
    expect(recordBytes({ data: Buffer.from('abc'), partitionKey: 'kk' })).toBe(5);
    expect(dataBytes({ a: 1 }).toString()).toBe('{"a":1}');
    expect(dataBytes('a,b').toString()).toBe('a,b');
    expect(dataBytes(42).toString()).toBe('42');
  });

  test('failed records are mapped back to the records sent, with their codes', () => {
    const sent = [10, 11, 12, 13];
    const answers = [
      {},
      { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' },
      {},
      { ErrorCode: 'InternalFailure' },
    ];
    const failed = failedRecords(sent, answers);
    expect(failed).toEqual([
      { index: 11, code: 'ProvisionedThroughputExceededException', message: 'Rate exceeded' },
      { index: 13, code: 'InternalFailure' },
    ]);
    expect(describeFailures(failed)).toBe(
      '1 × ProvisionedThroughputExceededException (Rate exceeded), 1 × InternalFailure',
    );
    expect(failedRecords(sent, undefined)).toEqual([]);
  });

  test('resends back off, within a bound', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(resendDelayMs)).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
  });
});

describe('lambda.invoke', () => {
  test('Payload: a string as is, anything else as JSON, nothing when absent', () => {
    expect(Buffer.from(encodePayload('{"a":1}') as Uint8Array).toString()).toBe('{"a":1}');
    expect(Buffer.from(encodePayload({ a: [1] }) as Uint8Array).toString()).toBe('{"a":[1]}');
    expect(encodePayload(undefined)).toBeUndefined();
  });

  test('the idempotency key travels in the client context, next to the user’s own', () => {
    const decode = (b64: string | undefined) => JSON.parse(Buffer.from(b64 as string, 'base64').toString()) as unknown;
    expect(decode(clientContextWithKey(undefined, 'p/2024-03-01/s/g0'))).toEqual({
      custom: { [LAMBDA_KEY_FIELD]: 'p/2024-03-01/s/g0' },
    });
    const user = Buffer.from(JSON.stringify({ custom: { team: 'data' }, env: { x: 1 } })).toString('base64');
    expect(decode(clientContextWithKey(user, 'k'))).toEqual({
      custom: { team: 'data', [LAMBDA_KEY_FIELD]: 'k' },
      env: { x: 1 },
    });
    expect(clientContextWithKey('not base64 json', 'k')).toBe('not base64 json');
  });

  test('a FunctionError payload gives errorType and errorMessage', () => {
    const bytes = (s: string) => Buffer.from(s);
    expect(functionErrorOf(bytes('{"errorType":"ValueError","errorMessage":"bad","stackTrace":[]}'))).toEqual({
      errorType: 'ValueError',
      errorMessage: 'bad',
    });
    expect(
      functionErrorOf(bytes('{"errorMessage":"2024-03-01T00:00:00Z abc Task timed out after 3.00 seconds"}')),
    ).toEqual({
      errorMessage: '2024-03-01T00:00:00Z abc Task timed out after 3.00 seconds',
    });
    expect(functionErrorOf(bytes('Internal error'))).toEqual({ errorMessage: 'Internal error' });
    expect(functionErrorOf(undefined)).toEqual({ errorMessage: '(no error payload)' });
  });

  test('the answer is parsed when JSON and cut to a small size', () => {
    expect(payloadOutput(Buffer.from('{"rows":3}'))).toEqual({ payload: { rows: 3 }, payloadBytes: 10 });
    expect(payloadOutput(Buffer.from('plain'))).toEqual({ payload: 'plain', payloadBytes: 5 });
    const big = Buffer.from(JSON.stringify({ s: 'x'.repeat(PAYLOAD_OUTPUT_LIMIT) }));
    const out = payloadOutput(big);
    expect(out.payloadTruncated).toBe(true);
    expect((out.payload as string).length).toBe(PAYLOAD_OUTPUT_LIMIT);
    expect(payloadOutput(undefined)).toEqual({ payloadBytes: 0 });
  });
});

describe('s3.copy', () => {
  test('CopySource keeps slashes and encodes the rest', () => {
    expect(copySource('b', 'raw/2024-03-01/a b+c.csv')).toBe('b/raw/2024-03-01/a%20b%2Bc.csv');
  });

  test('a key keeps its part after SourcePrefix, under Prefix', () => {
    expect(destinationKey('raw/2024-03-01/x/y.csv', 'raw/2024-03-01/', 'curated/20240301/')).toBe(
      'curated/20240301/x/y.csv',
    );
    expect(destinationKey('a/b', '', 'copy/')).toBe('copy/a/b');
  });

  test('SourceBucket defaults to Bucket; other fields go to every CopyObject', () => {
    expect(prefixCopy({ Bucket: 'b', SourcePrefix: 'in/', Prefix: 'out/', StorageClass: 'GLACIER' })).toEqual({
      sourceBucket: 'b',
      sourcePrefix: 'in/',
      bucket: 'b',
      prefix: 'out/',
      extra: { StorageClass: 'GLACIER' },
    });
  });

  test('a destination inside the source prefix is refused (the copy would list its own output)', () => {
    let err: unknown;
    try {
      prefixCopy({ Bucket: 'b', SourcePrefix: 'in/', Prefix: 'in/copy/' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe(ERROR_TYPES.stageInput);
    expect((err as ApplicationFailure).message).toContain('is inside the source s3://b/in/');
    expect(() => prefixCopy({ Bucket: 'b', SourceBucket: 'other', SourcePrefix: 'in/', Prefix: 'in/' })).not.toThrow();
  });
});

describe('validation of the ingest kinds before anything starts', () => {
  test('valid stages pass', () => {
    expect(problems({ kind: 's3.copy', params: { Bucket: 'b', Key: 'k', CopySource: 'src/k' } })).toBe('');
    expect(
      problems({ kind: 's3.copy', params: { Bucket: 'b', SourcePrefix: 'in/', Prefix: '', SourceBucket: 'a' } }),
    ).toBe('');
    expect(problems({ kind: 'lambda.invoke', params: { FunctionName: 'f', Payload: { a: 1 } } })).toBe('');
    expect(
      problems({
        kind: 'kinesis.put',
        params: { StreamARN: 'arn:aws:kinesis:us-east-1:1:stream/s', Records: [{ Data: 'x', PartitionKey: 'p' }] },
      }),
    ).toBe('');
    expect(problems({ kind: 'firehose.put', params: { DeliveryStreamName: 'd', RecordsFile: 'lines.jsonl' } })).toBe(
      '',
    );
  });

  test('s3.copy: CopySource needs Key; SourcePrefix needs Prefix and no Key; never both', () => {
    expect(problems({ kind: 's3.copy', params: { Bucket: 'b', CopySource: 'src/k' } })).toContain(
      'params.Key: required to copy one object (CopySource)',
    );
    expect(problems({ kind: 's3.copy', params: { Bucket: 'b', SourcePrefix: 'in/', Key: 'k' } })).toMatch(
      /params\.Prefix: required to copy a prefix[\s\S]*params\.Key: only for one object/,
    );
    expect(
      problems({ kind: 's3.copy', params: { Bucket: 'b', CopySource: 'a/b', SourcePrefix: 'in/', Key: 'k' } }),
    ).toContain('params.CopySource|SourcePrefix: only one of these may be given');
    expect(problems({ kind: 's3.copy', params: { Bucket: 'b', Key: 'k', CopySource: 'a/b', Prefix: 'x/' } })).toContain(
      'params.Prefix: only for a prefix copy',
    );
  });

  test('lambda.invoke: InvocationType is Sluice’s', () => {
    expect(problems({ kind: 'lambda.invoke', params: { FunctionName: 'f', InvocationType: 'Event' } })).toContain(
      'params.InvocationType: set by Sluice (received "Event")',
    );
  });

  test('kinesis.put: exactly one of StreamName / StreamARN, and records with Data', () => {
    expect(problems({ kind: 'kinesis.put', params: { Records: [{ Data: 'x' }] } })).toContain(
      'params.StreamName|StreamARN: kinesis.put needs exactly one of these',
    );
    expect(
      problems({ kind: 'kinesis.put', params: { StreamName: 's', StreamARN: 'a', Records: [{ Data: 'x' }] } }),
    ).toContain('params.StreamName|StreamARN');
    const bad = problems({
      kind: 'kinesis.put',
      params: { StreamName: 's', Records: ['x', { Data: 'y', PartitionKey: 3 }] },
    });
    expect(bad).toContain('params.Records[0]: a record needs Data');
    expect(bad).toContain('params.Records[1].PartitionKey: expected a string');
    expect(problems({ kind: 'kinesis.put', params: { StreamName: 's' } })).toContain(
      'params.Records|RecordsFile: kinesis.put needs one of these',
    );
  });

  test('firehose.put: DeliveryStreamName and a non-empty Records list', () => {
    const text = problems({ kind: 'firehose.put', params: { Records: [] } });
    expect(text).toContain('params.DeliveryStreamName: required by firehose.put (Firehose PutRecordBatch)');
    expect(text).toContain('params.Records: expected a non-empty list of records');
  });
});
