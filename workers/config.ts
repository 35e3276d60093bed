/**
 * The worker's configuration, read from environment variables and validated before anything
 * connects. The Temporal connection uses the SDK's own conventions (@temporalio/envconfig):
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the
 * TOML profile file (TEMPORAL_CONFIG_FILE); Sluice's own settings are SLUICE_*.
 *
 * Every problem is reported at once, each with the variable, the value received (never a secret's)
 * and the fix; the worker then exits 2 without connecting.
 */
import type { WorkerDeploymentVersion } from '@temporalio/common';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { z } from 'zod';
import { ConfigError, readConnectionConfig, SECRET_VARIABLES, type ConfigIssue } from '../common/connection';
import { durationMs } from '../common/durations';
import type { TemporalSettings } from '../common/env';
import { MIN_FALLBACK_POLL_MS, stageEventSettings } from '../activities/stage-events-config';

export { SECRET_VARIABLES, type ConfigIssue };

export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export interface WorkerConfig {
  settings: TemporalSettings;
  /** Options for NativeConnection.connect: address, API key, TLS/mTLS, gRPC metadata. */
  connection: NativeConnectionOptions;
  maxConcurrentStages: number;
  maxConcurrentWorkflowTasks: number;
  /** Milliseconds running stages get after SIGTERM; the ECS stop timeout must be longer. */
  shutdownGraceMs: number;
  /** Port of the /metrics and /healthz endpoint; undefined: no endpoint (and no SDK metrics). */
  httpPort?: number;
  /** Loopback port the SDK runtime's Prometheus exporter binds to; /metrics serves it with Sluice's. */
  sdkMetricsPort?: number;
  logLevel: LogLevelName;
  /**
   * The Worker Deployment Version this worker declares (SLUICE_DEPLOYMENT_NAME + SLUICE_BUILD_ID);
   * undefined: an unversioned worker. See workflows/versioning.ts for each workflow's behavior.
   */
  deployment?: WorkerDeploymentVersion;
  /** What may be logged about the connection: no secrets. */
  describe: Record<string, unknown>;
}

/** Thrown before connecting when the environment is invalid; the message lists every problem. */
export class WorkerConfigError extends ConfigError {
  constructor(issues: ConfigIssue[]) {
    super(issues, 'the Temporal / Sluice worker configuration');
    this.name = 'WorkerConfigError';
  }
}

const DURATION = /^\d+(\.\d+)?(ms|s|m|h)$/;

const positiveInt = (max: number) =>
  z
    .string()
    .regex(/^[1-9]\d*$/, { message: 'expected a whole number >= 1' })
    .transform(Number)
    .refine((n) => n <= max, { message: `expected at most ${max}` });
const port = z
  .string()
  .regex(/^\d+$/, { message: 'expected a port number' })
  .transform(Number)
  .refine((n) => n >= 1 && n <= 65535, { message: 'expected a port between 1 and 65535' });

