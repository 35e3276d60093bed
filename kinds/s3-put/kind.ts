import { defineKind } from '../types';

export const s3Put = defineKind({
  kind: 's3.put',
  states: { none: 'one PutObject call: its answer is the outcome' },
  events: { none: 'one call, nothing to wait for' },
  usage: { none: 'S3 reports no billed figure for a request' },
  stop: { none: 'one call, nothing left running' },
  iam: ['s3:PutObject'],
  api: 'S3 PutObject',
  outputs: ['uri', 'bytes', 'etag', 'versionId'],
  required: [
    { field: 'Bucket', hint: 'the bucket name' },
    { field: 'Key', hint: 'the object key, e.g. raw/{{ ds }}/data.csv' },
  ],
  oneOf: { fields: ['Body', 'BodyFile'], hint: 'Body (inline text) or BodyFile (a file the worker can read)' },
  grants: ({ p, g, s3, str }) => [g(['s3:PutObject'], [s3(str(p, 'Bucket')!, str(p, 'Key'))])],
});
