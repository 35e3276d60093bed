/**
 * The page of `sluice ui` in headless Chromium (Debian's `chromium` through playwright-core, as
 * codec-ui.test.ts; scripts/ensure-browser.sh installs it), over a pipeline with succeeded,
 * failed, running, cancelled and never-ran dates (test/support/grid.ts): each cell's state and
 * tooltip against what Temporal says of the run, a cell's link to the run in the Temporal UI, and
 * the filters by state and by stage, a backfill of the failed dates of a selection started from the
 * page (after its confirmation; cancelling it starts nothing) that the page then follows live, and
 * a re-run of the failed date started from the page (with its confirmation) that then succeeds.
 * The words and colours of the states are the server's (client/grid-states.ts): the test checks the
 * page against that table, not a copy of it.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readRunStatus } from '../../client/runs';
import { CELL_STATES, STATE_LABEL, type CellState } from '../../client/grid-states';
import { backfillWorkflowId } from '../../client/backfills';
import { runUiUrl } from '../../common/env';
import { gateway } from '../support/gateway';
import {
  finishRunning,
  GRID_DATES,
  GRID_FROM,
  GRID_TO,
  seedGrid,
  startSluiceUi,
  type SeededGrid,
} from '../support/grid';
import { temporalTestContext, type TestContext } from '../support/temporal';

const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';

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
  ({ ui, url: uiUrl } = await startSluiceUi(env));
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

const STAGES = ['land', 'transform', 'check'];

/** What Temporal says of each date's stages now: the state the grid must show per date × stage. */
async function temporalStates(): Promise<Record<string, Record<string, CellState>>> {
  const out: Record<string, Record<string, CellState>> = {};
  for (const ds of Object.values(GRID_DATES)) {
    const status =
      ds === GRID_DATES.never ? undefined : await readRunStatus(ctx.client.workflow, `${seeded.name}/${ds}`);
    out[ds] = Object.fromEntries(
      STAGES.map((stage) => {
        const s = status?.stages.find((st) => st.id === stage);
        if (!s) return [stage, 'never'];
        return [stage, s.state === 'running' && s.pool && !s.pool.grantedAt ? 'waiting' : s.state];
      }),
    );
  }
  return out;
}

