import { defineKind, type ParamProblem } from '../types';

export const s3Copy = defineKind({
  kind: 's3.copy',
  states: { none: 'CopyObject calls: their answers are the outcome' },
  events: { none: 'calls, nothing to wait for' },
  usage: { none: 'S3 reports no billed figure for a request' },
  stop: { none: 'the copies are calls the cancel interrupts between objects' },
  iam: ['s3:GetObject', 's3:ListBucket', 's3:PutObject'],
  api: 'S3 CopyObject',
  outputs: ['from', 'to', 'objects', 'bytes', 'etag', 'versionId', 'resumedAfter'],
  required: [{ field: 'Bucket', hint: 'the destination bucket' }],
  oneOf: {
    fields: ['CopySource', 'SourcePrefix'],
    hint: 'CopySource (one object, "bucket/key") or SourcePrefix (every object under it)',
  },
  check: (p) => {
    const out: ParamProblem[] = [];
    if (p.CopySource !== undefined) {
      if (p.Key === undefined || p.Key === '')
        out.push({
          field: 'Key',
          received: p.Key,
          problem: 'required to copy one object (CopySource)',
          fix: 'add params.Key: the destination key',
        });
      for (const f of ['SourceBucket', 'Prefix'] as const) {
        if (p[f] !== undefined)
          out.push({
            field: f,
            received: p[f],
            problem: 'only for a prefix copy (SourcePrefix)',
            fix: `remove ${f}, or copy a prefix with SourcePrefix instead of CopySource`,
          });
      }
    } else if (p.SourcePrefix !== undefined) {
      if (typeof p.Prefix !== 'string')
        out.push({
          field: 'Prefix',
          received: p.Prefix,
          problem: 'required to copy a prefix (SourcePrefix)',
          fix: 'add params.Prefix: where the copies go, e.g. curated/{{ ds }}/ ("" for the bucket root)',
        });
      if (p.Key !== undefined)
        out.push({
          field: 'Key',
          received: p.Key,
          problem: 'only for one object (CopySource)',
          fix: "remove Key; a prefix copy keeps each key's part after SourcePrefix, under Prefix",
        });
    }
    return out;
  },
  grants: ({ p, g, s3, str }) => {
    const bucket = str(p, 'Bucket')!;
    const copySource = str(p, 'CopySource');
    if (copySource) {
      const [srcBucket, ...rest] = copySource.replace(/^\//, '').split('/');
      return [
        g(['s3:GetObject'], [s3(srcBucket as string, rest.join('/'))]),
        g(['s3:PutObject'], [s3(bucket, str(p, 'Key'))]),
      ];
    }
    const srcBucket = str(p, 'SourceBucket') ?? bucket;
    const srcPrefix = str(p, 'SourcePrefix') ?? '';
    return [
      g(['s3:ListBucket'], [s3(srcBucket)], { StringLike: { 's3:prefix': `${srcPrefix}*` } }),
      g(['s3:GetObject'], [s3(srcBucket, `${srcPrefix}*`)]),
      g(['s3:PutObject'], [s3(bucket, `${str(p, 'Prefix') ?? ''}*`)]),
    ];
  },
});
