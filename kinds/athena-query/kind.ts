import { defineKind, type Grant } from '../types';

export const athenaQuery = defineKind({
  kind: 'athena.query',
  states: { QUEUED: 'running', RUNNING: 'running', SUCCEEDED: 'succeeded', FAILED: 'failed', CANCELLED: 'stopped' },
  events: [
    {
      source: 'aws.athena',
      detailType: 'Athena Query State Change',
      stateField: 'currentState',
      ids: ['queryExecutionId'],
    },
  ],
  usage: { prices: 'athena', figures: 'GetQueryExecution Statistics.DataScannedInBytes' },
  stop: 'Athena StopQueryExecution',
  iam: [
    'athena:GetQueryExecution',
    'athena:GetQueryResults',
    'athena:StartQueryExecution',
    'athena:StopQueryExecution',
    'glue:GetDatabase',
    'glue:GetPartition',
    'glue:GetPartitions',
    'glue:GetTable',
    's3:AbortMultipartUpload',
    's3:GetBucketLocation',
    's3:GetObject',
    's3:ListBucket',
    's3:PutObject',
  ],
  // Active DML queries are a quota of the account in its Region, shared by every workgroup.
  defaultPool: () => 'athena',
  api: 'Athena StartQueryExecution',
  outputs: [
    'queryExecutionId',
    'rowCount',
    'rowCountComplete',
    'columns',
    'rows',
    'rowsComplete',
    'firstRows',
    'firstValue',
    'resultLocation',
  ],
  required: [{ field: 'QueryString', hint: 'the SQL to run' }],
  reserved: [
    {
      field: 'ClientRequestToken',
      why: 'Sluice derives it from the stage idempotency key so a retry never runs the query twice',
    },
  ],
  resultRows: true,
  grants: ({ p, g, arn, s3, str, pattern, s3Uri }) => {
    const workGroup = str(p, 'WorkGroup') ?? 'primary';
    const out: Grant[] = [
      g(
        [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StopQueryExecution',
        ],
        [arn('athena', `workgroup/${workGroup}`)],
      ),
      // Athena reads the catalog with the caller's permissions; the tables are inside the SQL,
      // so the grant is read-only on the account's catalog.
      g(
        ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
        [arn('glue', 'catalog'), arn('glue', 'database/*'), arn('glue', 'table/*/*')],
      ),
    ];
    const rc = p.ResultConfiguration as { OutputLocation?: string } | undefined;
    const loc = typeof rc?.OutputLocation === 'string' ? s3Uri(pattern(rc.OutputLocation)) : undefined;
    if (loc) {
      out.push(g(['s3:GetBucketLocation', 's3:ListBucket'], [s3(loc.bucket)]));
      out.push(g(['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'], [s3(loc.bucket, `${loc.key}*`)]));
    }
    return out;
  },
});
