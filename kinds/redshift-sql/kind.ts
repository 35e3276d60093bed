import { defineKind, type Grant } from '../types';

export const redshiftSql = defineKind({
  kind: 'redshift.sql',
  states: {
    SUBMITTED: 'running',
    PICKED: 'running',
    STARTED: 'running',
    FINISHED: 'succeeded',
    FAILED: 'failed',
    ABORTED: 'stopped',
  },
  events: [
    {
      source: 'aws.redshift-data',
      detailType: 'Redshift Data Statement Status Change',
      stateField: 'state',
      ids: ['statementId'],
    },
  ],
  usage: { none: 'the Data API reports no billed figure for a statement' },
  stop: 'Redshift Data CancelStatement',
  iam: [
    'redshift-data:BatchExecuteStatement',
    'redshift-data:CancelStatement',
    'redshift-data:DescribeStatement',
    'redshift-data:ExecuteStatement',
    'redshift-data:GetStatementResult',
    'redshift-serverless:GetCredentials',
    'redshift:GetClusterCredentials',
    'secretsmanager:GetSecretValue',
  ],
  api: 'Redshift Data ExecuteStatement / BatchExecuteStatement',
  outputs: [
    'statementId',
    'resultStatementId',
    'rowCount',
    'rowCountComplete',
    'columns',
    'rows',
    'rowsComplete',
    'firstRows',
    'firstValue',
  ],
  required: [{ field: 'Database', hint: 'the database name, e.g. dev' }],
  oneOf: {
    fields: ['Sql', 'Sqls'],
    hint: 'Sql (one statement: ExecuteStatement) or Sqls (a list run in one transaction: BatchExecuteStatement)',
  },
  reserved: [
    {
      field: 'ClientToken',
      why: 'Sluice derives it from the stage idempotency key so a retry never runs the SQL twice',
    },
  ],
  check: (p) =>
    (p.ClusterIdentifier === undefined) === (p.WorkgroupName === undefined)
      ? [
          {
            field: 'ClusterIdentifier|WorkgroupName',
            received: p.ClusterIdentifier ?? p.WorkgroupName,
            problem: 'redshift.sql needs exactly one of these',
            fix: 'give ClusterIdentifier (a provisioned cluster, with DbUser or SecretArn) or WorkgroupName (Redshift Serverless, optionally with SecretArn)',
          },
        ]
      : [],
  resultRows: true,
  grants: ({ p, g, arn, str }) => {
    const cluster = str(p, 'ClusterIdentifier');
    const database = str(p, 'Database')!;
    const target = cluster ? arn('redshift', `cluster:${cluster}`) : arn('redshift-serverless', 'workgroup/*');
    const out: Grant[] = [
      g(['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'], [target]),
      // Statement-level calls have no resource-level permissions; Redshift Data only lets a
      // caller see and cancel its own statements.
      g(
        ['redshift-data:DescribeStatement', 'redshift-data:CancelStatement', 'redshift-data:GetStatementResult'],
        ['*'],
      ),
    ];
    const secret = str(p, 'SecretArn');
    const dbUser = str(p, 'DbUser');
    if (secret) out.push(g(['secretsmanager:GetSecretValue'], [secret.endsWith('*') ? secret : `${secret}*`]));
    else if (cluster && dbUser)
      out.push(
        g(
          ['redshift:GetClusterCredentials'],
          [arn('redshift', `dbuser:${cluster}/${dbUser}`), arn('redshift', `dbname:${cluster}/${database}`)],
        ),
      );
    else if (!cluster) out.push(g(['redshift-serverless:GetCredentials'], [arn('redshift-serverless', 'workgroup/*')]));
    return out;
  },
});
