/**
 * Partial failures of Kinesis PutRecords and Firehose PutRecordBatch (fault kind `partial-failure`).
 * moto accepts every record; real AWS may refuse some records of a call (a hot shard, a busy
 * Firehose) and report them per record while the call itself succeeds. Here the first N records of
 * the call are refused with the fault's error code, only the others are forwarded to moto, and the
 * answer merges both in request order — so what a consumer reads (GetRecords, the Firehose S3
 * destination) shows exactly which records were resent.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { AwsError, isObject, type JsonObject, type Moto } from './aws.js';

interface BatchPut {
  target: string;
  recordsKey: string;
  answersKey: string;
  failedCountKey: string;
  defaultCode: string;
  message: (input: JsonObject) => string;
}

/** The batch puts that can fail partially, by service + operation. */
export const BATCH_PUTS: Record<string, BatchPut> = {
  'kinesis PutRecords': {
    target: 'Kinesis_20131202.PutRecords',
    recordsKey: 'Records',
    answersKey: 'Records',
    failedCountKey: 'FailedRecordCount',
    defaultCode: 'ProvisionedThroughputExceededException',
    message: (input) =>
      `Rate exceeded for shard shardId-000000000000 in stream ${String(input.StreamName ?? input.StreamARN)} under account 123456789012.`,
  },
  'firehose PutRecordBatch': {
    target: 'Firehose_20150804.PutRecordBatch',
    recordsKey: 'Records',
    answersKey: 'RequestResponses',
    failedCountKey: 'FailedPutCount',
    defaultCode: 'ServiceUnavailableException',
    message: () => 'Slow down.',
  },
};

export async function partialPut(
  service: string,
  operation: string,
  input: unknown,
  failFirst: number,
  errorCode: string | undefined,
  moto: Moto,
  headers: IncomingHttpHeaders,
): Promise<JsonObject> {
  const put = BATCH_PUTS[`${service} ${operation}`];
  if (put === undefined || !isObject(input) || !Array.isArray(input[put.recordsKey])) {
    throw new AwsError(
      'ValidationException',
      `partial-failure applies to ${Object.keys(BATCH_PUTS).join(' / ')} requests with records`,
    );
  }
  const records = input[put.recordsKey] as unknown[];
  const refused = Math.min(failFirst, records.length);
  const code = errorCode ?? put.defaultCode;
  const failures = Array.from({ length: refused }, () => ({ ErrorCode: code, ErrorMessage: put.message(input) }));
  if (refused === records.length) {
    return {
      [put.failedCountKey]: refused,
      [put.answersKey]: failures,
      ...(service === 'firehose' ? { Encrypted: false } : {}),
    };
  }
  const { status, body } = await moto.json(put.target, { ...input, [put.recordsKey]: records.slice(refused) }, headers);
  if (status !== 200 || !isObject(body) || !Array.isArray(body[put.answersKey])) {
    const type = isObject(body) && typeof body.__type === 'string' ? body.__type : 'InternalFailure';
    const message =
      isObject(body) && typeof body.message === 'string'
        ? body.message
        : isObject(body) && typeof body.Message === 'string'
          ? body.Message
          : `moto answered HTTP ${status}`;
    throw new AwsError(type, message, status >= 400 ? status : 500);
  }
  const accepted = body[put.answersKey] as unknown[];
  const failedByMoto = typeof body[put.failedCountKey] === 'number' ? (body[put.failedCountKey] as number) : 0;
  return { ...body, [put.failedCountKey]: refused + failedByMoto, [put.answersKey]: [...failures, ...accepted] };
}
