/** Worker configuration from the environment: defaults, every bad value named with its fix, secrets never echoed. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadWorkerConfig, WorkerConfigError } from '../../workers/config';
import { formatLogLine } from '../../workers/logging';
import { emfFields } from '../../plugin/emf';

/** A clean environment: no profile file from the machine running the tests. */
const base = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  HOME: '/nonexistent',
  XDG_CONFIG_HOME: '/nonexistent',
  ...extra,
});

function problems(env: NodeJS.ProcessEnv): WorkerConfigError {
  try {
    loadWorkerConfig(env);
  } catch (err) {
    if (err instanceof WorkerConfigError) return err;
    throw err;
  }
  throw new Error('expected a WorkerConfigError');
}

const dir = mkdtempSync(path.join(tmpdir(), 'sluice-config-'));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n';
const certPath = path.join(dir, 'client.pem');
const keyPath = path.join(dir, 'client.key');
writeFileSync(certPath, PEM);
writeFileSync(keyPath, KEY);

test('defaults: local server, task queue sluice, 100 stages, 30s grace, no HTTP endpoint, INFO', () => {
  const c = loadWorkerConfig(base());
  expect(c.settings).toEqual({ address: 'localhost:7233', namespace: 'default', taskQueue: 'sluice' });
  expect(c.connection).toEqual({ address: 'localhost:7233' });
  expect(c).toMatchObject({
    maxConcurrentStages: 100,
    maxConcurrentWorkflowTasks: 40,
    shutdownGraceMs: 30_000,
    logLevel: 'INFO',
  });
  expect(c.httpPort).toBeUndefined();
});

test('every SLUICE_ variable is read and converted', () => {
  const c = loadWorkerConfig(
    base({
      SLUICE_TASK_QUEUE: 'etl',
      SLUICE_MAX_CONCURRENT_STAGES: '7',
      SLUICE_MAX_CONCURRENT_WORKFLOW_TASKS: '3',
      SLUICE_SHUTDOWN_GRACE: '2m',
      SLUICE_HTTP_PORT: '9464',
      SLUICE_LOG_LEVEL: 'debug',
    }),
  );
  expect(c).toMatchObject({
    maxConcurrentStages: 7,
    maxConcurrentWorkflowTasks: 3,
    shutdownGraceMs: 120_000,
    httpPort: 9464,
    sdkMetricsPort: 9465,
    logLevel: 'DEBUG',
  });
  expect(c.settings.taskQueue).toBe('etl');
});

test('Temporal Cloud with an API key: TLS on, the key is passed to the connection but never described', () => {
  const c = loadWorkerConfig(
    base({
      TEMPORAL_ADDRESS: 'my-ns.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'my-ns.a1b2c',
      TEMPORAL_API_KEY: 'key-123',
    }),
  );
  expect(c.connection).toMatchObject({ address: 'my-ns.a1b2c.tmprl.cloud:7233', apiKey: 'key-123', tls: true });
  expect(c.settings.namespace).toBe('my-ns.a1b2c');
  expect(JSON.stringify(c.describe)).not.toContain('key-123');
  expect(c.describe).toMatchObject({ tls: 'on', auth: 'api key' });
});

test('mTLS from files (the SDK variables): the certificate pair, server name and CA reach the connection', () => {
  const c = loadWorkerConfig(
    base({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CLIENT_CERT_PATH: certPath,
      TEMPORAL_TLS_CLIENT_KEY_PATH: keyPath,
      TEMPORAL_TLS_SERVER_CA_CERT_DATA: PEM,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.example.com',
    }),
  );
  const tls = c.connection.tls as {
    clientCertPair?: { crt: Buffer; key: Buffer };
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
  };
  expect(tls.clientCertPair?.crt.toString()).toBe(PEM);
  expect(tls.clientCertPair?.key.toString()).toBe(KEY);
  expect(tls.serverNameOverride).toBe('temporal.example.com');
  expect(tls.serverRootCACertificate?.toString()).toBe(PEM);
  expect(c.describe).toMatchObject({ tls: 'mTLS', auth: 'client certificate' });
});

test.each([
  ['TEMPORAL_ADDRESS', 'https://temporal:7233', 'expected host:port'],
  ['TEMPORAL_NAMESPACE', 'my namespace', 'not a namespace name'],
  ['TEMPORAL_TLS', 'yes', 'expected true or false'],
  ['SLUICE_MAX_CONCURRENT_STAGES', '0', 'expected a whole number >= 1'],
  ['SLUICE_MAX_CONCURRENT_STAGES', 'ten', 'expected a whole number >= 1'],
  ['SLUICE_MAX_CONCURRENT_WORKFLOW_TASKS', '-1', 'expected a whole number >= 1'],
  ['SLUICE_SHUTDOWN_GRACE', '30', 'expected a duration'],
  ['SLUICE_HTTP_PORT', '70000', 'between 1 and 65535'],
  ['SLUICE_LOG_LEVEL', 'verbose', 'expected one of TRACE, DEBUG, INFO, WARN, ERROR'],
  ['SLUICE_TASK_QUEUE', 'my queue', 'without spaces'],
  ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', '/no/such/ca.pem', 'no such file'],
  ['TEMPORAL_CONFIG_FILE', '/no/such/temporal.toml', 'no such file'],
])('%s=%j is rejected with the variable, the value and a fix', (variable, value, problem) => {
  const err = problems(base({ [variable]: value }));
  expect(err.issues).toHaveLength(1);
  expect(err.issues[0]).toMatchObject({ variable, received: value });
  expect(err.issues[0]?.problem).toContain(problem);
  expect(err.message).toContain(`${variable}: `);
  expect(err.message).toContain(JSON.stringify(value));
  expect(err.message).toMatch(/Fix: \S/);
});

