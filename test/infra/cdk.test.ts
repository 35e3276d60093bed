/**
 * The CDK app, synthesized offline and checked with aws-cdk-lib/assertions: the task role holds
 * exactly what the pipelines' stages call (no wildcard action), the service runs the pinned image
 * with the Temporal secret and a stop timeout matched to the shutdown grace, alarms and dashboard.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { definePipeline } from '../../common/pipeline';
import { buildApp } from '../../infra/cdk/app';
import { stageGrants } from '../../infra/cdk/permissions';
import { SluiceWorkersStack, type SluiceWorkersStackProps } from '../../infra/cdk/stack';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const IMAGE = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/sluice-worker:1.4.0`;
const SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:sluice/temporal-AbCdEf`;

const sales = definePipeline({
  name: 'sales-daily',
  stages: [
    { id: 'land', kind: 's3.put', params: { Bucket: 'lake', Key: 'raw/{{ ds }}/orders.csv', Body: 'x' } },
    { id: 'etl', kind: 'glue.job', dependsOn: ['land'], params: { JobName: 'sales-etl' } },
    {
      id: 'check',
      kind: 'athena.query',
      dependsOn: ['etl'],
      params: {
        QueryString: 'SELECT 1',
        WorkGroup: 'analytics',
        ResultConfiguration: { OutputLocation: 's3://athena-results/sales/' },
      },
    },
    {
      id: 'notify',
      kind: 'sfn.execution',
      dependsOn: ['check'],
      params: { stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:sluice-notify-done` },
    },
  ],
});
const spark = definePipeline({
  name: 'spark-nightly',
  stages: [
    { id: 'arrived', kind: 's3.wait', params: { Bucket: 'lake', Prefix: 'incoming/{{ ds_nodash }}/' } },
    {
      id: 'job',
      kind: 'emr-serverless.job',
      dependsOn: ['arrived'],
      params: {
        applicationId: '00f1abc',
        executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/emr-job`,
        jobDriver: { sparkSubmit: { entryPoint: 's3://code/job.py' } },
      },
    },
  ],
});

function synth(extra: Partial<SluiceWorkersStackProps> = {}): Template {
  const app = new App();
  const stack = new SluiceWorkersStack(app, 'Sluice', {
    env: { account: ACCOUNT, region: REGION },
    pipelines: [sales, spark],
    image: IMAGE,
    temporalAddress: 'prod.a1b2c.tmprl.cloud:7233',
    temporalNamespace: 'prod.a1b2c',
    temporalSecret: SECRET,
    shutdownGraceSeconds: 60,
    subFlows: [
      { name: 'notify-done', definitionFile: path.resolve(__dirname, '../../infra/cdk/subflows/notify-done.asl.json') },
    ],
    ...extra,
  });
  return Template.fromStack(stack);
}

let template: Template;
beforeAll(() => {
  template = synth();
});

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
function statements(t: Template): Statement[] {
  return Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
    (r) => (r as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
}
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

test('no IAM statement grants a wildcard action', () => {
  const all = statements(template);
  expect(all.length).toBeGreaterThan(5);
  for (const s of all) for (const a of actionsOf(s)) expect(a).not.toMatch(/\*/);
});

