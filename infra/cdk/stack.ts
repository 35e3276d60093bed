/**
 * SluiceWorkersStack: Sluice's workers on ECS Fargate, with a task role derived from the pipelines
 * they run, the Temporal credentials from Secrets Manager, logs (and so EMF metrics) in CloudWatch,
 * Step Functions sub-flows, alarms and a dashboard.
 */
import { readFileSync } from 'node:fs';
import { CfnOutput, Duration, RemovalPolicy, Stack, Token, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { DEFAULT_TASK_QUEUE } from '../../common/constants';
import { stageEventRules } from '../../common/stage-events';
import type { PipelineDefinition } from '../../common/pipeline';
import { EMF_DIMENSIONS, EMF_METRICS, METRIC_NAMESPACE } from '../../plugin/emf';
import { kindsUsed, pipelineGrants } from './permissions';
import { tracingEndpoint } from '../../common/tracing';

/** The task's tracing variables; a malformed endpoint is refused at synth (TracingConfigError). */
function otlpEnv(endpoint: string | undefined): Record<string, string> {
  if (!endpoint) return {};
  tracingEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
  return { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'sluice-worker' };
}

/** An AWS-native sub-flow: a Step Functions state machine the pipelines start with `sfn.execution`. */
export interface SubFlowProps {
  /** The state machine is named `sluice-<name>`; pipelines refer to it by that ARN. */
  readonly name: string;
  /** Amazon States Language JSON file. */
  readonly definitionFile: string;
  /** What the state machine itself may call (its role starts with nothing). @default none */
  readonly policyStatements?: iam.PolicyStatementProps[];
}

export interface SluiceWorkersStackProps extends StackProps {
  /** The pipelines these workers run: the task role gets exactly what their stages call. */
  readonly pipelines: readonly PipelineDefinition[];
  /**
   * The worker image, pinned: `<registry>/<repository>:<tag>` or `…@sha256:<digest>`. `latest` and
   * untagged images are refused, so a deployment always says which code runs.
   */
  readonly image: string;
  /** Temporal frontend `host:port`, e.g. `my-ns.a1b2c.tmprl.cloud:7233`. */
  readonly temporalAddress: string;
  readonly temporalNamespace: string;
  /**
   * Secrets Manager secret (name or full ARN) with the Temporal credentials as JSON: `{"apiKey": "…"}`
   * for `apiKey` auth, `{"tlsCert": "<PEM>", "tlsKey": "<PEM>"}` for `mtls`.
   */
  readonly temporalSecret: string;
  /** @default 'apiKey' */
  readonly temporalAuth?: 'apiKey' | 'mtls';
  /**
   * Encrypted payloads (SLUICE_PAYLOAD_KEY_SECRET): the Secrets Manager secret with the keys
   * (`keyId:base64key[,…]` or `{"keyId": "base64key"}`), read by the worker at startup with its
   * task role. `'create'`: the stack makes one holding a generated 256-bit key `{"k1": …}`, kept
   * when the stack is deleted (histories need it); a name or ARN: an existing one. @default off
   */
  readonly payloadKeySecret?: string;
  /**
   * Tracing: the OTLP/HTTP collector the workers export traces to (OTEL_EXPORTER_OTLP_ENDPOINT on
   * the task, service name sluice-worker), e.g. `http://localhost:4318` for an ADOT collector
   * sidecar you add to the task. @default off (no OpenTelemetry module is loaded)
   */
  readonly otlpEndpoint?: string;
  /** @default 'sluice' */
  readonly taskQueue?: string;
  /**
   * The Worker Deployment the workers declare (SLUICE_DEPLOYMENT_NAME); each image's tag (or
   * digest) is its build ID (SLUICE_BUILD_ID). No dots. @default the stack's id
   */
  readonly deploymentName?: string;
  /**
   * Earlier builds kept running (one task each, their own service) until their pinned runs drain:
   * a date run finishes on the build it started on, and an ECS rolling update of the main service
   * would stop that build's workers. Remove an image from the list once
   * `temporal worker deployment describe-version` shows it DRAINED. @default none
   */
  readonly drainingImages?: readonly string[];
  /** An existing VPC (its private subnets host the tasks; they need a route to Temporal and AWS APIs). @default a new VPC, 2 AZs, 1 NAT gateway */
  readonly vpc?: { vpcId: string; availabilityZones: string[]; privateSubnetIds: string[] };
  /** @default 1 */
  readonly minTasks?: number;
  /** @default 4 */
  readonly maxTasks?: number;
  /** Scale out above this average CPU. @default 60 */
  readonly targetCpuPercent?: number;
  /** @default 512 (0.5 vCPU) */
  readonly cpu?: number;
  /** @default 1024 */
  readonly memoryMiB?: number;
  /** @default 100 */
  readonly maxConcurrentStages?: number;
  /**
   * How long running stages get after SIGTERM (SLUICE_SHUTDOWN_GRACE). The ECS stop timeout is this
   * plus 15 s, and Fargate allows at most 120 s. @default 90
   */
  readonly shutdownGraceSeconds?: number;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  readonly subFlows?: readonly SubFlowProps[];
  /** Alarm notifications go to this address (an SNS topic is created either way). */
  readonly alarmEmail?: string;
  /** A daily pipeline with no successful run in this many hours raises its "late" alarm. @default 24 */
  readonly lateAfterHours?: number;
  /**
   * Push completion: EventBridge rules for the state-change events of the kinds the pipelines use,
   * to an SQS queue (with a dead-letter queue) the workers consume, so waiting stages are completed
   * from the event instead of polling. Off: stages poll. @default true
   */
  readonly stageEvents?: boolean;
  /** Push completion's fallback status call while an event is awaited (SLUICE_EVENTS_FALLBACK_POLL). @default 10 min */
  readonly stageEventsFallbackPollMinutes?: number;
}

export const HTTP_PORT = 9464;

/** The partition of a literal region, so ARNs read as they will be deployed; undefined for a token. */
function partitionOf(region: string): string | undefined {
  if (Token.isUnresolved(region)) return undefined;
  return region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
}
const STOP_TIMEOUT_MARGIN_S = 15;
const FARGATE_MAX_STOP_TIMEOUT_S = 120;

/** A pinned image reference, or an error saying how to pin it. */
export function checkPinnedImage(image: string): void {
  const digest = /@sha256:[0-9a-f]{64}$/.test(image);
  const tag = /:[\w][\w.-]{0,127}$/.exec(image.split('/').pop() ?? '')?.[0].slice(1);
  if (!digest && (!tag || tag === 'latest')) {
    throw new Error(
      `image must be pinned to a tag or digest (received "${image}"). Fix: push the image with a version tag, e.g. <account>.dkr.ecr.<region>.amazonaws.com/sluice-worker:1.4.0 or …@sha256:<digest>`,
    );
  }
}

/** The build ID of a pinned image: its tag, or its digest. */
export function buildIdOf(image: string): string {
  checkPinnedImage(image);
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1];
  return digest ?? (/:([\w][\w.-]{0,127})$/.exec(image.split('/').pop() ?? '')?.[1] as string);
}

