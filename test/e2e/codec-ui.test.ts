/**
 * The Temporal Web UI decodes Sluice's encrypted payloads through `sluice codec-server` (issue #10,
 * point 6): a dev server of the test's own, started with `--ui-codec-endpoint` pointing at a codec
 * server the test starts, a real `sluice worker` with the keys, a run with a marker in its params;
 * headless Chromium (Debian's `chromium`, scripts/ensure-browser.sh) opens the run's history page
 * and reads the marker in the run's params. The other side: with the codec server stopped, the same
 * page shows the input's ciphertext exactly as the server stores it and never the marker — the
 * codec server is what decodes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createBucket, uniqueName } from '../support/aws';
import { pipelineDir, ROOT, SLUICE_BIN, sluice, spawnWorker } from '../support/cli';
import { freePort, newKeyEntry, rawHistory, readableIn, TEMPORAL_BIN } from '../support/codec';
import { waitFor } from '../support/temporal';

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const SEARCH_ATTRIBUTES = ['SluicePipeline=Keyword', 'SluiceDate=Datetime', 'SluiceStatus=Keyword'];
const KEYS = newKeyEntry('ui1');
/** `binary/encrypted`, base64 as in a stored payload's metadata. */
const ENCRYPTED_B64 = Buffer.from('binary/encrypted').toString('base64');

let temporalPort: number;
let uiPort: number;
let codecPort: number;
let address: string;
let uiOrigin: string;
const children: ChildProcess[] = [];
let codec: ChildProcess | undefined;
let codecLogs: () => string = () => '';
let browser: Browser;
let env: NodeJS.ProcessEnv;

/** A child process of the test, its output kept for the failure message. */
function start(
  cmd: string,
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
): { child: ChildProcess; out: () => string } {
  let out = '';
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  children.push(child);
  return { child, out: () => out };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(killer);
}

async function startCodecServer(): Promise<void> {
  const { child, out } = start(
    process.execPath,
    [SLUICE_BIN, 'codec-server', '--port', String(codecPort), '--origin', uiOrigin],
    { SLUICE_PAYLOAD_KEYS: KEYS },
  );
  codec = child;
  await waitFor('the codec server to listen', async () => out().includes('codec server listening'), 30_000);
  codecLogs = out;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no browser at ${CHROMIUM}: run bash scripts/ensure-browser.sh (or set SLUICE_CHROMIUM)`);
  [temporalPort, uiPort, codecPort] = [await freePort(), await freePort(), await freePort()];
  address = `127.0.0.1:${temporalPort}`;
  uiOrigin = `http://127.0.0.1:${uiPort}`;
  // In-memory store: the server goes away with the test.
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(temporalPort),
    '--ui-port',
    String(uiPort),
  ];
  args.push('--ui-codec-endpoint', `http://127.0.0.1:${codecPort}`, '--ui-disable-news-fetch', '--log-level', 'warn');
  for (const sa of SEARCH_ATTRIBUTES) args.push('--search-attribute', sa);
  const server = start(TEMPORAL_BIN, args);
  await waitFor(
    'the test’s own Temporal dev server and its UI',
    async () => {
      if (server.child.exitCode !== null) throw new Error(`temporal server exited: ${server.out()}`);
      const ok = await fetch(`${uiOrigin}/api/v1/namespaces/default`).then(
        (r) => r.ok,
        () => false,
      );
      return ok;
    },
    120_000,
    500,
  );
  await startCodecServer();
  const taskQueue = uniqueName('e2e-codec-ui');
  env = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: 'default',
    SLUICE_TASK_QUEUE: taskQueue,
    SLUICE_PAYLOAD_KEYS: KEYS,
  };
  const worker = await spawnWorker(env);
  children.push(worker);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox'] });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  // Worker first (it polls the server), then the codec server and the dev server.
  for (const child of [...children].reverse()) await stop(child);
}, 60_000);

let workflowId: string;
let runId: string;
let marker: string;
let inputCiphertext: string;