test('the task role holds exactly the calls of each stage kind, on the resources the params name', () => {
  const taskRole = Object.keys(
    template.findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('Sluice workers') } }),
  )[0] as string;
  const policy = Object.values(
    template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: taskRole }] } }),
  )[0] as { Properties: { PolicyDocument: { Statement: Statement[] } } };
  const got = policy.Properties.PolicyDocument.Statement.map((s) => ({
    actions: actionsOf(s).sort(),
    resource: s.Resource,
    ...(s.Condition ? { condition: s.Condition } : {}),
  }));
  const arn = (svc: string, res: string) => `arn:aws:${svc}:${REGION}:${ACCOUNT}:${res}`;
  expect(got).toEqual(
    expect.arrayContaining([
      { actions: ['s3:PutObject'], resource: 'arn:aws:s3:::lake/raw/*/orders.csv' },
      {
        actions: ['glue:BatchStopJobRun', 'glue:GetJob', 'glue:GetJobRun', 'glue:GetJobRuns', 'glue:StartJobRun'],
        resource: arn('glue', 'job/sales-etl'),
      },
      {
        actions: [
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StartQueryExecution',
          'athena:StopQueryExecution',
        ],
        resource: arn('athena', 'workgroup/analytics'),
      },
      {
        actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
        resource: 'arn:aws:s3:::athena-results/sales/*',
      },
      { actions: ['states:StartExecution'], resource: arn('states', 'stateMachine:sluice-notify-done') },
      {
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resource: arn('states', 'execution:sluice-notify-done:*'),
      },
      {
        actions: ['s3:ListBucket'],
        resource: 'arn:aws:s3:::lake',
        condition: { StringLike: { 's3:prefix': 'incoming/*/*' } },
      },
      {
        actions: ['emr-serverless:CancelJobRun', 'emr-serverless:GetJobRun', 'emr-serverless:StartJobRun'],
        resource: [
          arn('emr-serverless', '/applications/00f1abc'),
          arn('emr-serverless', '/applications/00f1abc/jobruns/*'),
        ],
      },
      // The slots of its default pool: the application's settings and the account's vCPU quota.
      { actions: ['emr-serverless:GetApplication'], resource: arn('emr-serverless', '/applications/00f1abc') },
      { actions: ['servicequotas:GetServiceQuota'], resource: '*' },
      {
        actions: ['iam:PassRole'],
        resource: `arn:aws:iam::${ACCOUNT}:role/emr-job`,
        condition: { StringEquals: { 'iam:PassedToService': 'emr-serverless.amazonaws.com' } },
      },
    ]),
  );
  // Nothing for kinds the pipelines do not use.
  const all = got.flatMap((s) => s.actions);
  expect(
    all.some((a) => /^(lambda|kinesis|firehose|redshift|quicksight|datapipeline|databrew|elasticmapreduce):/.test(a)),
  ).toBe(false);
});

test('every kind maps to named actions; wildcard resources only where AWS has no resource-level permissions', () => {
  const c = { region: REGION, account: ACCOUNT };
  const redshift = stageGrants(
    'p',
    definePipeline({
      name: 'p',
      stages: [
        {
          id: 'q',
          kind: 'redshift.sql',
          params: { Database: 'dev', ClusterIdentifier: 'c1', DbUser: 'etl', Sql: 'select 1' },
        },
      ],
    }).stages[0]!,
    c,
  );
  expect(redshift.find((g) => g.actions.includes('redshift-data:ExecuteStatement'))?.resources).toEqual([
    `arn:aws:redshift:${REGION}:${ACCOUNT}:cluster:c1`,
  ]);
  expect(redshift.find((g) => g.actions.includes('redshift:GetClusterCredentials'))?.resources).toContain(
    `arn:aws:redshift:${REGION}:${ACCOUNT}:dbuser:c1/etl`,
  );
  const lambda = stageGrants(
    'p',
    definePipeline({
      name: 'p',
      stages: [{ id: 'f', kind: 'lambda.invoke', params: { FunctionName: 'enrich', Qualifier: 'live' } }],
    }).stages[0]!,
    c,
  );
  // Invoke on the qualified function; its pool's slots read from the function's concurrency and the account's.
  expect(lambda).toEqual([
    expect.objectContaining({
      actions: ['lambda:InvokeFunction'],
      resources: [`arn:aws:lambda:${REGION}:${ACCOUNT}:function:enrich:live`],
    }),
    expect.objectContaining({
      actions: ['lambda:GetFunctionConcurrency'],
      resources: [`arn:aws:lambda:${REGION}:${ACCOUNT}:function:enrich`],
    }),
    expect.objectContaining({ actions: ['lambda:GetAccountSettings'], resources: ['*'] }),
  ]);
});

