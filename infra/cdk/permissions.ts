/**
 * The worker task role's permissions, derived from the pipelines it will run: for each stage, the
 * exact actions its handler calls (activities/kinds/*.ts) on the narrowest resources its params
 * name. A `{{ template }}` in a name becomes `*` in the ARN (e.g. raw/{{ ds }}/x.csv → raw/x/…).
 * No statement has a `*` action; a `*` resource appears only where the API has no resource-level
 * permissions (said at each place).
 */
import { EMR_CLUSTER_TAGS } from '../../common/constants';
import type { PipelineDefinition, StageDefinition } from '../../common/pipeline';
import { widenTemplates } from '../../common/templating';

export interface Grant {
  /** Why: the pipeline, stage and kind it is for. */
  sid: string;
  actions: string[];
  resources: string[];
  conditions?: Record<string, Record<string, string | string[]>>;
}

export interface ArnContext {
  /** Region and account (tokens in a stack, literals in tests). */
  region: string;
  account: string;
  partition?: string;
}

/** A param value with its templates (the date, run params, stage outputs) widened to `*`. */
function pattern(v: unknown): string {
  return widenTemplates(String(v));
}
function str(p: Record<string, unknown>, key: string): string | undefined {
  const v = p[key];
  return typeof v === 'string' && v !== '' ? pattern(v) : undefined;
}

function s3Uri(uri: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return m ? { bucket: m[1] as string, key: m[2] as string } : undefined;
}

/** The id of the emr.cluster stage a param names as exactly `{{ stages.<id>.output.clusterId }}`, if it does. */
function emrClusterStage(v: unknown, stages: readonly StageDefinition[]): string | undefined {
  const m = typeof v === 'string' ? /^\s*\{\{\s*stages\.(.+)\.output\.clusterId\s*\}\}\s*$/.exec(v) : null;
  const id = m?.[1];
  return id !== undefined && stages.some((st) => st.id === id && st.kind === 'emr.cluster') ? id : undefined;
}

/** An IAM role ARN from a role name, a role ARN, or an instance profile (named like its role, as EMR's defaults are). */
function roleArn(v: string, partition: string, account: string): string {
  if (v.startsWith('arn:')) return v.replace(':instance-profile/', ':role/');
  return `arn:${partition}:iam::${account}:role/${v}`;
}

/**
 * The permissions one stage needs. `stages` are the other stages of its pipeline: a cluster id
 * taken from an emr.cluster stage's output is granted as "the clusters tagged with this pipeline".
 */