test('all problems are reported at once', () => {
  const err = problems(base({ TEMPORAL_ADDRESS: 'nope', SLUICE_HTTP_PORT: 'x', SLUICE_LOG_LEVEL: 'loud' }));
  expect(err.issues.map((i) => i.variable)).toEqual(['TEMPORAL_ADDRESS', 'SLUICE_HTTP_PORT', 'SLUICE_LOG_LEVEL']);
  expect(err.message).toContain('3 problems');
});

test('Worker Versioning: SLUICE_DEPLOYMENT_NAME and SLUICE_BUILD_ID give the deployment version; unset: unversioned', () => {
  const c = loadWorkerConfig(base({ SLUICE_DEPLOYMENT_NAME: 'sluice', SLUICE_BUILD_ID: ' 1.4.0 ' }));
  expect(c.deployment).toEqual({ deploymentName: 'sluice', buildId: '1.4.0' });
  expect(c.describe.workerVersion).toBe('sluice.1.4.0');
  const u = loadWorkerConfig(base());
  expect(u.deployment).toBeUndefined();
  expect(u.describe.workerVersion).toBe('unversioned');
});

test.each([
  [{ SLUICE_DEPLOYMENT_NAME: 'sluice' }, 'SLUICE_BUILD_ID', '(unset)', 'SLUICE_DEPLOYMENT_NAME is set ("sluice")'],
  [{ SLUICE_BUILD_ID: '1.4.0' }, 'SLUICE_DEPLOYMENT_NAME', '(unset)', 'SLUICE_BUILD_ID is set ("1.4.0")'],
  [
    { SLUICE_DEPLOYMENT_NAME: 'sluice.prod', SLUICE_BUILD_ID: '1.4.0' },
    'SLUICE_DEPLOYMENT_NAME',
    'sluice.prod',
    'without dots',
  ],
  [{ SLUICE_DEPLOYMENT_NAME: 'sluice', SLUICE_BUILD_ID: 'build 7' }, 'SLUICE_BUILD_ID', 'build 7', 'without spaces'],
])('Worker Versioning %j is rejected naming %s', (vars, variable, received, problem) => {
  const err = problems(base(vars));
  expect(err.issues).toHaveLength(1);
  expect(err.issues[0]).toMatchObject({ variable, received });
  expect(err.issues[0]?.problem).toContain(problem);
  expect(err.message).toMatch(/Fix: \S/);
});

test('a certificate without its key (and the reverse) is rejected', () => {
  expect(problems(base({ TEMPORAL_TLS_CLIENT_CERT_PATH: certPath })).issues[0]).toMatchObject({
    variable: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  });
  expect(problems(base({ TEMPORAL_TLS_CLIENT_KEY_PATH: keyPath })).issues[0]).toMatchObject({
    variable: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  });
});

test('secrets are never echoed: a bad API key or key PEM is named without its value', () => {
  const err = problems(
    base({
      TEMPORAL_API_KEY: 'abc def-SECRET',
      TEMPORAL_TLS_CLIENT_CERT_PATH: certPath,
      TEMPORAL_TLS_CLIENT_KEY_DATA: 'SECRET-not-pem',
    }),
  );
  expect(err.issues.map((i) => i.variable)).toEqual(['TEMPORAL_API_KEY', 'TEMPORAL_TLS_CLIENT_KEY_DATA']);
  expect(err.message).not.toContain('SECRET');
  expect(err.issues.every((i) => !('received' in i))).toBe(true);
});

test('an unknown profile of a temporal.toml file names TEMPORAL_PROFILE', () => {
  const toml = path.join(dir, 'temporal.toml');
  writeFileSync(toml, '[profile.prod]\naddress = "prod.example.com:7233"\nnamespace = "prod"\n');
  expect(loadWorkerConfig(base({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' })).settings).toMatchObject({
    address: 'prod.example.com:7233',
    namespace: 'prod',
  });
  expect(problems(base({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'staging' })).issues[0]).toMatchObject({
    variable: 'TEMPORAL_PROFILE',
    received: 'staging',
  });
});

test('log lines are one JSON object with the SDK attributes flattened, and secrets redacted', () => {
  const line = formatLogLine({
    level: 'INFO',
    message: 'job started',
    timestampNanos: 1_709_251_200_000_000_000n,
    meta: { workflowId: 'p/2024-03-01', stage: 'etl', jobId: 'jr_1', apiKey: 'k', nested: { password: 'p' } },
  });
  expect(line).not.toContain('\n');
  expect(JSON.parse(line)).toEqual({
    time: '2024-03-01T00:00:00.000Z',
    level: 'info',
    msg: 'job started',
    workflowId: 'p/2024-03-01',
    stage: 'etl',
    jobId: 'jr_1',
    apiKey: '[redacted]',
    nested: { password: '[redacted]' },
  });
});

test('EMF fields: the metrics, their dimension sets and values at the top level', () => {
  const f = emfFields(1000, { Pipeline: 'sales', StageKind: 'glue.job' }, [['Pipeline', 'StageKind']], {
    StageFailed: { value: 1, unit: 'Count' },
  });
  expect(f).toEqual({
    _aws: {
      Timestamp: 1000,
      CloudWatchMetrics: [
        {
          Namespace: 'Sluice',
          Dimensions: [['Pipeline', 'StageKind']],
          Metrics: [{ Name: 'StageFailed', Unit: 'Count' }],
        },
      ],
    },
    Pipeline: 'sales',
    StageKind: 'glue.job',
    StageFailed: 1,
  });
});
