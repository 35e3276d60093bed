import { defineKind } from '../types';

export const s3Wait = defineKind({
  kind: 's3.wait',
  states: { none: 'a sensor: an object exists or not yet' },
  events: { none: 'a sensor polls S3 for the object' },
  usage: { none: 'S3 reports no billed figure for a request' },
  stop: { none: 'a sensor starts nothing' },
  iam: ['s3:GetObject', 's3:ListBucket'],
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