export function stageGrants(
  pipeline: string,
  stage: StageDefinition,
  c: ArnContext,
  stages: readonly StageDefinition[] = [],
): Grant[] {
  const P = c.partition ?? 'aws';
  const arn = (service: string, resource: string, region = c.region, account = c.account) =>
    `arn:${P}:${service}:${region}:${account}:${resource}`;
  const s3 = (bucket: string, key?: string) => `arn:${P}:s3:::${bucket}${key !== undefined ? `/${key}` : ''}`;
  const p = stage.params;
  const sid = `${pipeline}/${stage.id} (${stage.kind})`;
  const g = (actions: string[], resources: string[], conditions?: Grant['conditions']): Grant => ({
    sid,
    actions,
    resources,
    ...(conditions ? { conditions } : {}),
  });
  /** The clusters started by this pipeline's emr.cluster stages carry its name in a tag. */
  const ownClusters = { StringEquals: { [`elasticmapreduce:ResourceTag/${EMR_CLUSTER_TAGS.pipeline}`]: pipeline } };
  /** Actions on the cluster a param names: that cluster, or the pipeline's own clusters when an emr.cluster stage started it. */
  const onCluster = (actions: string[], v: unknown): Grant =>
    emrClusterStage(v, stages) !== undefined
      ? g(actions, [arn('elasticmapreduce', 'cluster/*')], ownClusters)
      : g(actions, [arn('elasticmapreduce', `cluster/${pattern(v)}`)]);

  switch (stage.kind) {
    case 's3.put':
      return [g(['s3:PutObject'], [s3(str(p, 'Bucket')!, str(p, 'Key'))])];
    case 's3.wait': {
      const bucket = str(p, 'Bucket')!;
      const key = str(p, 'Key');
      // HeadObject needs s3:GetObject; ListObjectsV2 needs s3:ListBucket, narrowed to the prefix.
      return key
        ? [
            g(['s3:GetObject'], [s3(bucket, key)]),
            g(['s3:ListBucket'], [s3(bucket)], { StringLike: { 's3:prefix': key } }),
          ]
        : [g(['s3:ListBucket'], [s3(bucket)], { StringLike: { 's3:prefix': `${str(p, 'Prefix') ?? ''}*` } })];
    }
    case 's3.copy': {
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
    }
    case 'glue.job':
      return [
        g(
          ['glue:StartJobRun', 'glue:GetJobRun', 'glue:GetJobRuns', 'glue:BatchStopJobRun'],
          [arn('glue', `job/${str(p, 'JobName')!}`)],
        ),
      ];
    case 'glue.crawler':
      return [
        g(
          ['glue:StartCrawler', 'glue:GetCrawler', 'glue:StopCrawler', 'glue:ListCrawls'],
          [arn('glue', `crawler/${str(p, 'Name')!}`)],
        ),
      ];
    case 'athena.query': {
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
    }
    case 'databrew.job':
      return [
        g(
          ['databrew:StartJobRun', 'databrew:DescribeJobRun', 'databrew:ListJobRuns', 'databrew:StopJobRun'],
          [arn('databrew', `job/${str(p, 'Name')!}`)],
        ),
      ];
    case 'emr.step':
      return [
        onCluster(
          [
            'elasticmapreduce:AddJobFlowSteps',
            'elasticmapreduce:DescribeStep',
            'elasticmapreduce:ListSteps',
            'elasticmapreduce:CancelSteps',
          ],
          p.JobFlowId,
        ),
      ];
    case 'emr.cluster': {
      const tagKeys = [
        ...(Array.isArray(p.Tags) ? p.Tags : [])
          .map((t: unknown) => (t !== null && typeof t === 'object' ? (t as Record<string, unknown>).Key : undefined))
          .filter((k): k is string => typeof k === 'string')
          .map(pattern),
        EMR_CLUSTER_TAGS.pipeline,
        EMR_CLUSTER_TAGS.stageKey,
      ];
      const requestTag = `elasticmapreduce:RequestTag/${EMR_CLUSTER_TAGS.pipeline}`;
      const passRole = (key: string, service: string): Grant[] => {
        const role = str(p, key);
        return role
          ? [g(['iam:PassRole'], [roleArn(role, P, c.account)], { StringEquals: { 'iam:PassedToService': service } })]
          : [];
      };
      return [
        // RunJobFlow has no resource-level permissions (`*`): it is allowed only with this pipeline's tag.
        g(['elasticmapreduce:RunJobFlow'], ['*'], { StringEquals: { [requestTag]: pipeline } }),
        // Tagging on create needs AddTags too: only the tags this stage sets, with this pipeline's tag.
        g(['elasticmapreduce:AddTags'], [arn('elasticmapreduce', 'cluster/*')], {
          StringEquals: { [requestTag]: pipeline },
          'ForAllValues:StringLike': { 'aws:TagKeys': tagKeys },
        }),
        // ListClusters has no resource-level permissions (`*`); it finds a cluster an earlier attempt started.
        g(['elasticmapreduce:ListClusters'], ['*']),
        g(
          ['elasticmapreduce:DescribeCluster', 'elasticmapreduce:TerminateJobFlows'],
          [arn('elasticmapreduce', 'cluster/*')],
          ownClusters,
        ),
        ...passRole('ServiceRole', 'elasticmapreduce.amazonaws.com'),
        ...passRole('JobFlowRole', 'ec2.amazonaws.com'),
        ...passRole('AutoScalingRole', 'application-autoscaling.amazonaws.com'),
      ];
    }
    case 'emr.terminate':
      return [onCluster(['elasticmapreduce:DescribeCluster', 'elasticmapreduce:TerminateJobFlows'], p.ClusterId)];
    case 'emr-serverless.job': {
      const app = arn('emr-serverless', `/applications/${str(p, 'applicationId')!}`);
      return [
        g(
          ['emr-serverless:StartJobRun', 'emr-serverless:GetJobRun', 'emr-serverless:CancelJobRun'],
          [app, `${app}/jobruns/*`],
        ),
        g(['iam:PassRole'], [str(p, 'executionRoleArn')!], {
          StringEquals: { 'iam:PassedToService': 'emr-serverless.amazonaws.com' },
        }),
      ];
    }
    case 'lambda.invoke': {
      const fn = str(p, 'FunctionName')!;
      const qualifier = str(p, 'Qualifier');
      const base = fn.startsWith('arn:') ? fn : arn('lambda', `function:${fn}`);
      return [g(['lambda:InvokeFunction'], [qualifier ? `${base}:${qualifier}` : base])];
    }
    case 'kinesis.put':
      return [g(['kinesis:PutRecords'], [str(p, 'StreamARN') ?? arn('kinesis', `stream/${str(p, 'StreamName')!}`)])];
    case 'firehose.put':
      return [g(['firehose:PutRecordBatch'], [arn('firehose', `deliverystream/${str(p, 'DeliveryStreamName')!}`)])];
    case 'redshift.sql': {
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
      else if (!cluster)
        out.push(g(['redshift-serverless:GetCredentials'], [arn('redshift-serverless', 'workgroup/*')]));
      return out;
    }
    case 'sfn.execution': {
      const sm = str(p, 'stateMachineArn')!;
      const execs = sm.replace(':stateMachine:', ':execution:') + ':*';
      return [g(['states:StartExecution'], [sm]), g(['states:DescribeExecution', 'states:StopExecution'], [execs])];
    }
    case 'quicksight.refresh': {
      const ds = arn('quicksight', `dataset/${str(p, 'DataSetId')!}`, c.region, str(p, 'AwsAccountId'));
      return [
        g(
          ['quicksight:CreateIngestion', 'quicksight:DescribeIngestion', 'quicksight:CancelIngestion'],
          [ds, `${ds}/ingestion/*`],
        ),
      ];
    }
    case 'datapipeline.activate':
      // AWS Data Pipeline has no resource-level permissions (only tag conditions): `*` resource.
      return [
        g(
          [
            'datapipeline:ActivatePipeline',
            'datapipeline:DeactivatePipeline',
            'datapipeline:DescribePipelines',
            'datapipeline:DescribeObjects',
            'datapipeline:QueryObjects',
            'datapipeline:AddTags',
          ],
          ['*'],
        ),
      ];
    case 'pipeline.wait':
      // Waits through the worker's Temporal client: no AWS call, no grant.
      return [];
    case 'pipeline.run': {
      // A sub-pipeline's run: the grants of its own stages (its definition is embedded when it loads).
      const sub = p.pipeline as PipelineDefinition | undefined;
      if (!sub || typeof sub !== 'object' || !Array.isArray(sub.stages)) return [];
      return sub.stages.flatMap((s) => stageGrants(sub.name, s, c, sub.stages));
    }
  }
}

/** Every stage of every pipeline, merged: one grant per distinct (actions, conditions), resources unioned. */
export function pipelineGrants(pipelines: readonly PipelineDefinition[], c: ArnContext): Grant[] {
  const merged = new Map<string, Grant>();
  for (const pl of pipelines) {
    for (const stage of pl.stages) {
      for (const grant of stageGrants(pl.name, stage, c, pl.stages)) {
        const key = JSON.stringify([[...grant.actions].sort(), grant.conditions ?? null]);
        const cur = merged.get(key);
        if (!cur)
          merged.set(key, { ...grant, actions: [...grant.actions].sort(), resources: [...new Set(grant.resources)] });
        else {
          cur.resources = [...new Set([...cur.resources, ...grant.resources])];
          if (!cur.sid.includes(grant.sid)) cur.sid = `${cur.sid}; ${grant.sid}`;
        }
      }
    }
  }
  return [...merged.values()];
}

/** Kinds used by the pipelines, for the per-kind alarms. */
export function kindsUsed(pipelines: readonly PipelineDefinition[]): string[] {
  return [...new Set(pipelines.flatMap((p) => p.stages.map((s) => s.kind)))].sort();
}
