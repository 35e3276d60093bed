/**
 * Encrypted payloads (plugin/encryption.ts, SLUICE_PAYLOAD_KEYS / SLUICE_PAYLOAD_KEY_SECRET) on
 * the real worker, the real CLI and the local stack: a marker passed as a pipeline parameter does
 * its work (it is written to S3, sent to Glue) yet cannot be read anywhere in the raw history the
 * server stores — not in the input, the stage results, heartbeats, the summary, nor, when a stage
 * fails on it, the failure messages — while `sluice status` and the codec server
 * (`sluice codec-server`, used by `temporal workflow show --codec-endpoint`) read it back. Keys are
 * made at run time; one reaches the CLI through a Secrets Manager secret (moto). Bad key
 * configuration fails at startup without printing a key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Worker } from '@temporalio/worker';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { AesGcmPayloadCodec } from '../../plugin/encryption';
import { parsePayloadKeys, type PayloadKeys } from '../../plugin/payload-keys';
import { SluicePlugin } from '../../plugin/plugin';
import { encodedFailuresBundlePath } from '../../workers/bundle-workflows';
import { awsClients, createBucket, createGlueJob, uniqueName } from '../support/aws';
import { sluice, SLUICE_BIN, ROOT } from '../support/cli';
import {
  encodingOf,
  freePort,
  newKeyEntry,
  payloadsIn,
  rawHistory,
  readableIn,
  type JsonPayload,
} from '../support/codec';
import { POOL_ASK_UPDATE, poolWorkflowId } from '../../common/pools';
import { gateway } from '../support/gateway';
import { loadHistory } from '../support/histories';
import { temporalTestContext, waitFor, type RunningWorker, type TestContext } from '../support/temporal';

const dir = mkdtempSync(path.join(tmpdir(), 'sluice-codec-'));
const OLD = newKeyEntry('k0');
const CURRENT = newKeyEntry('k1');
/** Rotation: k1 encrypts, k0 still decrypts. */
const KEYS_TEXT = `${CURRENT},${OLD}`;
const keys = (() => {
  const parsed = parsePayloadKeys(KEYS_TEXT, 'test', undefined, []);
  if (!parsed) throw new Error('test keys do not parse');
  return parsed;
})();
const keyMaterial = [CURRENT, OLD].map((e) => e.split(':')[1]!);

let ctx: TestContext;
let sluiceWorker: RunningWorker;
let env: NodeJS.ProcessEnv;
let secretArn: string;
let bucket: string;
let job: string;

beforeAll(async () => {
  ctx = await temporalTestContext('e2e-codec');
  sluiceWorker = await ctx.startWorker({ payloads: { keys } });
  const sm = new SecretsManagerClient({});
  secretArn = (
    await sm.send(new CreateSecretCommand({ Name: uniqueName('sluice-payload-keys'), SecretString: KEYS_TEXT }))
  ).ARN!;
  sm.destroy();
  // The CLI reads the same keys from Secrets Manager; the worker was given them directly.
  env = { SLUICE_TASK_QUEUE: ctx.settings.taskQueue, SLUICE_PAYLOAD_KEY_SECRET: secretArn };
  bucket = await createBucket();
  job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 1500 });
});

afterAll(async () => {
  await ctx?.close();
});

function pipelineFile(name: string, body: string): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\n${body}`);
  return file;
}

const okPipeline = (name: string) =>
  pipelineFile(
    name,
    `params:
  note: { type: string }
defaults:
  poll: { initial: 200ms, max: 500ms }
  timeout: { heartbeat: 3s }
stages:
  - id: land
    kind: s3.put
    params: { Bucket: ${bucket}, Key: "raw/{{ ds }}/note.txt", Body: "{{ params.note }}" }
  - id: transform
    kind: glue.job
    dependsOn: [land]
    params: { JobName: ${job}, Arguments: { "--note": "{{ params.note }}" } }