test('a run with a marker in its params succeeds on the own server, its raw history holds no marker', async () => {
  const bucket = await createBucket();
  const pipelines = pipelineDir('sluice-codec-ui-');
  const name = uniqueName('codec-ui');
  marker = `UIMARKER${Date.now().toString(36)}`;
  const file = pipelines.file(
    name,
    `name: ${name}
params:
  note: { type: string }
stages:
  - id: land
    kind: s3.put
    params: { Bucket: ${bucket}, Key: "raw/{{ ds }}/note.txt", Body: "{{ params.note }}" }
`,
  );
  const res = await sluice(
    ['run', '-p', file, '-d', '2024-05-01', '--param', `note=${marker}`, '--wait', '--json'],
    env,
  );
  expect(res.code).toBe(0);
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as { workflowId: string; runId?: string; ok: boolean };
  expect(out.ok).toBe(true);
  workflowId = out.workflowId;
  const history = await rawHistory(workflowId, [], address);
  expect(history).toContain('WORKFLOW_EXECUTION_COMPLETED');
  expect(readableIn(history, marker)).toEqual([]);
  const started = (
    JSON.parse(history) as {
      events: {
        workflowExecutionStartedEventAttributes?: {
          originalExecutionRunId?: string;
          input?: { payloads?: { data?: string }[] };
        };
      }[];
    }
  ).events[0]!.workflowExecutionStartedEventAttributes!;
  runId = started.originalExecutionRunId!;
  // What the UI can show without the codec: the input's ciphertext, as stored (base64).
  inputCiphertext = started.input!.payloads![0]!.data!.slice(0, 48);
  expect(inputCiphertext).toHaveLength(48);
  expect(runId).toMatch(/^[0-9a-f-]{36}$/);
});

const historyUrl = () => `${uiOrigin}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`;

/**
 * The page's visible text once `ready` holds for it. The UI first renders the stored payloads and
 * replaces them when the codec server has answered, so each side waits for its own end state.
 */
async function openHistory(page: Page, shot: string, ready: (text: string) => boolean): Promise<string> {
  await page.goto(historyUrl(), { waitUntil: 'domcontentloaded', timeout: 60_000 });
  const text = await waitFor(
    `the history page (${shot})`,
    async () => {
      const t = await page.locator('body').innerText();
      return ready(t) && t;
    },
    90_000,
    500,
  ).catch(async (err: unknown) => {
    await page.screenshot({ path: path.join(shotDir, `${shot}-timeout.png`), fullPage: true });
    throw new Error(`${String(err)}; page text: ${(await page.locator('body').innerText()).slice(0, 2000)}`);
  });
  await page.screenshot({ path: path.join(shotDir, `${shot}.png`), fullPage: true });
  return text;
}

const shotDir = mkdtempSync(path.join(tmpdir(), 'sluice-codec-ui-shots-'));

test('the Web UI with --ui-codec-endpoint shows the marker decoded', async () => {
  const page = await browser.newPage();
  try {
    // Every payload decoded: the marker shown, no stored payload left.
    const text = await openHistory(
      page,
      'decoded',
      (t) => t.includes(marker) && !t.includes(inputCiphertext) && !t.includes(ENCRYPTED_B64),
    );
    expect(text).toContain(`"note": "${marker}"`);
    expect(text).not.toContain(inputCiphertext);
    expect(text).not.toContain(ENCRYPTED_B64);
    expect(text).not.toContain('Codec Server could not connect');
    // The browser really called the codec server (from the UI's origin, through CORS).
    expect(codecLogs()).toContain('"path":"/decode"');
  } finally {
    await page.close();
  }
});

test('with the codec server stopped the same page shows the ciphertext as stored, never the marker', async () => {
  await stop(codec);
  const page = await browser.newPage();
  try {
    const text = await openHistory(
      page,
      'encrypted',
      (t) => t.includes('Codec Server could not connect') && t.includes(inputCiphertext),
    );
    expect(text).toContain(inputCiphertext);
    expect(text).toContain(ENCRYPTED_B64); // the payload's encoding metadata, as stored
    expect(text).toContain('Codec Server could not connect');
    expect(text).not.toContain(marker);
  } finally {
    await page.close();
  }
});