/** SLUICE_* variables: name → schema, default and the fix to print. */
const SLUICE_VARS = {
  SLUICE_MAX_CONCURRENT_STAGES: {
    schema: positiveInt(10_000),
    fix: 'set how many stages one worker runs at once, e.g. 100',
  },
  SLUICE_MAX_CONCURRENT_WORKFLOW_TASKS: {
    schema: positiveInt(10_000),
    fix: 'set how many workflow tasks one worker processes at once, e.g. 40',
  },
  SLUICE_SHUTDOWN_GRACE: {
    schema: z.string().regex(DURATION, { message: 'expected a duration such as 30s, 2m or 1h' }),
    fix: 'set a duration such as 30s or 2m (shorter than the ECS stop timeout)',
  },
  SLUICE_HTTP_PORT: {
    schema: port,
    fix: 'set the port of /metrics and /healthz, e.g. 9464, or unset it to serve neither',
  },
  SLUICE_SDK_METRICS_PORT: {
    schema: port,
    fix: 'set a free loopback port for the SDK metrics exporter (default: SLUICE_HTTP_PORT + 1)',
  },
  SLUICE_EVENTS_QUEUE_URL: {
    schema: z.string().regex(/^https?:\/\/\S+$/, { message: 'expected an SQS queue URL' }),
    fix: 'set the URL of the queue the stage-event rule fills (the CDK stack output StageEventsQueueUrl), or unset it to poll',
  },
  SLUICE_EVENTS: {
    schema: z
      .string()
      .transform((s) => s.toLowerCase())
      .pipe(z.enum(['on', 'off', 'true', 'false', '1', '0', 'yes', 'no'], { message: 'expected on or off' })),
    fix: 'set on (wait for state-change events where SLUICE_EVENTS_QUEUE_URL is set) or off (poll)',
  },
  SLUICE_EVENTS_FALLBACK_POLL: {
    schema: z
      .string()
      .regex(DURATION, { message: 'expected a duration such as 10m' })
      .refine((s) => !DURATION.test(s) || durationMs(s) >= MIN_FALLBACK_POLL_MS, {
        message: 'expected at least 1s',
      }),
    fix: 'set how often a stage waiting for an event checks its job anyway, e.g. 10m (at least 1s)',
  },
  SLUICE_LOG_LEVEL: {
    schema: z
      .string()
      .transform((s) => s.toUpperCase())
      .pipe(z.enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` })),
    fix: `set one of ${LOG_LEVELS.join(', ')}`,
  },
  SLUICE_DEPLOYMENT_NAME: {
    // The server names a version `<deployment>.<build id>`: a dot in the name is refused.
    schema: z
      .string()
      .max(255, { message: 'expected at most 255 characters' })
      .regex(/^[^.\s]+$/, { message: 'expected a name without dots or spaces' }),
    fix: 'set the Worker Deployment name, e.g. sluice (the same for every build), together with SLUICE_BUILD_ID',
  },
  SLUICE_BUILD_ID: {
    schema: z
      .string()
      .max(255, { message: 'expected at most 255 characters' })
      .regex(/^\S+$/, { message: 'expected a build ID without spaces' }),
    fix: 'set the build ID, e.g. the image tag 1.4.0, together with SLUICE_DEPLOYMENT_NAME',
  },
} as const;
type SluiceVar = keyof typeof SLUICE_VARS;

function readVar<K extends SluiceVar>(
  env: NodeJS.ProcessEnv,
  name: K,
  issues: ConfigIssue[],
): z.output<(typeof SLUICE_VARS)[K]['schema']> | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const spec = SLUICE_VARS[name];
  const parsed = spec.schema.safeParse(raw.trim());
  if (parsed.success) return parsed.data as z.output<(typeof SLUICE_VARS)[K]['schema']>;
  issues.push({
    variable: name,
    received: raw,
    problem: parsed.error.issues[0]?.message ?? 'invalid value',
    fix: spec.fix,
  });
  return undefined;
}

/**
 * Reads and validates the worker configuration. Throws {@link WorkerConfigError} listing every
 * problem; touches no network.
 */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const issues: ConfigIssue[] = [];
  const sluice: {
    maxConcurrentStages?: number;
    maxConcurrentWorkflowTasks?: number;
    grace?: string;
    httpPort?: number;
    sdkPortRaw?: number;
    logLevel?: LogLevelName;
    eventsQueue?: string;
    deploymentName?: string;
    buildId?: string;
  } = {};
  // The connection (TEMPORAL_*, SLUICE_TASK_QUEUE) is validated as the CLI's is; the worker's own
  // settings join the same list of problems.
  const shared = readConnectionConfig(env, issues, () => {
    sluice.maxConcurrentStages = readVar(env, 'SLUICE_MAX_CONCURRENT_STAGES', issues);
    sluice.maxConcurrentWorkflowTasks = readVar(env, 'SLUICE_MAX_CONCURRENT_WORKFLOW_TASKS', issues);
    sluice.grace = readVar(env, 'SLUICE_SHUTDOWN_GRACE', issues);
    sluice.httpPort = readVar(env, 'SLUICE_HTTP_PORT', issues);
    sluice.sdkPortRaw = readVar(env, 'SLUICE_SDK_METRICS_PORT', issues);
    sluice.logLevel = readVar(env, 'SLUICE_LOG_LEVEL', issues);
    sluice.eventsQueue = readVar(env, 'SLUICE_EVENTS_QUEUE_URL', issues);
    readVar(env, 'SLUICE_EVENTS', issues);
    readVar(env, 'SLUICE_EVENTS_FALLBACK_POLL', issues);
    sluice.deploymentName = readVar(env, 'SLUICE_DEPLOYMENT_NAME', issues);
    sluice.buildId = readVar(env, 'SLUICE_BUILD_ID', issues);
    // Both or neither: a deployment name without a build ID (or the reverse) is a half-done rollout.
    for (const [given, missing] of [
      ['SLUICE_DEPLOYMENT_NAME', 'SLUICE_BUILD_ID'],
      ['SLUICE_BUILD_ID', 'SLUICE_DEPLOYMENT_NAME'],
    ] as const) {
      if (env[given]?.trim() && !env[missing]?.trim())
        issues.push({
          variable: missing,
          received: '(unset)',
          problem: `${given} is set (${JSON.stringify(env[given])}) but ${missing} is not: Worker Versioning needs both`,
          fix: `set ${missing} too, or unset ${given} for an unversioned worker`,
        });
    }
    const { httpPort, sdkPortRaw } = sluice;
    if (httpPort !== undefined && (sdkPortRaw ?? httpPort + 1) === httpPort) {
      issues.push({
        variable: 'SLUICE_SDK_METRICS_PORT',
        received: String(httpPort),
        problem: 'the same port as SLUICE_HTTP_PORT',
        fix: 'choose another free port',
      });
    }
  });
  if (!shared || issues.length) throw new WorkerConfigError(issues);

  const maxConcurrentStages = sluice.maxConcurrentStages ?? 100;
  const maxConcurrentWorkflowTasks = sluice.maxConcurrentWorkflowTasks ?? 40;
  const grace = sluice.grace ?? '30s';
  const httpPort = sluice.httpPort;
  const sdkMetricsPort = httpPort !== undefined ? (sluice.sdkPortRaw ?? httpPort + 1) : undefined;
  const logLevel = sluice.logLevel ?? 'INFO';
  const deployment =
    sluice.deploymentName && sluice.buildId
      ? { deploymentName: sluice.deploymentName.trim(), buildId: sluice.buildId.trim() }
      : undefined;
  const { settings, describe } = shared;
  const connection: NativeConnectionOptions = shared.connection;
  return {
    settings,
    connection,
    maxConcurrentStages,
    maxConcurrentWorkflowTasks,
    shutdownGraceMs: durationMs(grace),
    ...(httpPort !== undefined ? { httpPort, sdkMetricsPort } : {}),
    logLevel,
    ...(deployment ? { deployment } : {}),
    describe: {
      ...describe,
      maxConcurrentStages,
      maxConcurrentWorkflowTasks,
      shutdownGraceMs: durationMs(grace),
      httpPort: httpPort ?? 'off',
      stageEvents: stageEventSettings({}, env).enabled ? 'on' : 'off',
      workerVersion: deployment ? `${deployment.deploymentName}.${deployment.buildId}` : 'unversioned',
    },
  };
}