test('the EMR cluster lifecycle: start, steps and terminate only on the clusters the pipeline tagged; PassRole to EMR and EC2 only', () => {
  const emrPipeline = definePipeline({
    name: 'spark-cluster',
    stages: [
      {
        id: 'cluster',
        kind: 'emr.cluster',
        params: {
          Name: 'nightly-{{ ds }}',
          ReleaseLabel: 'emr-7.0.0',
          Instances: { MasterInstanceType: 'm5.xlarge', InstanceCount: 1, KeepJobFlowAliveWhenNoSteps: true },
          JobFlowRole: 'EMR_EC2_DefaultRole',
          ServiceRole: `arn:aws:iam::${ACCOUNT}:role/emr-service`,
          Tags: [{ Key: 'team', Value: 'data' }],
        },
      },
      {
        id: 'spark',
        kind: 'emr.step',
        dependsOn: ['cluster'],
        params: {
          JobFlowId: '{{ stages.cluster.output.clusterId }}',
          Steps: [
            { Name: 'etl', HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://code/etl.py'] } },
          ],
        },
      },
      {
        id: 'terminate',
        kind: 'emr.terminate',
        dependsOn: ['spark'],
        trigger: 'all_done',
        params: { ClusterId: '{{ stages.cluster.output.clusterId }}' },
      },
      // A cluster Sluice did not start: that cluster only, no tag condition.
      { id: 'legacy', kind: 'emr.terminate', params: { ClusterId: 'j-2AXXXXXXGAPLF' } },
    ],
  });
  const got = statements(synth({ pipelines: [emrPipeline] }))
    .filter((s) => actionsOf(s).some((a) => /^(elasticmapreduce|iam):/.test(a)))
    .map((s) => ({
      actions: actionsOf(s).sort(),
      resource: s.Resource,
      ...(s.Condition ? { condition: s.Condition } : {}),
    }));
  const cluster = (id: string) => `arn:aws:elasticmapreduce:${REGION}:${ACCOUNT}:cluster/${id}`;
  const own = { StringEquals: { 'elasticmapreduce:ResourceTag/sluice:pipeline': 'spark-cluster' } };
  expect(got).toEqual(
    expect.arrayContaining([
      {
        actions: ['elasticmapreduce:RunJobFlow'],
        resource: '*',
        condition: { StringEquals: { 'elasticmapreduce:RequestTag/sluice:pipeline': 'spark-cluster' } },
      },
      {
        actions: ['elasticmapreduce:AddTags'],
        resource: cluster('*'),
        condition: {
          StringEquals: { 'elasticmapreduce:RequestTag/sluice:pipeline': 'spark-cluster' },
          'ForAllValues:StringLike': { 'aws:TagKeys': ['team', 'sluice:pipeline', 'sluice:stage-key'] },
        },
      },
      { actions: ['elasticmapreduce:ListClusters'], resource: '*' },
      {
        actions: ['elasticmapreduce:DescribeCluster', 'elasticmapreduce:TerminateJobFlows'],
        resource: cluster('*'),
        condition: own,
      },
      {
        actions: [
          'elasticmapreduce:AddJobFlowSteps',
          'elasticmapreduce:CancelSteps',
          'elasticmapreduce:DescribeStep',
          'elasticmapreduce:ListSteps',
        ],
        resource: cluster('*'),
        condition: own,
      },
      {
        actions: ['elasticmapreduce:DescribeCluster', 'elasticmapreduce:TerminateJobFlows'],
        resource: cluster('j-2AXXXXXXGAPLF'),
      },
      {
        actions: ['iam:PassRole'],
        resource: `arn:aws:iam::${ACCOUNT}:role/emr-service`,
        condition: { StringEquals: { 'iam:PassedToService': 'elasticmapreduce.amazonaws.com' } },
      },
      {
        actions: ['iam:PassRole'],
        resource: `arn:aws:iam::${ACCOUNT}:role/EMR_EC2_DefaultRole`,
        condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      },
    ]),
  );
  // Exactly those: a `*` resource only for the two calls without resource-level permissions.
  expect(got).toHaveLength(8);
  for (const s of got.filter((x) => x.resource === '*'))
    expect(s.actions).toEqual(expect.arrayContaining([expect.stringMatching(/RunJobFlow|ListClusters/)]));
});

test('the service runs the pinned image with the Temporal secret, and stops within the shutdown grace', () => {
  template.hasResourceProperties('AWS::ECS::TaskDefinition', {
    ContainerDefinitions: [
      Match.objectLike({
        Image: IMAGE,
        StopTimeout: 75,
        User: '1000:1000',
        Secrets: [{ Name: 'TEMPORAL_API_KEY', ValueFrom: `${SECRET}:apiKey::` }],
        Environment: Match.arrayWith([
          { Name: 'TEMPORAL_ADDRESS', Value: 'prod.a1b2c.tmprl.cloud:7233' },
          { Name: 'SLUICE_SHUTDOWN_GRACE', Value: '60s' },
          { Name: 'SLUICE_HTTP_PORT', Value: '9464' },
          // Worker Versioning: the stack's id is the deployment name, the image tag the build ID.
          { Name: 'SLUICE_DEPLOYMENT_NAME', Value: 'Sluice' },
          { Name: 'SLUICE_BUILD_ID', Value: '1.4.0' },
        ]),
        HealthCheck: Match.objectLike({ Command: Match.arrayWith([Match.stringLikeRegexp('/healthz')]) }),
        LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
      }),
    ],
  });
  // Only the execution role reads the secret (to inject it), never the task role.
  const reads = statements(template).filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
  expect(reads).toHaveLength(1);
  template.hasResourceProperties('AWS::ECS::Service', {
    LaunchType: 'FARGATE',
    DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 100 }),
  });
  template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
    TargetTrackingScalingPolicyConfiguration: Match.objectLike({
      PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
      TargetValue: 60,
    }),
  });
  template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'sluice-notify-done' });
});

