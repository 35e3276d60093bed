/**
 * The page of `sluice ui` in headless Chromium (Debian's `chromium` through playwright-core, as
 * codec-ui.test.ts; scripts/ensure-browser.sh installs it), over a pipeline with succeeded,
 * failed, running, cancelled and never-ran dates (test/support/grid.ts): each cell's state and
 * tooltip against what Temporal says of the run, a cell's link to the run in the Temporal UI, and
 * a re-run of the failed date started from the page (with its confirmation) that then succeeds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readRunStatus } from '../../client/runs';
import { runUiUrl } from '../../common/env';
import { ROOT, SLUICE_BIN } from '../support/cli';
import { gateway } from '../support/gateway';
import { finishRunning, GRID_DATES, GRID_FROM, GRID_TO, seedGrid, type SeededGrid } from '../support/grid';
import { temporalTestContext, waitFor, type TestContext } from '../support/temporal';

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
const LABELS: Record<string, string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  running: 'running',
  cancelled: 'cancelled',
  skipped: 'skipped',
  never: 'never ran',
  waiting: 'waiting for a pool',
};

let ctx: TestContext;
let seeded: SeededGrid;
let ui: ChildProcess;
let uiUrl: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no browser at ${CHROMIUM}: run bash scripts/ensure-browser.sh (or set SLUICE_CHROMIUM)`);
  ctx = await temporalTestContext('e2e-grid-ui');
  await ctx.startWorker();
  const env = { SLUICE_TASK_QUEUE: ctx.settings.taskQueue };
  seeded = await seedGrid(ctx.client, env, 'grid-ui');
  let out = '';
  ui = spawn(process.execPath, [SLUICE_BIN, 'ui', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  ui.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  ui.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  uiUrl = await waitFor('sluice ui to listen', async () => {
    if (ui.exitCode !== null) throw new Error(`sluice ui exited: ${out}`);
    return /listening on (\S+)/.exec(out)?.[1];
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless=new', '--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  await page.goto(`${uiUrl}?pipeline=${seeded.name}&from=${GRID_FROM}&to=${GRID_TO}`);
  await page.waitForFunction('window.sluiceGrid && window.sluiceGrid.ready');
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (ui && ui.exitCode === null) {
    const exited = new Promise((r) => ui.once('exit', r));
    ui.kill('SIGTERM');
    await exited;
  }
  if (seeded) await finishRunning(ctx.client, seeded.name);
  await ctx?.close();
}, 60_000);

async function hover(ds: string, stage: string | null): Promise<{ x: number; y: number }> {
  // The page's own layout says where the cell is drawn (scrolling it into view).
  const at = await page.evaluate<{ x: number; y: number } | null>(
    `window.sluiceGrid.cellCenter(${JSON.stringify(ds)}, ${JSON.stringify(stage)})`,
  );
  if (!at) throw new Error(`no cell ${ds} × ${stage} on the page`);
  await page.mouse.move(at.x, at.y);
  return at;
}

async function tooltip(ds: string, stage: string): Promise<{ state: string; text: string }> {
  await hover(ds, stage);
  const tip = page.locator(`#tooltip[data-ds="${ds}"][data-stage="${stage}"]:not([hidden])`);
  await tip.waitFor();
  return { state: (await tip.getAttribute('data-state')) ?? '', text: await tip.innerText() };
}

test("each cell's state and tooltip (stage, state, duration, AWS job id, cost, message) are Temporal's", async () => {
  for (const ds of Object.values(GRID_DATES)) {
    const status =
      ds === GRID_DATES.never ? undefined : await readRunStatus(ctx.client.workflow, `${seeded.name}/${ds}`);
    for (const stage of ['land', 'transform', 'check']) {
      const { state, text } = await tooltip(ds, stage);
      expect(text.split('\n')[0]).toMatch(new RegExp(`^${ds} · ${stage} \\(`));
      if (!status) {
        expect([ds, stage, state]).toEqual([ds, stage, 'never']);
        expect(text).toContain('state: never ran');
        continue;
      }
      const s = status.stages.find((st) => st.id === stage);
      expect(s).toBeDefined();
      if (!s) continue;
      const want = s.state === 'running' && s.pool && !s.pool.grantedAt ? 'waiting' : s.state;
      expect([ds, stage, state]).toEqual([ds, stage, want]);
      expect(text).toContain(`state: ${LABELS[want]}`);
      const jobId = s.jobId ?? s.result?.jobId ?? s.error?.jobId;
      if (jobId) expect(text).toContain(`AWS job id: ${jobId}`);
      if (s.startedAt && s.endedAt) expect(text).toMatch(/duration: [\d.]+ (s|min)/);
      if (s.state === 'failed') expect(text).toContain(s.error?.message?.slice(0, 40) ?? '?');
      // Athena reports the bytes it scanned: a succeeded check has a cost.
      if (stage === 'check' && s.state === 'succeeded') expect(text).toMatch(/cost: \$\d/);
    }
  }
});

test("a cell's click opens its run in the Temporal UI", async () => {
  const desc = await ctx.client.workflow.getHandle(`${seeded.name}/${GRID_DATES.failed}`).describe();
  const url = runUiUrl(ctx.settings, desc.workflowId, desc.runId) as string;
  expect(url).toBeDefined();
  const at = await hover(GRID_DATES.failed, 'check');
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.mouse.click(at.x, at.y)]);
  await popup.waitForLoadState();
  expect(popup.url()).toBe(url);
  // The Temporal UI shows that run.
  await popup.getByText(desc.runId).first().waitFor({ timeout: 60_000 });
  await popup.close();
});

test('a failed date re-run from the page, after its confirmation, runs anew and the live grid shows it succeeded', async () => {
  const workflowId = `${seeded.name}/${GRID_DATES.failed}`;
  // The check passes now: the re-run's new query sees rows.
  await gateway.setScenario({
    service: 'athena',
    match: `${seeded.table} WHERE dt = '${GRID_DATES.failed}'`,
    durationMs: 200,
    result: { columns: ['n'], rows: [['1']] },
  });
  const at = await hover(GRID_DATES.failed, null);
  await page.mouse.click(at.x, at.y);
  await expect(page.locator('#selection').innerText()).resolves.toContain('1 date selected (1 failed)');
  await page.click('#rerun');
  await page.waitForSelector('#confirm[open]');
  expect(await page.locator('#confirm-text').innerText()).toContain(`Re-run ${seeded.name} for ${GRID_DATES.failed}?`);
  // Nothing starts before the confirmation.
  expect((await ctx.client.workflow.count(`WorkflowId = "${workflowId}"`)).count).toBe(1);
  await page.click('#confirm-ok');
  await page.locator('#outcome', { hasText: 'Started: ' }).waitFor();
  const outcome = await page.locator('#outcome').innerText();
  const runId = /run ([0-9a-f-]+), generation 1/.exec(outcome)?.[1];
  expect(runId).toBeDefined();
  const rerun = ctx.client.workflow.getHandle(workflowId, runId);
  expect((await rerun.describe()).runId).toBe(runId);
  await rerun.result();
  // The page refreshes while a date runs (03-04): the date turns succeeded on its own.
  await page.waitForFunction(
    `(() => { const d = window.sluiceGrid.data.dates.find((r) => r.ds === ${JSON.stringify(GRID_DATES.failed)}); return d && d.runId === ${JSON.stringify(runId)} && d.status === 'Succeeded'; })()`,
    undefined,
    { timeout: 60_000 },
  );
  expect((await tooltip(GRID_DATES.failed, 'check')).state).toBe('succeeded');
});
