import { defineKind } from './types';

export const s3Put = defineKind({
  kind: 's3.put',
  api: 'S3 PutObject',
  outputs: ['uri', 'bytes', 'etag', 'versionId'],
  required: [
    { field: 'Bucket', hint: 'the bucket name' },
    { field: 'Key', hint: 'the object key, e.g. raw/{{ ds }}/data.csv' },
  ],
  oneOf: { fields: ['Body', 'BodyFile'], hint: 'Body (inline text) or BodyFile (a file the worker can read)' },
  grants: ({ p, g, s3, str }) => [g(['s3:PutObject'], [s3(str(p, 'Bucket')!, str(p, 'Key'))])],
});

export const s3Wait = defineKind({
  kind: 's3.wait',
  noPool: 'it waits for an object to appear and starts no AWS job',
  api: 'S3 HeadObject / ListObjectsV2',
  outputs: ['uri'],
  required: [{ field: 'Bucket', hint: 'the bucket name' }],
  oneOf: { fields: ['Key', 'Prefix'], hint: 'Key (one object) or Prefix (any object under it)' },
  sensor: true,
  grants: ({ p, g, s3, str }) => {
    const bucket = str(p, 'Bucket')!;
    const key = str(p, 'Key');
    // HeadObject needs s3:GetObject; ListObjectsV2 needs s3:ListBucket, narrowed to the prefix.
    return key
      ? [
          g(['s3:GetObject'], [s3(bucket, key)]),
          g(['s3:ListBucket'], [s3(bucket)], { StringLike: { 's3:prefix': key } }),
        ]
      : [g(['s3:ListBucket'], [s3(bucket)], { StringLike: { 's3:prefix': `${str(p, 'Prefix') ?? ''}*` } })];
  },
});