test('Worker Versioning: draining builds keep their own one-task service with their image and build ID; bad names are refused', () => {
  const previous = IMAGE.replace(':1.4.0', ':1.3.2');
  const t = synth({ deploymentName: 'sluice-prod', drainingImages: [previous], minTasks: 2 });
  const containers = Object.values(t.findResources('AWS::ECS::TaskDefinition')).map(
    (r) =>
      (
        r as {
          Properties: { ContainerDefinitions: { Image: string; Environment: { Name: string; Value: string }[] }[] };
        }
      ).Properties.ContainerDefinitions[0]!,
  );
  const env = (c: (typeof containers)[number], name: string) => c.Environment.find((e) => e.Name === name)?.Value;
  expect(containers.map((c) => [c.Image, env(c, 'SLUICE_DEPLOYMENT_NAME'), env(c, 'SLUICE_BUILD_ID')])).toEqual([
    [IMAGE, 'sluice-prod', '1.4.0'],
    [previous, 'sluice-prod', '1.3.2'],
  ]);
  const services = Object.values(t.findResources('AWS::ECS::Service')).map(
    (r) => (r as { Properties: { DesiredCount: number } }).Properties.DesiredCount,
  );
  expect(services).toEqual([2, 1]);
  // Only the main service autoscales.
  expect(Object.keys(t.findResources('AWS::ApplicationAutoScaling::ScalableTarget'))).toHaveLength(1);

  const digest = `${IMAGE.replace(':1.4.0', '')}@sha256:${'a'.repeat(64)}`;
  const byDigest = Object.values(synth({ image: digest }).findResources('AWS::ECS::TaskDefinition'))[0] as {
    Properties: { ContainerDefinitions: { Environment: { Name: string; Value: string }[] }[] };
  };
  expect(byDigest.Properties.ContainerDefinitions[0]!.Environment).toContainEqual({
    Name: 'SLUICE_BUILD_ID',
    Value: `sha256:${'a'.repeat(64)}`,
  });
  expect(() => synth({ deploymentName: 'sluice.prod' })).toThrow(/deploymentName .*received "sluice.prod".*Fix/);
  expect(() => synth({ drainingImages: [IMAGE] })).toThrow(/build 1.4.0 appears twice.*Fix/);
  expect(() => synth({ drainingImages: [IMAGE.replace(':1.4.0', ':latest')] })).toThrow(/must be pinned/);
});

