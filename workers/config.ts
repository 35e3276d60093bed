/**
 * The worker's configuration, read from environment variables and validated before anything
 * connects. The Temporal connection uses the SDK's own conventions (@temporalio/envconfig):
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the
 * TOML profile file (TEMPORAL_CONFIG_FILE); Sluice's own settings are SLUICE_*.
 *
 * Every problem is reported at once, each with the variable, the value received (never a secret's)
 * and the fix; the worker then exits 2 without connecting.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from '../common/constants';
import { durationMs } from '../common/durations';
import type { TemporalSettings } from '../common/env';

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
  /** What may be logged about the connection: no secrets. */
  describe: Record<string, unknown>;
}

/** One thing wrong with the environment, said so an operator can fix it. */
export interface ConfigIssue {
  variable: string;
  /** The value received; omitted for secrets. */
  received?: string;
  problem: string;
  fix: string;
}

/** Thrown before connecting when the environment is invalid; the message lists every problem. */
export class WorkerConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(
      `the Temporal / Sluice configuration in the environment is invalid (${issues.length === 1 ? '1 problem' : `${issues.length} problems`}):\n` +
        issues
          .map((i) => `  - ${i.variable}: ${i.problem}${'received' in i ? ` (received ${JSON.stringify(i.received)})` : ''}.\n    Fix: ${i.fix}`)
          .join('\n'),
    );
    this.name = 'WorkerConfigError';
  }
}

/** Variables whose values are never echoed in messages or logs. */
export const SECRET_VARIABLES: readonly string[] = ['TEMPORAL_API_KEY', 'TEMPORAL_TLS_CLIENT_KEY_DATA', 'TEMPORAL_CODEC_AUTH'];