`,
  );

/**
 * A patch marker's payload: the SDK's core writes it itself, not through the data converter, and it
 * holds only the patch's id (a constant of the workflow code, e.g. sluice-pools-1), never a parameter.
 */
const isPatchMarker = (p: string, payload: JsonPayload): boolean =>
  /markerRecordedEventAttributes\.details\.patch-data/.test(p) &&
  /^\{"id":"sluice-[a-z-]+-\d+","deprecated":(true|false)\}$/.test(
    Buffer.from(payload.data ?? '', 'base64').toString(),
  );

/**
 * A local activity marker's bookkeeping (`details.data`): the SDK's core writes it itself, with the
 * call's sequence number, attempt, activity id and type and its times — never an input. Its result
 * (`details.result`) goes through the data converter and is checked like every other payload.
 */
const isLocalActivityBookkeeping = (p: string, payload: JsonPayload): boolean => {
  if (!/markerRecordedEventAttributes\.details\.data\.payloads/.test(p)) return false;
  const data = JSON.parse(Buffer.from(payload.data ?? '', 'base64').toString()) as Record<string, unknown>;
  const allowed = [
    'seq',
    'attempt',
    'activity_id',
    'activity_type',
    'complete_time',
    'backoff',
    'original_schedule_time',
  ];
  return Object.keys(data).every((k) => allowed.includes(k));
};

/**
 * Every payload of the history is encrypted, except search attributes (which stay queryable, and
 * hold no parameter), patch markers (their patch id only) and local activities' bookkeeping.
 */
function expectAllEncrypted(history: string): JsonPayload[] {
  const payloads = payloadsIn(history).filter(
    ({ path: p, payload }) =>
      !/searchAttributes/i.test(p) && !isPatchMarker(p, payload) && !isLocalActivityBookkeeping(p, payload),
  );
  expect(payloads.length).toBeGreaterThan(3);
  const clear = payloads.filter(({ payload }) => encodingOf(payload) !== 'binary/encrypted');
  expect(clear.map((c) => `${c.path}: ${encodingOf(c.payload)}`)).toEqual([]);
  return payloads.map((p) => p.payload);
}

let okWorkflowId: string;
let okMarker: string;

test('a run with a marker in its params succeeds, and the marker is readable nowhere in the raw history', async () => {
  const name = uniqueName('codec-ok');
  okMarker = `MARKER-${uniqueName('ok')}`;
  const res = await sluice(
    ['run', '-p', okPipeline(name), '-d', '2024-03-01', '--param', `note=${okMarker}`, '--wait', '--json'],
    env,
  );
  // Node 20: the AWS SDK's NodeVersionSupportWarning (issue #10 point 7) is the only thing allowed on stderr.
  expect(
    res.stderr.replace(
      /\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?show where the warning was created\)\n/,
      '',
    ),
  ).toBe('');
  expect(res.code).toBe(0);
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as { workflowId: string; ok: boolean };
  expect(out.ok).toBe(true);
  okWorkflowId = out.workflowId;
  // The stage really got the parameter.
  const obj = await awsClients().s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'raw/2024-03-01/note.txt' }));
  expect(await obj.Body!.transformToString()).toBe(okMarker);

  const history = await rawHistory(okWorkflowId);
  expect(history).toContain('WORKFLOW_EXECUTION_COMPLETED'); // a real, finished history
  expect(readableIn(history, okMarker)).toEqual([]);
  const payloads = expectAllEncrypted(history);
  // Encrypted with the first key of the list; rotation keeps k0 for reading only.
  const ids = new Set(payloads.map((p) => Buffer.from(p.metadata?.['encryption-key-id'] ?? '', 'base64').toString()));
  expect([...ids]).toEqual(['k1']);
  // The summary shown in the UI's list goes through the codec too (SDK 1.24 encodes userMetadata).
  const started = JSON.parse(history) as { events: { userMetadata?: { summary?: JsonPayload } }[] };
  expect(encodingOf(started.events[0]!.userMetadata!.summary!)).toBe('binary/encrypted');
  for (const k of keyMaterial) expect(history).not.toContain(k);
  // The Glue stage's pool got the stage's rendered params (to learn the job's slots): encrypted too.
  const poolHistory = await rawHistory(poolWorkflowId(ctx.settings.taskQueue, `glue:${job}`));
  expect(poolHistory).toContain(POOL_ASK_UPDATE); // the stage asked with an update: its request is encrypted too
  expect(readableIn(poolHistory, okMarker)).toEqual([]);
  expectAllEncrypted(poolHistory);

  // The CLI with the keys reads it back.
  const status = await sluice(['status', okWorkflowId, '--json'], env);
  expect(status.code).toBe(0);
  expect(status.stdout).toContain(okMarker);
});

test('the same check finds the marker when nothing is encrypted (the detector works)', async () => {
  const name = uniqueName('codec-clear');
  const marker = `MARKER-${uniqueName('clear')}`;
  // Started by a client without keys: its input is in clear (the worker decodes it: unencrypted payloads pass through).
  const res = await sluice(['run', '-p', okPipeline(name), '-d', '2024-03-02', '--param', `note=${marker}`, '--json'], {
    SLUICE_TASK_QUEUE: ctx.settings.taskQueue,
  });
  expect(res.code).toBe(0);
  const { workflowId } = JSON.parse(res.stdout) as { workflowId: string };
  const history = await waitFor('the clear run to finish', async () => {
    const h = await rawHistory(workflowId);
    return h.includes('WORKFLOW_EXECUTION_COMPLETED') && h;
  });
  expect(readableIn(history, marker).some((p) => p.includes('workflowExecutionStartedEventAttributes.input'))).toBe(
    true,
  );
});

let failedWorkflowId: string;
let failMarker: string;

test("a stage failing on the marker: its message and stack trace are encrypted, the run's failure too", async () => {
  const name = uniqueName('codec-fail');
  failMarker = `MARKER-${uniqueName('fail')}`;
  const file = pipelineFile(
    name,
    `params:
  note: { type: string }