test("each cell's state, colour and tooltip (stage, state, duration, AWS job id, cost, message) are Temporal's", async () => {
  for (const ds of Object.values(GRID_DATES)) {
    const status =
      ds === GRID_DATES.never ? undefined : await readRunStatus(ctx.client.workflow, `${seeded.name}/${ds}`);
    for (const stage of STAGES) {
      const { state, text } = await tooltip(ds, stage);
      expect(text.split('\n')[0]).toMatch(new RegExp(`^${ds} · ${stage} \\(`));
      const drawn = await page.evaluate(`window.sluiceGrid.colourAt(${JSON.stringify(ds)}, ${JSON.stringify(stage)})`);
      if (!status) {
        expect([ds, stage, state, drawn]).toEqual([ds, stage, 'never', CELL_STATES.never.colour]);
        expect(text).toContain('state: never ran');
        continue;
      }
      const s = status.stages.find((st) => st.id === stage);
      expect(s).toBeDefined();
      if (!s) continue;
      const want: CellState = s.state === 'running' && s.pool && !s.pool.grantedAt ? 'waiting' : s.state;
      expect([ds, stage, state, drawn]).toEqual([ds, stage, want, CELL_STATES[want].colour]);
      expect(text).toContain(`state: ${STATE_LABEL[want]}`);
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

async function shown(): Promise<{ dates: string[]; stages: string[] }> {
  return page.evaluate('window.sluiceGrid.shown');
}

test('the state chips hide the dates having no cell of a shown state, the stage chips hide columns', async () => {
  const states = await temporalStates();
  const all = Object.values(GRID_DATES).sort();
  expect(await shown()).toEqual({ dates: all, stages: STAGES });
  /** The dates the filters must leave: those with a cell of a shown state in a shown stage. */
  const expectShown = (hiddenStates: string[], stages: string[]) =>
    all.filter((ds) => stages.some((st) => !hiddenStates.includes(states[ds]?.[st] as string)));

  await page.click('#states .chip[data-state="succeeded"]');
  expect((await shown()).dates).toEqual(expectShown(['succeeded'], STAGES));
  expect((await shown()).dates).not.toContain(GRID_DATES.succeeded);
  await page.click('#stages .chip[data-stage="check"]');
  expect(await shown()).toEqual({
    dates: expectShown(['succeeded'], ['land', 'transform']),
    stages: ['land', 'transform'],
  });
  // Only the never-ran date has a cell other than succeeded in land or transform.
  expect((await shown()).dates).toEqual([GRID_DATES.never]);
  expect(await page.evaluate(`window.sluiceGrid.cellCenter(${JSON.stringify(GRID_DATES.failed)}, 'check')`)).toBeNull();
  // A hidden state's chip says so, and both come back.
  expect(await page.locator('#states .chip[data-state="succeeded"]').getAttribute('class')).toContain('off');
  await page.click('#states .chip[data-state="succeeded"]');
  await page.click('#stages .chip[data-stage="check"]');
  expect(await shown()).toEqual({ dates: all, stages: STAGES });
});

/** Clicks a date's label; with `shift`, extends the selection to it. */
async function clickDate(ds: string, shift = false): Promise<void> {
  const at = await hover(ds, null);
  if (shift) await page.keyboard.down('Shift');
  await page.mouse.click(at.x, at.y);
  if (shift) await page.keyboard.up('Shift');
}

test('a backfill of the failed dates of a selection, after its confirmation, reruns only those, and the page follows it live', async () => {
  const backfillId = backfillWorkflowId(seeded.name, GRID_FROM, GRID_TO);
  const runsOf = async (ds: string) => (await ctx.client.workflow.count(`WorkflowId = "${seeded.name}/${ds}"`)).count;
  const before = Object.fromEntries(
    await Promise.all(Object.values(GRID_DATES).map(async (ds) => [ds, await runsOf(ds)] as const)),
  );
  const failedRun = (await ctx.client.workflow.getHandle(`${seeded.name}/${GRID_DATES.failed}`).describe()).runId;
  await clickDate(GRID_FROM);
  await clickDate(GRID_TO, true);
  await expect(page.locator('#selection').innerText()).resolves.toContain('5 dates selected (1 failed)');
  const ask = `Backfill the 1 failed date of ${seeded.name} from ${GRID_FROM} to ${GRID_TO}?`;
  // Cancel: nothing starts.
  await page.click('#backfill');
  await page.waitForSelector('#confirm[open]');
  expect(await page.locator('#confirm-text').innerText()).toContain(ask);
  await page.click('#confirm button[value="cancel"]');
  await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
  expect((await ctx.client.workflow.count(`WorkflowId = "${backfillId}"`)).count).toBe(0);
  // Confirm: the backfill starts, and the page follows it without being reloaded.
  await page.evaluate('window.sameDocument = true');
  const loads = await page.evaluate<number>('window.sluiceGrid.loads');
  await page.click('#backfill');
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm-ok');
  await page.locator('#outcome', { hasText: `Started: backfill ${backfillId}.` }).waitFor();
  expect(new URL(page.url()).searchParams.get('backfill')).toBe(backfillId);
  const backfill = ctx.client.workflow.getHandle(backfillId);
  expect((await backfill.describe()).type).toBe('backfillPipeline');
  // The check still fails on that date: the backfill's run of it fails again, and the backfill ends.
  await backfill.result().catch(() => undefined);
  const closed = (await backfill.describe()).status.name;
  await page.waitForFunction(
    `(() => { const d = window.sluiceGrid.data; return d.backfill && d.backfill.status === ${JSON.stringify(closed)}; })()`,
    undefined,
    { timeout: 60_000 },
  );
  const rerun = (await ctx.client.workflow.getHandle(`${seeded.name}/${GRID_DATES.failed}`).describe()).runId;
  expect(rerun).not.toBe(failedRun);
  await page.waitForFunction(
    `window.sluiceGrid.data.dates.find((r) => r.ds === ${JSON.stringify(GRID_DATES.failed)}).runId === ${JSON.stringify(rerun)}`,
    undefined,
    { timeout: 60_000 },
  );
  expect(await page.evaluate('window.sameDocument')).toBe(true);
  expect(await page.evaluate<number>('window.sluiceGrid.loads')).toBeGreaterThan(loads);
  await expect(page.locator('#status').innerText()).resolves.toContain(
    `backfill ${backfillId}: ${closed.toLowerCase()}`,
  );
  // Only the failed date ran again.
  for (const ds of Object.values(GRID_DATES))
    expect([ds, await runsOf(ds)]).toEqual([ds, (before[ds] as number) + (ds === GRID_DATES.failed ? 1 : 0)]);
  expect((await tooltip(GRID_DATES.failed, 'check')).state).toBe('failed');
  // The selection is cleared for the next test.
  await clickDate(GRID_FROM);
  await clickDate(GRID_FROM);
});

test('a failed date re-run from the page, after its confirmation, runs anew and the live grid shows it succeeded', async () => {
  const workflowId = `${seeded.name}/${GRID_DATES.failed}`;
  const runsBefore = (await ctx.client.workflow.count(`WorkflowId = "${workflowId}"`)).count;
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
  expect((await ctx.client.workflow.count(`WorkflowId = "${workflowId}"`)).count).toBe(runsBefore);
  await page.click('#confirm-ok');
  // (The backfill's outcome is still shown until this one replaces it.)
  await page.locator('#outcome', { hasText: `Started: ${workflowId} (run` }).waitFor();
  const outcome = await page.locator('#outcome').innerText();
  // A new generation (not the first run's 0), so its AWS jobs are fresh.
  const [, runId, generation] = /run ([0-9a-f-]+), generation (\d+)/.exec(outcome) ?? [];
  expect(runId).toBeDefined();
  expect(Number(generation)).toBeGreaterThanOrEqual(1);
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