export class SluiceWorkersStack extends Stack {
  readonly service: ecs.FargateService;
  /** The services of `drainingImages`, one task each, by build ID. */
  readonly drainingServices: Record<string, ecs.FargateService> = {};
  readonly taskRole: iam.Role;
  /** The secret with the payload keys, when payloadKeySecret is set. */
  payloadKeySecret?: secretsmanager.ISecret;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly stateMachines: sfn.StateMachine[] = [];
  /** Push completion's queue and dead-letter queue, when stageEvents is on and a pipeline waits on a kind with events. */
  stageEventsQueue?: sqs.Queue;
  stageEventsDeadLetterQueue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: SluiceWorkersStackProps) {
    super(scope, id, props);
    checkPinnedImage(props.image);
    const grace = props.shutdownGraceSeconds ?? 90;
    const stopTimeout = grace + STOP_TIMEOUT_MARGIN_S;
    if (stopTimeout > FARGATE_MAX_STOP_TIMEOUT_S) {
      throw new Error(
        `shutdownGraceSeconds must leave room within Fargate's 120 s stop timeout (received ${grace}). Fix: at most ${FARGATE_MAX_STOP_TIMEOUT_S - STOP_TIMEOUT_MARGIN_S}.`,
      );
    }
    const minTasks = props.minTasks ?? 1;
    const maxTasks = props.maxTasks ?? 4;
    const taskQueue = props.taskQueue ?? DEFAULT_TASK_QUEUE;
    const deploymentName = props.deploymentName ?? id;
    if (!/^[^.\s]{1,255}$/.test(deploymentName)) {
      throw new Error(
        `deploymentName must be 1-255 characters without dots or spaces (received "${deploymentName}"). Fix: e.g. sluice-prod`,
      );
    }
    const buildId = buildIdOf(props.image);
    const draining = (props.drainingImages ?? []).map((image) => ({ image, buildId: buildIdOf(image) }));
    const ids = [buildId, ...draining.map((d) => d.buildId)];
    const dup = ids.find((b, i) => ids.indexOf(b) !== i);
    if (dup) {
      throw new Error(
        `drainingImages must be earlier builds than image, each once (build ${dup} appears twice). Fix: list each earlier image once, not the one being deployed`,
      );
    }

    const vpc = props.vpc
      ? ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
          vpcId: props.vpc.vpcId,
          availabilityZones: props.vpc.availabilityZones,
          privateSubnetIds: props.vpc.privateSubnetIds,
        })
      : new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/sluice/${id}/workers`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    // Task role: what the stages call, nothing else.
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Sluice workers: the AWS calls of the deployed pipelines',
    });
    const grants = pipelineGrants(props.pipelines, {
      region: this.region,
      account: this.account,
      partition: partitionOf(this.region) ?? this.partition,
    });
    grants.forEach((grant) => {
      this.taskRole.addToPolicy(
        new iam.PolicyStatement({
          actions: grant.actions,
          resources: grant.resources,
          ...(grant.conditions ? { conditions: grant.conditions } : {}),
        }),
      );
    });

    for (const sf of props.subFlows ?? []) {
      const sm = new sfn.StateMachine(this, `SubFlow-${sf.name}`, {
        stateMachineName: `sluice-${sf.name}`,
        definitionBody: sfn.DefinitionBody.fromString(readFileSync(sf.definitionFile, 'utf8')),
        tracingEnabled: true,
      });
      for (const st of sf.policyStatements ?? []) sm.addToRolePolicy(new iam.PolicyStatement(st));
      this.stateMachines.push(sm);
    }

    const secret = props.temporalSecret.startsWith('arn:')
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'TemporalSecret', props.temporalSecret)
      : secretsmanager.Secret.fromSecretNameV2(this, 'TemporalSecret', props.temporalSecret);
    const secrets: Record<string, ecs.Secret> =
      (props.temporalAuth ?? 'apiKey') === 'apiKey'
        ? { TEMPORAL_API_KEY: ecs.Secret.fromSecretsManager(secret, 'apiKey') }
        : {
            TEMPORAL_TLS_CLIENT_CERT_DATA: ecs.Secret.fromSecretsManager(secret, 'tlsCert'),
            TEMPORAL_TLS_CLIENT_KEY_DATA: ecs.Secret.fromSecretsManager(secret, 'tlsKey'),
          };

    // The payload keys are fetched by the worker itself (loadPayloadKeys), so the task role reads
    // them; an ECS-injected value would put the keys in the container's environment instead.
    let payloadSecretEnv: Record<string, string> = {};
    if (props.payloadKeySecret) {
      const keys =
        props.payloadKeySecret === 'create'
          ? new secretsmanager.Secret(this, 'PayloadKeys', {
              secretName: `sluice/${id}/payload-keys`,
              description:
                'Sluice payload encryption keys (AES-256-GCM): {"keyId": "base64 32-byte key", …}, the first encrypts',
              // 43 characters of [A-Za-z0-9] read as base64: a 32-byte key (~256 bits of entropy).
              generateSecretString: {
                secretStringTemplate: '{}',
                generateStringKey: 'k1',
                passwordLength: 43,
                excludePunctuation: true,
                includeSpace: false,
              },
              removalPolicy: RemovalPolicy.RETAIN,
            })
          : props.payloadKeySecret.startsWith('arn:')
            ? secretsmanager.Secret.fromSecretCompleteArn(this, 'PayloadKeys', props.payloadKeySecret)
            : secretsmanager.Secret.fromSecretNameV2(this, 'PayloadKeys', props.payloadKeySecret);
      keys.grantRead(this.taskRole);
      this.payloadKeySecret = keys;
      payloadSecretEnv = {
        SLUICE_PAYLOAD_KEY_SECRET: props.payloadKeySecret === 'create' ? keys.secretArn : props.payloadKeySecret,
      };
    }

    // Push completion: one rule per state-change event type the pipelines' kinds wait on, matching
    // terminal states only, into one queue. The queue policy lets only these rules send (the SQS
    // target adds it, conditioned on each rule's ARN); the task role may only consume.
    let stageEventsEnv: Record<string, string> = {};
    const rules = props.stageEvents === false ? [] : stageEventRules(kindsUsed(props.pipelines));
    if (rules.length) {
      const dlq = new sqs.Queue(this, 'StageEventsDLQ', {
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      const queue = new sqs.Queue(this, 'StageEvents', {
        // Events are worth little after a day: the fallback poll has noticed the job by then.
        retentionPeriod: Duration.days(1),
        visibilityTimeout: Duration.seconds(30),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        deadLetterQueue: { queue: dlq, maxReceiveCount: 5 },
      });
      for (const r of rules) {
        new events.Rule(this, `StageEvents-${r.kind}`, {
          description: `Sluice push completion: ${r.detailType} (terminal states) → ${r.kind} stages`,
          eventPattern: {
            source: [r.source],
            detailType: [r.detailType],
            detail: { [r.stateField]: [...r.terminal] },
          },
          targets: [new eventTargets.SqsQueue(queue)],
        });
      }
      queue.grantConsumeMessages(this.taskRole);
      this.stageEventsQueue = queue;
      this.stageEventsDeadLetterQueue = dlq;
      stageEventsEnv = {
        SLUICE_EVENTS_QUEUE_URL: queue.queueUrl,
        SLUICE_EVENTS_FALLBACK_POLL: `${props.stageEventsFallbackPollMinutes ?? 10}m`,
      };
      new CfnOutput(this, 'StageEventsQueueUrl', { value: queue.queueUrl });
    }

    const workerService = (suffix: string, image: string, build: string, desiredCount: number): ecs.FargateService => {
      const taskDef = new ecs.FargateTaskDefinition(this, `Task${suffix}`, {
        cpu: props.cpu ?? 512,
        memoryLimitMiB: props.memoryMiB ?? 1024,
        taskRole: this.taskRole,
        runtimePlatform: {
          cpuArchitecture: ecs.CpuArchitecture.X86_64,
          operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        },
      });
      taskDef.addContainer('worker', {
        image: ecs.ContainerImage.fromRegistry(image),
        logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'worker' }),
        environment: {
          TEMPORAL_ADDRESS: props.temporalAddress,
          TEMPORAL_NAMESPACE: props.temporalNamespace,
          SLUICE_TASK_QUEUE: taskQueue,
          SLUICE_SHUTDOWN_GRACE: `${grace}s`,
          SLUICE_MAX_CONCURRENT_STAGES: String(props.maxConcurrentStages ?? 100),
          SLUICE_HTTP_PORT: String(HTTP_PORT),
          SLUICE_LOG_LEVEL: 'INFO',
          // Worker Versioning: runs are pinned to (or move between) these builds (workflows/versioning.ts).
          SLUICE_DEPLOYMENT_NAME: deploymentName,
          SLUICE_BUILD_ID: build,
          AWS_REGION: this.region,
          ...payloadSecretEnv,
          ...stageEventsEnv,
          ...otlpEnv(props.otlpEndpoint),
        },
        secrets,
        portMappings: [{ containerPort: HTTP_PORT, name: 'metrics' }],
        // SIGTERM → graceful shutdown within the grace time; ECS waits stopTimeout before SIGKILL.
        stopTimeout: Duration.seconds(stopTimeout),
        linuxParameters: new ecs.LinuxParameters(this, `Linux${suffix}`, { initProcessEnabled: true }),
        readonlyRootFilesystem: true,
        user: '1000:1000',
        healthCheck: {
          command: [
            'CMD',
            'node',
            '-e',
            `fetch('http://127.0.0.1:${HTTP_PORT}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
          ],
          interval: Duration.seconds(30),
          timeout: Duration.seconds(5),
          startPeriod: Duration.seconds(30),
          retries: 3,
        },
      });
      // Private ECR images: the execution role may pull from that repository only.
      const ecr = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/.exec(image);
      if (ecr) {
        taskDef.obtainExecutionRole().addToPrincipalPolicy(
          new iam.PolicyStatement({
            actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
            resources: [`arn:${this.partition}:ecr:${ecr[2]}:${ecr[1]}:repository/${ecr[3]}`],
          }),
        );
        // GetAuthorizationToken has no resource-level permissions.
        taskDef
          .obtainExecutionRole()
          .addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
      }

      return new ecs.FargateService(this, `Service${suffix}`, {
        cluster,
        taskDefinition: taskDef,
        desiredCount,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        // Rolling deploys: new tasks start before old ones drain, so stages keep running.
        minHealthyPercent: 100,
        maxHealthyPercent: 200,
        circuitBreaker: { rollback: true },
        enableExecuteCommand: false,
      });
    };
    this.service = workerService('', props.image, buildId, minTasks);
    for (const d of draining) {
      // Construct ids from the build ID: the same build keeps the same service across deploys.
      this.drainingServices[d.buildId] = workerService(
        `-${d.buildId.replace(/[^A-Za-z0-9]/g, '')}`,
        d.image,
        d.buildId,
        1,
      );
    }
    this.service.autoScaleTaskCount({ minCapacity: minTasks, maxCapacity: maxTasks }).scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: props.targetCpuPercent ?? 60,
      scaleInCooldown: Duration.minutes(5),
      scaleOutCooldown: Duration.minutes(1),
    });

    this.monitoring(props, cluster, minTasks);
  }

  private monitoring(props: SluiceWorkersStackProps, cluster: ecs.Cluster, minTasks: number): void {
    const topic = new sns.Topic(this, 'Alarms', { displayName: 'Sluice alarms' });
    if (props.alarmEmail) topic.addSubscription(new subs.EmailSubscription(props.alarmEmail));
    const alarmAction = new cwActions.SnsAction(topic);
    const m = (
      metricName: string,
      dimensionsMap: Record<string, string> = {},
      statistic = 'Sum',
      period = Duration.minutes(5),
    ) => new cloudwatch.Metric({ namespace: METRIC_NAMESPACE, metricName, dimensionsMap, statistic, period });
    const alarm = (id: string, props2: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(this, id, props2);
      a.addAlarmAction(alarmAction);
      this.alarms.push(a);
      return a;
    };
    const atLeastOne = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };

    alarm('RunsFailed', {
      alarmName: `${this.stackName}-runs-failed`,
      alarmDescription: 'A pipeline run failed (any pipeline). See the log group for the run and stage.',
      metric: m(EMF_METRICS.runFailed),
      ...atLeastOne,
    });
    if (this.stageEventsQueue && this.stageEventsDeadLetterQueue) {
      alarm('StageEventsAge', {
        alarmName: `${this.stackName}-stage-events-age`,
        alarmDescription:
          'Stage events wait in the queue for over 5 minutes: no worker consumes them (stages are noticed at the fallback poll meanwhile).',
        metric: this.stageEventsQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1) }),
        threshold: 300,
        evaluationPeriods: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm('StageEventsDeadLetters', {
        alarmName: `${this.stackName}-stage-events-dead-letters`,
        alarmDescription:
          'Stage events the workers could not deliver (Temporal unreachable, malformed bodies) are in the dead-letter queue.',
        metric: this.stageEventsDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        ...atLeastOne,
      });
    }
    const lateHours = props.lateAfterHours ?? 24;
    for (const p of props.pipelines) {
      alarm(`RunsFailed-${p.name}`, {
        alarmName: `${this.stackName}-${p.name}-run-failed`,
        metric: m(EMF_METRICS.runFailed, { [EMF_DIMENSIONS.pipeline]: p.name }),
        ...atLeastOne,
      });
      alarm(`Late-${p.name}`, {
        alarmName: `${this.stackName}-${p.name}-late`,
        alarmDescription: `No successful run of ${p.name} in the last ${lateHours} h: the daily run is late or failing.`,
        metric: m(EMF_METRICS.runSucceeded, { [EMF_DIMENSIONS.pipeline]: p.name }, 'Sum', Duration.hours(lateHours)),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
    for (const kind of kindsUsed(props.pipelines)) {
      alarm(`StageFailed-${kind}`, {
        alarmName: `${this.stackName}-stage-failed-${kind}`,
        alarmDescription: `A ${kind} stage failed.`,
        metric: m(EMF_METRICS.stageFailed, { [EMF_DIMENSIONS.kind]: kind }),
        ...atLeastOne,
      });
    }
    const running = new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: cluster.clusterName, ServiceName: this.service.serviceName },
      statistic: 'Minimum',
      period: Duration.minutes(1),
    });
    alarm('WorkerTasks', {
      alarmName: `${this.stackName}-worker-tasks-low`,
      alarmDescription: `Fewer than ${minTasks} worker task(s) running: stages are not being picked up.`,
      metric: running,
      threshold: minTasks,
      evaluationPeriods: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    const scheduleToStart = m(EMF_METRICS.scheduleToStart, {}, 'p90');
    alarm('ScheduleToStart', {
      alarmName: `${this.stackName}-schedule-to-start-high`,
      alarmDescription:
        'Stages wait over a minute for a worker (p90): add workers or raise SLUICE_MAX_CONCURRENT_STAGES.',
      metric: scheduleToStart,
      threshold: 60_000,
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `${this.stackName}-sluice` });
    const kinds = kindsUsed(props.pipelines);
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Runs',
        left: [
          m(EMF_METRICS.runStarted),
          m(EMF_METRICS.runSucceeded),
          m(EMF_METRICS.runFailed),
          m(EMF_METRICS.runCancelled),
        ],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 12 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Stage failures by kind',
        left: kinds.map((k) => m(EMF_METRICS.stageFailed, { [EMF_DIMENSIONS.kind]: k })),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Stage duration p90 by kind (s)',
        left: kinds.map((k) => m(EMF_METRICS.stageDuration, { [EMF_DIMENSIONS.kind]: k }, 'p90')),
        width: 12,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Worker tasks',
        left: [running],
        right: [this.service.metricCpuUtilization()],
        width: 12,
      }),
      new cloudwatch.GraphWidget({ title: 'Stage schedule-to-start p90 (ms)', left: [scheduleToStart], width: 12 }),
    );
  }
}