const DURATION = /^\d+(\.\d+)?(ms|s|m|h)$/;
const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

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
  SLUICE_TASK_QUEUE: { schema: z.string().regex(/^[^\s]{1,200}$/, { message: 'expected a task queue name without spaces' }), fix: `set a task queue name, e.g. ${DEFAULT_TASK_QUEUE}` },
  SLUICE_MAX_CONCURRENT_STAGES: { schema: positiveInt(10_000), fix: 'set how many stages one worker runs at once, e.g. 100' },
  SLUICE_MAX_CONCURRENT_WORKFLOW_TASKS: { schema: positiveInt(10_000), fix: 'set how many workflow tasks one worker processes at once, e.g. 40' },
  SLUICE_SHUTDOWN_GRACE: { schema: z.string().regex(DURATION, { message: 'expected a duration such as 30s, 2m or 1h' }), fix: 'set a duration such as 30s or 2m (shorter than the ECS stop timeout)' },
  SLUICE_HTTP_PORT: { schema: port, fix: 'set the port of /metrics and /healthz, e.g. 9464, or unset it to serve neither' },
  SLUICE_SDK_METRICS_PORT: { schema: port, fix: 'set a free loopback port for the SDK metrics exporter (default: SLUICE_HTTP_PORT + 1)' },
  SLUICE_LOG_LEVEL: {
    schema: z.string().transform((s) => s.toUpperCase()).pipe(z.enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` })),
    fix: `set one of ${LOG_LEVELS.join(', ')}`,
  },
} as const;
type SluiceVar = keyof typeof SLUICE_VARS;

function readVar<K extends SluiceVar>(env: NodeJS.ProcessEnv, name: K, issues: ConfigIssue[]): z.output<(typeof SLUICE_VARS)[K]['schema']> | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const spec = SLUICE_VARS[name];
  const parsed = spec.schema.safeParse(raw.trim());
  if (parsed.success) return parsed.data as z.output<(typeof SLUICE_VARS)[K]['schema']>;
  issues.push({ variable: name, received: raw, problem: parsed.error.issues[0]?.message ?? 'invalid value', fix: spec.fix });
  return undefined;
}

/** A TLS file variable (…_PATH) must name a readable file holding PEM; …_DATA must hold PEM. */
function checkPem(env: NodeJS.ProcessEnv, base: string, what: string, issues: ConfigIssue[]): void {
  const pathVar = `${base}_PATH`;
  const dataVar = `${base}_DATA`;
  const p = env[pathVar];
  const d = env[dataVar];
  const secret = SECRET_VARIABLES.includes(dataVar);
  if (p && d) {
    issues.push({ variable: `${pathVar} / ${dataVar}`, problem: 'both are set', fix: `keep one: ${pathVar} (a file) or ${dataVar} (the PEM text)` });
    return;
  }
  if (p) {
    if (!existsSync(p)) {
      issues.push({ variable: pathVar, received: p, problem: `no such file (the ${what})`, fix: `give the path of the ${what} PEM file, or set ${dataVar} to its contents` });
      return;
    }
    const text = readFileSync(p, 'utf8');
    if (!text.includes('-----BEGIN')) issues.push({ variable: pathVar, received: p, problem: `the file is not PEM (no "-----BEGIN" line)`, fix: `point it at the ${what} in PEM format` });
  } else if (d !== undefined && d !== '' && !d.includes('-----BEGIN')) {
    issues.push({ variable: dataVar, ...(secret ? {} : { received: d.slice(0, 40) }), problem: 'not PEM text (no "-----BEGIN" line)', fix: `set it to the ${what} in PEM format (or use ${pathVar})` });
  }
}

const BOOL = /^(1|0|true|false)$/;

/** envconfig reads PEM as Uint8Array; the native connection wants Buffers. */
function asBuffers(tls: NativeConnectionOptions['tls']): NativeConnectionOptions['tls'] {
  if (!tls || tls === true) return tls;
  const buf = (b: Uint8Array | undefined) => (b ? Buffer.from(b) : undefined);
  const ca = buf(tls.serverRootCACertificate);
  const crt = buf(tls.clientCertPair?.crt);
  const key = buf(tls.clientCertPair?.key);
  return {
    ...(tls.serverNameOverride ? { serverNameOverride: tls.serverNameOverride } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
  };
}

/**
 * Reads and validates the worker configuration. Throws {@link WorkerConfigError} listing every
 * problem; touches no network.
 */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const issues: ConfigIssue[] = [];

  // The SDK's own variables, checked before envconfig reads them so the message names the variable.
  const address = env.TEMPORAL_ADDRESS;
  if (address !== undefined && !HOST_PORT.test(address)) {
    issues.push({ variable: 'TEMPORAL_ADDRESS', received: address, problem: 'expected host:port', fix: 'set the frontend address, e.g. 127.0.0.1:7233 or my-ns.a1b2c.tmprl.cloud:7233 (no scheme)' });
  }
  if (env.TEMPORAL_NAMESPACE !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(env.TEMPORAL_NAMESPACE)) {
    issues.push({ variable: 'TEMPORAL_NAMESPACE', received: env.TEMPORAL_NAMESPACE, problem: 'not a namespace name', fix: 'set the namespace, e.g. default or my-ns.a1b2c' });
  }
  if (env.TEMPORAL_API_KEY !== undefined && (env.TEMPORAL_API_KEY.trim() === '' || /\s/.test(env.TEMPORAL_API_KEY.trim()))) {
    issues.push({ variable: 'TEMPORAL_API_KEY', problem: 'empty or contains whitespace (value not shown: it is a secret)', fix: 'set the API key exactly as Temporal Cloud issued it, or unset the variable' });
  }
  for (const v of ['TEMPORAL_TLS', 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION']) {
    const b = env[v];
    if (b !== undefined && !BOOL.test(b)) issues.push({ variable: v, received: b, problem: 'expected true or false', fix: `set ${v}=true or ${v}=false` });
  }
  checkPem(env, 'TEMPORAL_TLS_CLIENT_CERT', 'client certificate', issues);
  checkPem(env, 'TEMPORAL_TLS_CLIENT_KEY', 'client private key', issues);
  checkPem(env, 'TEMPORAL_TLS_SERVER_CA_CERT', 'server CA certificate', issues);
  const hasCert = Boolean(env.TEMPORAL_TLS_CLIENT_CERT_PATH || env.TEMPORAL_TLS_CLIENT_CERT_DATA);
  const hasKey = Boolean(env.TEMPORAL_TLS_CLIENT_KEY_PATH || env.TEMPORAL_TLS_CLIENT_KEY_DATA);
  if (hasCert !== hasKey) {
    issues.push({
      variable: hasCert ? 'TEMPORAL_TLS_CLIENT_KEY_PATH' : 'TEMPORAL_TLS_CLIENT_CERT_PATH',
      problem: `mTLS needs both the client certificate and its key; only the ${hasCert ? 'certificate' : 'key'} is set`,
      fix: hasCert ? 'set TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA) to the private key' : 'set TEMPORAL_TLS_CLIENT_CERT_PATH (or _DATA) to the certificate',
    });
  }
  if (env.TEMPORAL_CONFIG_FILE && !existsSync(env.TEMPORAL_CONFIG_FILE)) {
    issues.push({ variable: 'TEMPORAL_CONFIG_FILE', received: env.TEMPORAL_CONFIG_FILE, problem: 'no such file', fix: 'give the path of a temporal.toml profile file, or unset it' });
  }

  const taskQueue = readVar(env, 'SLUICE_TASK_QUEUE', issues) ?? DEFAULT_TASK_QUEUE;
  const maxConcurrentStages = readVar(env, 'SLUICE_MAX_CONCURRENT_STAGES', issues) ?? 100;
  const maxConcurrentWorkflowTasks = readVar(env, 'SLUICE_MAX_CONCURRENT_WORKFLOW_TASKS', issues) ?? 40;
  const grace = readVar(env, 'SLUICE_SHUTDOWN_GRACE', issues) ?? '30s';
  const httpPort = readVar(env, 'SLUICE_HTTP_PORT', issues);
  const sdkPortRaw = readVar(env, 'SLUICE_SDK_METRICS_PORT', issues);
  const logLevel = readVar(env, 'SLUICE_LOG_LEVEL', issues) ?? 'INFO';
  const sdkMetricsPort = httpPort !== undefined ? sdkPortRaw ?? httpPort + 1 : undefined;
  if (httpPort !== undefined && sdkMetricsPort === httpPort) {
    issues.push({ variable: 'SLUICE_SDK_METRICS_PORT', received: String(sdkMetricsPort), problem: 'the same port as SLUICE_HTTP_PORT', fix: 'choose another free port' });
  }

  let profile: ClientConfigProfile = {};
  if (!issues.length) {
    try {
      profile = loadClientConfigProfile({ overrideEnvVars: env as Record<string, string> });
    } catch (err) {
      issues.push({
        variable: env.TEMPORAL_PROFILE ? 'TEMPORAL_PROFILE' : 'TEMPORAL_CONFIG_FILE',
        ...(env.TEMPORAL_PROFILE ? { received: env.TEMPORAL_PROFILE } : {}),
        problem: `the Temporal profile could not be loaded: ${(err as Error).message}`,
        fix: 'fix the temporal.toml file or the profile name, or unset TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE to use the variables alone',
      });
    }
  }
  if (issues.length) throw new WorkerConfigError(issues);

  const { connectionOptions, namespace } = toClientOptions(profile);
  const connection: NativeConnectionOptions = {
    address: connectionOptions.address ?? 'localhost:7233',
    ...(connectionOptions.apiKey !== undefined ? { apiKey: connectionOptions.apiKey } : {}),
    ...(connectionOptions.tls !== undefined ? { tls: asBuffers(connectionOptions.tls) } : {}),
    ...(connectionOptions.metadata ? { metadata: connectionOptions.metadata } : {}),
  };
  const tls = connection.tls;
  const settings: TemporalSettings = {
    address: connection.address as string,
    namespace: namespace ?? 'default',
    taskQueue,
    ...(connection.apiKey ? { apiKey: connection.apiKey } : {}),
  };
  return {
    settings,
    connection,
    maxConcurrentStages,
    maxConcurrentWorkflowTasks,
    shutdownGraceMs: durationMs(grace),
    ...(httpPort !== undefined ? { httpPort, sdkMetricsPort } : {}),
    logLevel,
    describe: {
      address: settings.address,
      namespace: settings.namespace,
      taskQueue,
      tls: !tls ? 'off' : typeof tls === 'object' && tls.clientCertPair ? 'mTLS' : 'on',
      auth: connection.apiKey ? 'api key' : typeof tls === 'object' && tls?.clientCertPair ? 'client certificate' : 'none',
      maxConcurrentStages,
      maxConcurrentWorkflowTasks,
      shutdownGraceMs: durationMs(grace),
      httpPort: httpPort ?? 'off',
    },
  };
}
