/**
 * The CDK app: `npm run cdk:synth` (offline) or `npx aws-cdk deploy --app "npx tsx infra/cdk/app.ts"`.
 * Configured by environment variables (validated here, before anything is synthesized):
 *
 *   SLUICE_PIPELINES          comma-separated pipeline YAML files the workers will run (required)
 *   SLUICE_IMAGE              pinned worker image, <registry>/<repo>:<tag> or …@sha256:<digest> (required)
 *   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE   where the workers connect (required)
 *   SLUICE_TEMPORAL_SECRET    Secrets Manager secret name or ARN with {"apiKey": …} (required)
 *   SLUICE_TEMPORAL_AUTH      apiKey (default) or mtls ({"tlsCert": …, "tlsKey": …})
 *   SLUICE_SUBFLOWS_DIR       folder of <name>.asl.json state machines (default: none)
 *   SLUICE_PAYLOAD_KEY_SECRET encrypted payloads: "create" (a new secret with a generated key) or an existing secret name/ARN
 *   SLUICE_STAGE_EVENTS       off: no EventBridge rules / queue for push completion; stages poll (default on)
 *   SLUICE_OTLP_ENDPOINT      tracing: the OTLP/HTTP collector the workers export to (default: off)
 *   SLUICE_DEPLOYMENT_NAME    the Worker Deployment the workers declare (default: the stack name); the image tag is the build ID
 *   SLUICE_DRAINING_IMAGES    comma-separated earlier images kept running (one task each) until their pinned runs drain
 *   SLUICE_VPC_ID, SLUICE_VPC_AZS, SLUICE_PRIVATE_SUBNET_IDS   an existing VPC (default: a new one)
 *   SLUICE_MIN_TASKS, SLUICE_MAX_TASKS, SLUICE_SHUTDOWN_GRACE_SECONDS, SLUICE_ALARM_EMAIL, SLUICE_STACK_NAME
 *   CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION  set by the CDK CLI; placeholders offline
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { loadPipelineFile } from '../../client/load-pipeline';
import { SluiceWorkersStack } from './stack';

export function buildApp(env: NodeJS.ProcessEnv = process.env, outdir?: string): App {
  const missing = [
    'SLUICE_PIPELINES',
    'SLUICE_IMAGE',
    'TEMPORAL_ADDRESS',
    'TEMPORAL_NAMESPACE',
    'SLUICE_TEMPORAL_SECRET',
  ].filter((v) => !env[v]);
  if (missing.length)
    throw new Error(
      `missing ${missing.join(', ')}. Fix: set them (see infra/cdk/app.ts), e.g. SLUICE_PIPELINES=pipelines/sales.yaml SLUICE_IMAGE=123456789012.dkr.ecr.eu-west-1.amazonaws.com/sluice-worker:1.0.0`,
    );
  const num = (v: string | undefined) => (v ? Number(v) : undefined);
  const subDir = env.SLUICE_SUBFLOWS_DIR;
  const app = new App(outdir ? { outdir } : {});
  const stackName = env.SLUICE_STACK_NAME ?? 'SluiceWorkers';
  new SluiceWorkersStack(app, stackName, {
    env: {
      account: env.CDK_DEFAULT_ACCOUNT ?? '123456789012',
      region: env.CDK_DEFAULT_REGION ?? env.AWS_REGION ?? 'us-east-1',
    },
    pipelines: (env.SLUICE_PIPELINES as string).split(',').map((f) => loadPipelineFile(f.trim())),
    image: env.SLUICE_IMAGE as string,
    temporalAddress: env.TEMPORAL_ADDRESS as string,
    temporalNamespace: env.TEMPORAL_NAMESPACE as string,
    temporalSecret: env.SLUICE_TEMPORAL_SECRET as string,
    ...(env.SLUICE_TEMPORAL_AUTH === 'mtls' ? { temporalAuth: 'mtls' as const } : {}),
    ...(env.SLUICE_TASK_QUEUE ? { taskQueue: env.SLUICE_TASK_QUEUE } : {}),
    // 'create' or an existing secret's name/ARN: encrypted payloads (see the README).
    ...(env.SLUICE_DEPLOYMENT_NAME ? { deploymentName: env.SLUICE_DEPLOYMENT_NAME } : {}),
    ...(env.SLUICE_DRAINING_IMAGES
      ? {
          drainingImages: env.SLUICE_DRAINING_IMAGES.split(',')
            .map((i) => i.trim())
            .filter(Boolean),
        }
      : {}),
    ...(env.SLUICE_PAYLOAD_KEY_SECRET ? { payloadKeySecret: env.SLUICE_PAYLOAD_KEY_SECRET } : {}),
    ...(['off', 'false', '0', 'no'].includes((env.SLUICE_STAGE_EVENTS ?? '').toLowerCase())
      ? { stageEvents: false }
      : {}),
    ...(env.SLUICE_OTLP_ENDPOINT ? { otlpEndpoint: env.SLUICE_OTLP_ENDPOINT } : {}),
    ...(env.SLUICE_VPC_ID
      ? {
          vpc: {
            vpcId: env.SLUICE_VPC_ID,
            availabilityZones: (env.SLUICE_VPC_AZS ?? '').split(','),
            privateSubnetIds: (env.SLUICE_PRIVATE_SUBNET_IDS ?? '').split(','),
          },
        }
      : {}),
    ...(num(env.SLUICE_MIN_TASKS) ? { minTasks: num(env.SLUICE_MIN_TASKS) } : {}),
    ...(num(env.SLUICE_MAX_TASKS) ? { maxTasks: num(env.SLUICE_MAX_TASKS) } : {}),
    ...(num(env.SLUICE_SHUTDOWN_GRACE_SECONDS) ? { shutdownGraceSeconds: num(env.SLUICE_SHUTDOWN_GRACE_SECONDS) } : {}),
    ...(env.SLUICE_ALARM_EMAIL ? { alarmEmail: env.SLUICE_ALARM_EMAIL } : {}),
    ...(subDir
      ? {
          subFlows: readdirSync(subDir)
            .filter((f) => f.endsWith('.asl.json'))
            .map((f) => ({ name: f.replace(/\.asl\.json$/, ''), definitionFile: path.join(subDir, f) })),
        }
      : {}),
  });
  return app;
}

if (require.main === module) {
  try {
    const assembly = buildApp(process.env, process.env.CDK_OUTDIR ?? 'cdk.out').synth();
    console.log(`synthesized ${assembly.stacks.map((s) => s.stackName).join(', ')} to ${assembly.directory}`);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(2);
  }
}
