/**
 * The grid with encrypted payloads (issue #22; docs/operating.md, payload encryption): a worker
 * with keys runs a succeeded and a failed date, so each run's grid memo is stored encrypted. The
 * server holds ciphertext only (the failure message is nowhere in the listing); `sluice grid` and
 * the page of `sluice ui` (headless Chromium) given the same keys as the worker show every stage,
 * its job id and the failure message; without the keys, each date still shows its state (search
 * attributes are never encrypted) and says its stages are encrypted, naming the key id and the fix.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { MEMO_KEYS } from '../../common/constants';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../plugin/encryption';
import { parsePayloadKeys } from '../../plugin/payload-keys';
import { createBucket, uniqueName } from '../support/aws';
import { pipelineDir, sluice } from '../support/cli';
import { startSluiceUi } from '../support/grid';
import { newKeyEntry } from '../support/codec';
import { gateway } from '../support/gateway';
import { temporalTestContext, waitFor, type TestContext } from '../support/temporal';

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const KEY_ID = 'grid1';
const KEYS_TEXT = newKeyEntry(KEY_ID);
const OK = '2024-05-01';
const FAILED = '2024-05-02';
const MESSAGE = 'TABLE_NOT_FOUND: line 1:15: Table grid_secret_marker does not exist';

let ctx: TestContext;
let name: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const keys = parsePayloadKeys(KEYS_TEXT, 'test', undefined, []);
  if (!keys) throw new Error('test keys do not parse');
  ctx = await temporalTestContext('e2e-grid-codec');
  await ctx.startWorker({ payloads: { keys } });
  env = { SLUICE_TASK_QUEUE: ctx.settings.taskQueue, SLUICE_PAYLOAD_KEYS: KEYS_TEXT };
  name = uniqueName('grid-codec');
  const bucket = await createBucket();
  const table = uniqueName('events').replace(/-/g, '_');
  await gateway.setScenario({
    service: 'athena',
    match: table,
    durationMs: 100,
    result: { columns: ['n'], rows: [['1']] },
  });
  await gateway.setScenario({
    service: 'athena',
    match: `${table} WHERE dt = '${FAILED}'`,
    durationMs: 100,
    outcome: 'FAILED',
    message: MESSAGE,
  });
  const file = pipelineDir('sluice-grid-codec-').file(
    name,
    `name: ${name}
defaults:
  poll: { initial: 200ms, max: 1s }
stages:
  - id: land
    kind: s3.put
    params: { Bucket: ${bucket}, Key: "raw/{{ ds }}.csv", Body: "id\\n1\\n" }
  - id: check
    kind: athena.query
    dependsOn: [land]
    params: { QueryString: "SELECT count(*) FROM ${table} WHERE dt = '{{ ds }}'" }
`,
  );
  const [ok, failed] = await Promise.all(
    [OK, FAILED].map((ds) => sluice(['run', '--pipeline', file, '--date', ds, '--wait'], env)),
  );
  if (ok?.code !== 0 || failed?.code !== 1)
    throw new Error(`seeding runs: ${ok?.stdout}${ok?.stderr}${failed?.stdout}${failed?.stderr}`);
  await waitFor(
    'visibility to show both runs closed',
    async () =>
      (await ctx.client.workflow.count(`SluicePipeline = "${name}" AND ExecutionStatus != "Running"`)).count === 2,
  );
}, 240_000);

afterAll(async () => {
  await ctx?.close();
});

interface JsonDate {
  ds: string;
  status: string;
  source?: string;
  note?: string;
  cells: Record<string, { state: string; jobId?: string; message?: string }>;
}

async function gridJson(extraEnv: NodeJS.ProcessEnv): Promise<Record<string, JsonDate>> {
  const res = await sluice(['grid', '-p', name, '--from', OK, '--to', FAILED, '--json'], { ...env, ...extraEnv });
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const grid = JSON.parse(res.stdout) as { dates: JsonDate[] };
  return Object.fromEntries(grid.dates.map((d) => [d.ds, d]));
}

test("the server stores each run's grid memo encrypted: the failure message is not in the listing", async () => {
  const page = await ctx.client.workflowService.listWorkflowExecutions({
    namespace: ctx.settings.namespace,
    query: `SluicePipeline = "${name}"`,
  });
  expect(page.executions).toHaveLength(2);
  for (const info of page.executions) {
    const memo = info.memo?.fields?.[MEMO_KEYS.grid];
    expect(memo).toBeDefined();
    const meta = (k: string) => Buffer.from(memo?.metadata?.[k] ?? new Uint8Array()).toString();
    expect([meta('encoding'), meta(KEY_ID_METADATA)]).toEqual([ENCRYPTED_ENCODING, KEY_ID]);
  }
  const raw = Buffer.from(JSON.stringify(page.toJSON())).toString();
  expect(raw).not.toContain('grid_secret_marker');
  expect(raw).not.toContain(Buffer.from('grid_secret_marker').toString('base64').slice(0, 12));
});

test('sluice grid with the keys shows every stage, its job id and the failure message', async () => {
  const byDate = await gridJson({});
  expect(byDate[OK]).toMatchObject({ status: 'Succeeded', source: 'memo' });
  expect(byDate[OK]?.cells).toMatchObject({ land: { state: 'succeeded' }, check: { state: 'succeeded' } });
  expect(byDate[FAILED]).toMatchObject({ status: 'Failed', source: 'memo' });
  expect(byDate[FAILED]?.cells.land?.state).toBe('succeeded');
  expect(byDate[FAILED]?.cells.check).toMatchObject({ state: 'failed', message: expect.stringContaining(MESSAGE) });
  expect(byDate[FAILED]?.cells.check?.jobId).toMatch(/\S/);
});

test('without the keys: each date shows its state, its stages unknown with the key id and the fix', async () => {
  const byDate = await gridJson({ SLUICE_PAYLOAD_KEYS: '' });
  for (const [ds, status] of [
    [OK, 'Succeeded'],
    [FAILED, 'Failed'],
  ] as const) {
    expect(byDate[ds]).toMatchObject({ status, source: 'none' });
    // Not even the stages' names can be read: the grid has no columns rather than made-up ones.
    expect(byDate[ds]?.cells).toEqual({});
    expect(byDate[ds]?.note).toContain(`key id ${KEY_ID}`);
    expect(byDate[ds]?.note).toContain('SLUICE_PAYLOAD_KEYS');
  }
  expect(JSON.stringify(byDate)).not.toContain('grid_secret_marker');
});

describe('the page of sluice ui with the keys', () => {
  let ui: ChildProcess | undefined;
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
    if (ui && ui.exitCode === null) {
      const exited = new Promise((r) => ui?.once('exit', r));
      ui.kill('SIGTERM');
      await exited;
    }
  });

  test("decodes in its own process: the failed cell's tooltip has the message, the browser never gets a key", async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`no browser at ${CHROMIUM}: run bash scripts/ensure-browser.sh (or set SLUICE_CHROMIUM)`);
    const started = await startSluiceUi(env);
    ui = started.ui;
    const url = started.url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox'] });
    const page = await browser.newPage({ viewport: { width: 1000, height: 600 } });
    const bodies: string[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/api/'))
        void r.text().then(
          (t) => bodies.push(t),
          () => undefined,
        );
    });
    await page.goto(`${url}?pipeline=${name}&from=${OK}&to=${FAILED}`);
    await page.waitForFunction('window.sluiceGrid && window.sluiceGrid.ready');
    const at = await page.evaluate<{ x: number; y: number }>(
      `window.sluiceGrid.cellCenter(${JSON.stringify(FAILED)}, 'check')`,
    );
    await page.mouse.move(at.x, at.y);
    const tip = page.locator(`#tooltip[data-ds="${FAILED}"][data-stage="check"]:not([hidden])`);
    await tip.waitFor();
    expect(await tip.getAttribute('data-state')).toBe('failed');
    expect(await tip.innerText()).toContain(MESSAGE);
    await waitFor('the API answers to be read', async () => bodies.length >= 2);
    const key = KEYS_TEXT.split(':')[1] as string;
    for (const b of bodies) expect(b).not.toContain(key);
  });
});