test('encrypted payloads: a created key secret (generated, retained) or an existing one, read by the task role, passed as SLUICE_PAYLOAD_KEY_SECRET', () => {
  const created = synth({ payloadKeySecret: 'create' });
  created.hasResource('AWS::SecretsManager::Secret', {
    DeletionPolicy: 'Retain',
    Properties: Match.objectLike({
      Name: 'sluice/Sluice/payload-keys',
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'k1', PasswordLength: 43, ExcludePunctuation: true }),
    }),
  });
  const secretId = Object.keys(created.findResources('AWS::SecretsManager::Secret'))[0]!;
  created.hasResourceProperties('AWS::ECS::TaskDefinition', {
    ContainerDefinitions: [
      Match.objectLike({
        Environment: Match.arrayWith([{ Name: 'SLUICE_PAYLOAD_KEY_SECRET', Value: { Ref: secretId } }]),
        // The keys themselves are not injected into the container's environment.
        Secrets: [{ Name: 'TEMPORAL_API_KEY', ValueFrom: `${SECRET}:apiKey::` }],
      }),
    ],
  });
  const taskRoleId = Object.entries(created.findResources('AWS::IAM::Role')).find(([, r]) =>
    JSON.stringify(r).includes('Sluice workers: the AWS calls'),
  )![0];
  const taskPolicies = Object.values(created.findResources('AWS::IAM::Policy')).filter((p) =>
    JSON.stringify((p as { Properties: { Roles: unknown } }).Properties.Roles).includes(taskRoleId),
  );
  const reads = taskPolicies
    .flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
    )
    .filter((st) => actionsOf(st).includes('secretsmanager:GetSecretValue'));
  expect(reads).toEqual([expect.objectContaining({ Resource: { Ref: secretId } })]);

  const existing = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:sluice/payload-keys-XyZ123`;
  const imported = synth({ payloadKeySecret: existing });
  expect(Object.keys(imported.findResources('AWS::SecretsManager::Secret'))).toEqual([]);
  imported.hasResourceProperties('AWS::ECS::TaskDefinition', {
    ContainerDefinitions: [
      Match.objectLike({ Environment: Match.arrayWith([{ Name: 'SLUICE_PAYLOAD_KEY_SECRET', Value: existing }]) }),
    ],
  });
  expect(
    statements(imported).filter(
      (st) =>
        actionsOf(st).includes('secretsmanager:GetSecretValue') && JSON.stringify(st.Resource).includes('payload-keys'),
    ),
  ).toHaveLength(1);
  // Off by default: no key secret, no variable.
  expect(JSON.stringify(template.toJSON())).not.toContain('SLUICE_PAYLOAD_KEY_SECRET');
});

test('alarms: failed runs, late runs per pipeline, stage failures per kind used, worker tasks, schedule-to-start; and a dashboard', () => {
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
    (a) =>
      (
        a as {
          Properties: {
            AlarmName: string;
            MetricName: string;
            Namespace: string;
            Dimensions?: { Name: string; Value: unknown }[];
          };
        }
      ).Properties,
  );
  const names = alarms.map((a) => a.AlarmName).sort();
  expect(names).toEqual(
    [
      'Sluice-runs-failed',
      'Sluice-sales-daily-run-failed',
      'Sluice-sales-daily-late',
      'Sluice-spark-nightly-run-failed',
      'Sluice-spark-nightly-late',
      'Sluice-stage-failed-athena.query',
      'Sluice-stage-failed-emr-serverless.job',
      'Sluice-stage-failed-glue.job',
      'Sluice-stage-failed-s3.put',
      'Sluice-stage-failed-s3.wait',
      'Sluice-stage-failed-sfn.execution',
      'Sluice-worker-tasks-low',
      'Sluice-schedule-to-start-high',
      'Sluice-stage-events-age',
      'Sluice-stage-events-dead-letters',
    ].sort(),
  );
  const glue = alarms.find((a) => a.AlarmName === 'Sluice-stage-failed-glue.job');
  expect(glue).toMatchObject({
    Namespace: 'Sluice',
    MetricName: 'StageFailed',
    Dimensions: [{ Name: 'StageKind', Value: 'glue.job' }],
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmName: 'Sluice-sales-daily-late',
    MetricName: 'RunSucceeded',
    Period: 86400,
    ComparisonOperator: 'LessThanThreshold',
    TreatMissingData: 'breaching',
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmName: 'Sluice-worker-tasks-low',
    Namespace: 'ECS/ContainerInsights',
    MetricName: 'RunningTaskCount',
  });
  template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
});

test('an unpinned image or a grace time past the Fargate stop timeout is refused with the fix', () => {
  expect(() => synth({ image: 'sluice-worker:latest' })).toThrow(/pinned to a tag or digest.*Fix/);
  expect(() => synth({ image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/sluice-worker` })).toThrow(/pinned/);
  expect(() => synth({ shutdownGraceSeconds: 110 })).toThrow(/at most 105/);
});