stages:
  - id: land
    kind: s3.put
    params: { Bucket: ${bucket}, Key: "x", BodyFile: "/nonexistent/{{ params.note }}.csv" }
`,
  );
  const res = await sluice(['run', '-p', file, '-d', '2024-03-03', '--param', `note=${failMarker}`, '--wait'], env);
  expect(res.code).toBe(1);
  // Decrypted by the CLI: the operator sees the real reason.
  expect(res.stderr).toContain(`/nonexistent/${failMarker}.csv`);
  failedWorkflowId = `${name}/2024-03-03`;
  const history = await rawHistory(failedWorkflowId);
  expect(history).toContain('WORKFLOW_EXECUTION_FAILED');
  expect(history).toContain('Encoded failure');
  expect(history).not.toContain('cannot read BodyFile');
  expect(readableIn(history, failMarker)).toEqual([]);
  const failures = payloadsIn(history).filter(({ path: p }) => p.endsWith('encodedAttributes'));
  expect(failures.length).toBeGreaterThanOrEqual(2); // the stage's failure and the run's
  expect(failures.every(({ payload }) => encodingOf(payload) === 'binary/encrypted')).toBe(true);
  expectAllEncrypted(history);
});

describe('sluice codec-server', () => {
  let server: ChildProcess;
  let port: number;
  let logs = '';
  const TOKEN = `tok-${uniqueName('t')}`;
  const ORIGIN = 'http://127.0.0.1:8233';

  beforeAll(async () => {
    port = await freePort();
    server = spawn(
      process.execPath,
      [SLUICE_BIN, 'codec-server', '--port', String(port), '--origin', ORIGIN, '--token-env', 'CODEC_TOKEN'],
      { cwd: ROOT, env: { ...process.env, ...env, CODEC_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    await waitFor('the codec server to listen', async () => logs.includes('codec server listening'), 20_000);
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
  });

  const url = (route: string) => `http://127.0.0.1:${port}${route}`;
  const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url(route), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  test('decodes the raw history payloads with the bearer token; 401 without it', async () => {
    const history = await rawHistory(okWorkflowId);
    const payloads = payloadsIn(history)
      .filter(({ payload }) => encodingOf(payload) === 'binary/encrypted')
      .map((p) => p.payload);
    expect((await post('/decode', { payloads })).status).toBe(401);
    expect((await post('/decode', { payloads }, { authorization: 'Bearer wrong' })).status).toBe(401);
    const res = await post('/decode', { payloads }, { authorization: `Bearer ${TOKEN}`, 'x-namespace': 'default' });
    expect(res.status).toBe(200);
    const decoded = (await res.json()) as { payloads: JsonPayload[] };
    expect(decoded.payloads).toHaveLength(payloads.length);
    expect(decoded.payloads.some((p) => encodingOf(p) === 'json/plain')).toBe(true);
    expect(decoded.payloads.every((p) => encodingOf(p) !== 'binary/encrypted')).toBe(true);
    expect(readableIn(JSON.stringify(decoded), okMarker).length).toBeGreaterThan(0);
    // Its log says what it did, never what it decoded, nor the token.
    expect(logs).toContain('"path":"/decode"');
    expect(logs).not.toContain(okMarker);
    expect(logs).not.toContain(TOKEN);
  });

  test('encode and decode round-trip; decoding a payload of an unknown key id names the id', async () => {
    const plain = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('"hi"').toString('base64'),
    };
    const auth = { authorization: `Bearer ${TOKEN}` };
    const enc = (await (await post('/encode', { payloads: [plain] }, auth)).json()) as { payloads: JsonPayload[] };
    expect(encodingOf(enc.payloads[0]!)).toBe('binary/encrypted');
    const dec = (await (await post('/decode', enc, auth)).json()) as { payloads: JsonPayload[] };
    expect(dec.payloads).toEqual([plain]);
    const other = await new AesGcmPayloadCodec(
      parsePayloadKeys(newKeyEntry('k9'), 't', undefined, []) as PayloadKeys,
    ).encode([
      { metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode('"x"') },
    ]);
    const res = await post(
      '/decode',
      {
        payloads: other.map((p) => ({
          metadata: Object.fromEntries(
            Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(p.data!).toString('base64'),
        })),
      },
      auth,
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('key id "k9"');
  });

  test('CORS: the preflight of the UI origin is allowed, another origin is not', async () => {
    const ok = await fetch(url('/decode'), {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace,authorization',
      },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(ok.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    const bad = await fetch(url('/decode'), {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(bad.status).toBe(403);
    expect(bad.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('temporal workflow show --codec-endpoint shows the marker and the failure message decoded', async () => {
    const codec = ['--codec-endpoint', `http://127.0.0.1:${port}`, '--codec-auth', `Bearer ${TOKEN}`];
    expect(readableIn(await rawHistory(okWorkflowId, codec), okMarker).length).toBeGreaterThan(0);
    const failed = await rawHistory(failedWorkflowId, codec);
    expect(readableIn(failed, `/nonexistent/${failMarker}.csv`).length).toBeGreaterThan(0);
  });
});

test('replay: the encrypted histories replay with the keys (the bundle with encoded failures), and not without them', async () => {
  const bundle = encodedFailuresBundlePath(process.env.SLUICE_WORKFLOW_BUNDLE!);
  for (const id of [okWorkflowId, failedWorkflowId]) {
    const file = path.join(dir, `${id.replace(/\W/g, '_')}.json`);
    writeFileSync(file, await rawHistory(id));
    const history = loadHistory(file);
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { codePath: bundle }, plugins: [new SluicePlugin({ payloads: { keys }, activities: {} })] },
        history,
        id,
      ),
    ).resolves.toBeUndefined();
    await expect(
      Worker.runReplayHistory(
        {
          workflowBundle: { codePath: bundle },
          plugins: [
            new SluicePlugin({
              payloads: { keys: parsePayloadKeys(newKeyEntry('k0'), 't', undefined, [])! },
              activities: {},
            }),
          ],
        },
        history,
        id,
      ),
    ).rejects.toThrow();
  }
});

test("the worker's own client (what activities' getClient() returns) decodes results and failures", async () => {
  const client = sluiceWorker.worker.client!;
  const status = (await client.workflow.getHandle(okWorkflowId).result()) as { params?: Record<string, unknown> };
  expect(status.params).toEqual({ note: okMarker });
  const failure = await client.workflow
    .getHandle(failedWorkflowId)
    .result()
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  const messages: string[] = [];
  for (let e: unknown = failure; e instanceof Error; e = (e as Error & { cause?: unknown }).cause)
    messages.push(e.message);
  expect(messages.join('\n')).toContain(`/nonexistent/${failMarker}.csv`);
  expect(messages).not.toContain('Encoded failure');
});

describe('bad key configuration fails at startup, naming the variable and never the key', () => {
  const short = `k1:${Buffer.alloc(16, 7).toString('base64')}`;
  const cases: [string, NodeJS.ProcessEnv, RegExp[]][] = [
    [
      'a 128-bit key',
      { SLUICE_PAYLOAD_KEYS: short },
      [/SLUICE_PAYLOAD_KEYS/, /key k1 is 16 bytes/, /openssl rand -base64 32/],
    ],
    [
      'an unknown SLUICE_PAYLOAD_KEY_ID',
      { SLUICE_PAYLOAD_KEYS: KEYS_TEXT, SLUICE_PAYLOAD_KEY_ID: 'k7' },
      [/SLUICE_PAYLOAD_KEY_ID/, /received "k7"/, /its ids: k1, k0/],
    ],
    [
      'a missing secret',
      { SLUICE_PAYLOAD_KEY_SECRET: 'sluice/no-such-secret' },
      [/SLUICE_PAYLOAD_KEY_SECRET/, /received "sluice\/no-such-secret"/, /no such Secrets Manager secret/],
    ],
  ];
  test.each(cases)('%s: sluice worker and sluice run exit 2', async (_what, bad, expected) => {
    for (const args of [
      ['worker'],
      ['run', '-p', okPipeline(uniqueName('codec-bad')), '-d', '2024-03-04', '--param', 'note=x'],
    ]) {
      const res = await sluice(args, {
        SLUICE_TASK_QUEUE: uniqueName('nobody'),
        SLUICE_PAYLOAD_KEY_SECRET: '',
        ...bad,
      });
      expect(res.code).toBe(2);
      for (const re of expected) expect(res.stderr).toMatch(re);
      for (const k of [...keyMaterial, short.split(':')[1]!]) expect(res.stderr).not.toContain(k);
    }
  });
});

test('a client without the keys cannot read an encrypted run', async () => {
  const client = new Client({ connection: ctx.client.connection, namespace: ctx.settings.namespace });
  // No codec: no payload converter knows binary/encrypted.
  await expect(client.workflow.getHandle(okWorkflowId).result()).rejects.toThrow(/binary\/encrypted/);
});
