/**
 * Where Sluice connects to Temporal, read from the SDK's own variables (@temporalio/envconfig:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the
 * TOML profile file TEMPORAL_CONFIG_FILE) plus SLUICE_TASK_QUEUE, and validated here once for both
 * the worker (workers/config.ts adds its own SLUICE_* settings) and the CLI: a CLI and a worker
 * configured alike reach the same cluster, mTLS included, and reject the same mistakes the same way.
 *
 * Each problem names the variable, the value received (never a secret's) and the fix; the caller
 * wraps the list in its own error type (WorkerConfigError, CliConfigError) so a CLI mistake does
 * not read as a worker's. Touches no network. Node-only (reads files): never import from workflows/.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import { DEFAULT_TASK_QUEUE } from './constants';
import type { TemporalSettings } from './env';

/** One thing wrong with the environment, said so an operator can fix it. */
export interface ConfigIssue {
  variable: string;
  /** The value received; omitted for secrets. */
  received?: string;
  problem: string;
  fix: string;
}

/** An invalid environment; the message lists every problem. Subclassed per program. */
export class ConfigError extends Error {
  constructor(
    readonly issues: ConfigIssue[],
    what: string,
  ) {
    super(
      `${what} in the environment is invalid (${issues.length === 1 ? '1 problem' : `${issues.length} problems`}):\n` +
        issues
          .map(
            (i) =>
              `  - ${i.variable}: ${i.problem}${'received' in i ? ` (received ${JSON.stringify(i.received)})` : ''}.\n    Fix: ${i.fix}`,
          )
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Variables whose values are never echoed in messages or logs. */
export const SECRET_VARIABLES: readonly string[] = [
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_CODEC_AUTH',
  'SLUICE_PAYLOAD_KEYS',
];

/** Options for Connection.connect (client) and NativeConnection.connect (worker) alike. */
export interface TemporalConnectionOptions {
  address: string;
  apiKey?: string;
  tls?: boolean | TLSConfig;
  metadata?: Record<string, string>;
}

export interface ConnectionConfig {
  settings: TemporalSettings;
  connection: TemporalConnectionOptions;
  /** What may be logged about the connection: no secrets. */
  describe: {
    address: string;
    namespace: string;
    taskQueue: string;
    tls: 'off' | 'on' | 'mTLS';
    auth: 'api key' | 'client certificate' | 'none';
  };
}

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const BOOL = /^(1|0|true|false)$/;

/** A TLS file variable (…_PATH) must name a readable file holding PEM; …_DATA must hold PEM. */
function checkPem(env: NodeJS.ProcessEnv, base: string, what: string, issues: ConfigIssue[]): void {
  const pathVar = `${base}_PATH`;
  const dataVar = `${base}_DATA`;
  const p = env[pathVar];
  const d = env[dataVar];
  const secret = SECRET_VARIABLES.includes(dataVar);
  if (p && d) {
    issues.push({
      variable: `${pathVar} / ${dataVar}`,
      problem: 'both are set',
      fix: `keep one: ${pathVar} (a file) or ${dataVar} (the PEM text)`,
    });
    return;
  }
  if (p) {
    if (!existsSync(p)) {
      issues.push({
        variable: pathVar,
        received: p,
        problem: `no such file (the ${what})`,
        fix: `give the path of the ${what} PEM file, or set ${dataVar} to its contents`,
      });
      return;
    }
    const text = readFileSync(p, 'utf8');
    if (!text.includes('-----BEGIN'))
      issues.push({
        variable: pathVar,
        received: p,
        problem: `the file is not PEM (no "-----BEGIN" line)`,
        fix: `point it at the ${what} in PEM format`,
      });
  } else if (d !== undefined && d !== '' && !d.includes('-----BEGIN')) {
    issues.push({
      variable: dataVar,
      ...(secret ? {} : { received: d.slice(0, 40) }),
      problem: 'not PEM text (no "-----BEGIN" line)',
      fix: `set it to the ${what} in PEM format (or use ${pathVar})`,
    });
  }
}

/** envconfig reads PEM as Uint8Array; both connection kinds want Buffers. */
function asBuffers(tls: TemporalConnectionOptions['tls']): TemporalConnectionOptions['tls'] {
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

/** The SDK's own variables, checked before envconfig reads them so the message names the variable. */
function checkTemporalVariables(env: NodeJS.ProcessEnv, issues: ConfigIssue[]): void {
  const address = env.TEMPORAL_ADDRESS;
  if (address !== undefined && !HOST_PORT.test(address)) {
    issues.push({
      variable: 'TEMPORAL_ADDRESS',
      received: address,
      problem: 'expected host:port',
      fix: 'set the frontend address, e.g. 127.0.0.1:7233 or my-ns.a1b2c.tmprl.cloud:7233 (no scheme)',
    });
  }
  if (env.TEMPORAL_NAMESPACE !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(env.TEMPORAL_NAMESPACE)) {
    issues.push({
      variable: 'TEMPORAL_NAMESPACE',
      received: env.TEMPORAL_NAMESPACE,
      problem: 'not a namespace name',
      fix: 'set the namespace, e.g. default or my-ns.a1b2c',
    });
  }
  if (
    env.TEMPORAL_API_KEY !== undefined &&
    (env.TEMPORAL_API_KEY.trim() === '' || /\s/.test(env.TEMPORAL_API_KEY.trim()))
  ) {
    issues.push({
      variable: 'TEMPORAL_API_KEY',
      problem: 'empty or contains whitespace (value not shown: it is a secret)',
      fix: 'set the API key exactly as Temporal Cloud issued it, or unset the variable',
    });
  }
  for (const v of ['TEMPORAL_TLS', 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION']) {
    const b = env[v];
    if (b !== undefined && !BOOL.test(b))
      issues.push({ variable: v, received: b, problem: 'expected true or false', fix: `set ${v}=true or ${v}=false` });
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
      fix: hasCert
        ? 'set TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA) to the private key'
        : 'set TEMPORAL_TLS_CLIENT_CERT_PATH (or _DATA) to the certificate',
    });
  }
  if (env.TEMPORAL_CONFIG_FILE && !existsSync(env.TEMPORAL_CONFIG_FILE)) {
    issues.push({
      variable: 'TEMPORAL_CONFIG_FILE',
      received: env.TEMPORAL_CONFIG_FILE,
      problem: 'no such file',
      fix: 'give the path of a temporal.toml profile file, or unset it',
    });
  }
}

function readTaskQueue(env: NodeJS.ProcessEnv, issues: ConfigIssue[]): string {
  const raw = env.SLUICE_TASK_QUEUE;
  if (raw === undefined || raw === '') return DEFAULT_TASK_QUEUE;
  const queue = raw.trim();
  if (/^[^\s]{1,200}$/.test(queue)) return queue;
  issues.push({
    variable: 'SLUICE_TASK_QUEUE',
    received: raw,
    problem: 'expected a task queue name without spaces',
    fix: `set a task queue name, e.g. ${DEFAULT_TASK_QUEUE}`,
  });
  return DEFAULT_TASK_QUEUE;
}

/**
 * Reads the connection settings, adding every problem to `issues`. Returns the configuration only
 * when `issues` is still empty (the profile is loaded only then: envconfig's own errors would not
 * name the variable at fault). `more` runs before the profile is loaded, so the worker's SLUICE_*
 * problems are reported in the same list.
 */
export function readConnectionConfig(
  env: NodeJS.ProcessEnv,
  issues: ConfigIssue[],
  more?: () => void,
): ConnectionConfig | undefined {
  checkTemporalVariables(env, issues);
  const taskQueue = readTaskQueue(env, issues);
  more?.();
  if (issues.length) return undefined;

  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: env as Record<string, string> });
  } catch (err) {
    issues.push({
      variable: env.TEMPORAL_PROFILE ? 'TEMPORAL_PROFILE' : 'TEMPORAL_CONFIG_FILE',
      ...(env.TEMPORAL_PROFILE ? { received: env.TEMPORAL_PROFILE } : {}),
      problem: `the Temporal profile could not be loaded: ${(err as Error).message}`,
      fix: 'fix the temporal.toml file or the profile name, or unset TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE to use the variables alone',
    });
    return undefined;
  }

  const { connectionOptions, namespace } = toClientOptions(profile);
  const connection: TemporalConnectionOptions = {
    address: connectionOptions.address ?? 'localhost:7233',
    ...(connectionOptions.apiKey !== undefined && typeof connectionOptions.apiKey === 'string'
      ? { apiKey: connectionOptions.apiKey }
      : {}),
    ...(connectionOptions.tls !== undefined
      ? { tls: connectionOptions.tls === null ? false : asBuffers(connectionOptions.tls) }
      : {}),
    ...(connectionOptions.metadata ? { metadata: connectionOptions.metadata as Record<string, string> } : {}),
  };
  const tls = connection.tls;
  const settings: TemporalSettings = {
    address: connection.address,
    namespace: namespace ?? 'default',
    taskQueue,
    ...(connection.apiKey ? { apiKey: connection.apiKey } : {}),
  };
  const mtls = typeof tls === 'object' && Boolean(tls.clientCertPair);
  return {
    settings,
    connection,
    describe: {
      address: settings.address,
      namespace: settings.namespace,
      taskQueue,
      tls: !tls ? 'off' : mtls ? 'mTLS' : 'on',
      auth: connection.apiKey ? 'api key' : mtls ? 'client certificate' : 'none',
    },
  };
}