test('the app reads pipeline YAML files and the environment; mTLS takes the certificate pair from the secret', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-cdk-'));
  const file = path.join(dir, 'p.yaml');
  writeFileSync(file, 'name: tiny\nstages:\n  - id: etl\n    kind: glue.job\n    params: { JobName: tiny-etl }\n');
  const app = buildApp({
    SLUICE_PIPELINES: file,
    SLUICE_IMAGE: IMAGE,
    TEMPORAL_ADDRESS: 'temporal.internal:7233',
    TEMPORAL_NAMESPACE: 'data',
    SLUICE_TEMPORAL_SECRET: 'sluice/temporal',
    SLUICE_TEMPORAL_AUTH: 'mtls',
    CDK_DEFAULT_ACCOUNT: ACCOUNT,
    CDK_DEFAULT_REGION: REGION,
  });
  const t = Template.fromStack(app.node.findChild('SluiceWorkers') as SluiceWorkersStack);
  t.hasResourceProperties('AWS::ECS::TaskDefinition', {
    ContainerDefinitions: [
      Match.objectLike({
        Secrets: [
          Match.objectLike({ Name: 'TEMPORAL_TLS_CLIENT_CERT_DATA' }),
          Match.objectLike({ Name: 'TEMPORAL_TLS_CLIENT_KEY_DATA' }),
        ],
      }),
    ],
  });
  t.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([Match.objectLike({ Resource: `arn:aws:glue:${REGION}:${ACCOUNT}:job/tiny-etl` })]),
    },
  });
  expect(() => buildApp({})).toThrow(/missing SLUICE_PIPELINES, SLUICE_IMAGE/);
});

describe('push completion (stage events)', () => {
  test('one rule per event type the pipelines wait on, terminal states only, into an encrypted queue with a dead-letter queue', () => {
    // sales + spark use glue.job, athena.query, sfn.execution and emr-serverless.job.
    const rules = template.findResources('AWS::Events::Rule');
    const patterns = Object.values(rules).map(
      (r) => (r as { Properties: { EventPattern: unknown } }).Properties.EventPattern,
    );
    expect(patterns).toHaveLength(4);
    expect(patterns).toEqual(
      expect.arrayContaining([
        {
          source: ['aws.glue'],
          'detail-type': ['Glue Job State Change'],
          // EXPIRED too: terminal in the handler, so in the rule (one state table, kinds/glue-job/kind.ts).
          detail: { state: ['SUCCEEDED', 'FAILED', 'ERROR', 'EXPIRED', 'TIMEOUT', 'STOPPED'] },
        },
        {
          source: ['aws.athena'],
          'detail-type': ['Athena Query State Change'],
          detail: { currentState: ['SUCCEEDED', 'FAILED', 'CANCELLED'] },
        },
        {
          source: ['aws.states'],
          'detail-type': ['Step Functions Execution Status Change'],
          detail: { status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] },
        },
        {
          source: ['aws.emr-serverless'],
          'detail-type': ['EMR Serverless Job Run State Change'],
          detail: { state: ['SUCCESS', 'FAILED', 'CANCELLED'] },
        },
      ]),
    );
    // Crawlers, EMR steps and Redshift are not used: no rule for them.
    expect(JSON.stringify(patterns)).not.toMatch(/Crawler|EMR Step|Redshift/);
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 86_400,
      RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
    });
    template.resourceCountIs('AWS::SQS::Queue', 2);
  });

  test('only the rules may send to the queue, the task role may only consume it, and the worker is told its URL', () => {
    type Statement = { Effect: string; Principal: unknown; Condition?: Record<string, unknown> };
    const statements = Object.values(template.findResources('AWS::SQS::QueuePolicy')).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
    );
    const allows = statements.filter((st) => st.Effect === 'Allow');
    // One allow per rule, each for EventBridge and conditioned on that rule's ARN; the rest deny plain HTTP.
    expect(allows).toHaveLength(4);
    for (const st of allows) {
      expect(st.Principal).toEqual({ Service: 'events.amazonaws.com' });
      expect(st.Condition).toHaveProperty(['ArnEquals', 'aws:SourceArn']);
    }
    expect(statements.filter((st) => st.Effect === 'Deny')).toHaveLength(2);
    const role = Object.values(template.findResources('AWS::IAM::Policy')).map((p) => JSON.stringify(p));
    const sqsActions = role.flatMap((p) => [...p.matchAll(/"(sqs:[A-Za-z]+)"/g)].map((m) => m[1]));
    expect(new Set(sqsActions)).toEqual(
      new Set([
        'sqs:ReceiveMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueUrl',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
      ]),
    );
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: Match.arrayWith([
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: 'SLUICE_EVENTS_QUEUE_URL', Value: Match.anyValue() },
            { Name: 'SLUICE_EVENTS_FALLBACK_POLL', Value: '10m' },
          ]),
        }),
      ]),
    });
  });

  test('alarms on the age of the oldest event and on dead letters', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Namespace: 'AWS/SQS',
      Threshold: 300,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
    });
  });

  test('stageEvents: false (SLUICE_STAGE_EVENTS=off) leaves stages polling: no rule, no queue, no variable', () => {
    const off = synth({ stageEvents: false });
    off.resourceCountIs('AWS::Events::Rule', 0);
    off.resourceCountIs('AWS::SQS::Queue', 0);
    expect(JSON.stringify(off.findResources('AWS::ECS::TaskDefinition'))).not.toContain('SLUICE_EVENTS_QUEUE_URL');
  });
});

test('tracing: otlpEndpoint sets OTEL_EXPORTER_OTLP_ENDPOINT on the task; a malformed one is refused; off by default', () => {
  synth({ otlpEndpoint: 'http://localhost:4318' }).hasResourceProperties('AWS::ECS::TaskDefinition', {
    ContainerDefinitions: [
      Match.objectLike({
        Environment: Match.arrayWith([
          { Name: 'OTEL_EXPORTER_OTLP_ENDPOINT', Value: 'http://localhost:4318' },
          { Name: 'OTEL_SERVICE_NAME', Value: 'sluice-worker' },
        ]),
      }),
    ],
  });
  expect(() => synth({ otlpEndpoint: 'localhost:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT.*"localhost:4318"/);
  const env = synth({}).findResources('AWS::ECS::TaskDefinition');
  expect(JSON.stringify(env)).not.toContain('OTEL_');
});

test('notify: the task role may publish to the topics and buses the pipelines name, and read the webhook secrets, nothing more', () => {
  const topic = `arn:aws:sns:${REGION}:${ACCOUNT}:data-alerts`;
  const bus = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/data`;
  const secret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:slack-hook`;
  const told = definePipeline({
    name: 'told',
    stages: [{ id: 'etl', kind: 'glue.job', params: { JobName: 'told-etl' } }],
    notify: [{ to: topic }, { to: bus, on: ['failed'] }, { to: secret }, { to: 'https://hooks.example.com/x' }],
  });
  const all = statements(synth({ pipelines: [sales, told] }));
  const of = (action: string) => all.filter((s) => actionsOf(s).includes(action));
  expect(of('sns:Publish').map((s) => s.Resource)).toEqual([topic]);
  expect(of('events:PutEvents').map((s) => s.Resource)).toEqual([bus]);
  expect(of('secretsmanager:GetSecretValue').flatMap((s) => s.Resource)).toEqual(
    expect.arrayContaining([secret, `${secret}-??????`]),
  );
  // Without notify: none of them.
  expect(statements(template).filter((s) => actionsOf(s).includes('sns:Publish'))).toEqual([]);
});
