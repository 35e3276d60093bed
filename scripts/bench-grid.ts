/**
 * npm run bench:grid [-- --dates 3650 --stages 10 --reseed --screenshot docs/grid.png]
 *
 * The grid at scale (issue #22): how long the data of `--dates` dates × `--stages` stages takes to
 * load from Temporal (client/grid-data.ts, as `sluice grid` and `sluice ui` load it), how long
 * the page of `sluice ui` takes to draw it in headless Chromium, and how many Temporal calls one
 * grid costs. Goals: load ≤ 2 s, render ≤ 1 s.
 *
 * The runs are real: a backfill of real runPipeline workflows on the local dev server, each
 * writing its grid memo when it closes, whose stages are an in-process activity that returns at
 * once (no AWS call: the bench measures the grid, not the emulator) with a job id, a Glue usage
 * figure (so each cell has a cost), and, on 7 dates spread over the range, a failed quality check.
 * The pipeline keeps its name per size, so a second run reuses the runs on the server (the local
 * stack keeps its data) unless `--reseed`.
 */
import { parseArgs } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { chromium, type Browser } from 'playwright-core';
import { startBackfill } from '../client/backfills';
import { loadGrid, totalCalls } from '../client/grid-data';
import { startUiServer } from '../client/grid-server';
import { connectClient } from '../client/runs';
import { ERROR_TYPES } from '../common/constants';
import { dateRange } from '../common/dates';
import { temporalSettings } from '../common/env';
import { definePipeline } from '../common/pipeline';
import type { StageInput, StageResult } from '../common/run-types';
import { applyLocalEnv } from '../test/support/env';
import { createActivities } from '../activities';
import { createSluiceWorker } from '../workers/worker';

const { values } = parseArgs({
  options: {
    dates: { type: 'string', default: '3650' },
    stages: { type: 'string', default: '10' },
    reseed: { type: 'boolean', default: false },
    screenshot: { type: 'string' },
    repeat: { type: 'string', default: '3' },
  },
});
const DATES = Number(values.dates);
const STAGES = Number(values.stages);
const REPEAT = Number(values.repeat);
for (const [flag, v] of [
  ['--dates', DATES],
  ['--stages', STAGES],
  ['--repeat', REPEAT],
] as const)
  if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a whole number >= 1 (received ${String(v)})`);
const FROM = '2015-01-01';
const TO = dateRange(FROM, '2099-12-31')[DATES - 1] as string;
const ALL = dateRange(FROM, TO);
/** 7 dates whose check fails, spread over the range. */
const FAILING = new Set(Array.from({ length: 7 }, (_, i) => ALL[Math.floor(((i + 0.5) * ALL.length) / 7)] as string));
const CHROME = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  applyLocalEnv();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const settings = { ...temporalSettings(), taskQueue: `bench-grid-${DATES}x${STAGES}` };
  const client = await connectClient(settings);
  const name = `bench-grid-${DATES}x${STAGES}`;
  const stageIds = ['land', ...Array.from({ length: STAGES - 2 }, (_, i) => `step_${i + 1}`), 'check'].slice(0, STAGES);
  const pipeline = definePipeline({
    name,
    stages: stageIds.map((id) => ({ id, kind: 'glue.job', params: { JobName: `bench-${id}` }, pool: 'none' })),
  });
  const { count } = await client.workflow.count(`SluicePipeline = "${name}" AND ExecutionStatus != "Running"`);
  if (count < DATES || values.reseed) {
    const nc = await NativeConnection.connect({ address: settings.address });
    const worker = await createSluiceWorker({
      settings,
      connection: nc,
      maxConcurrentActivityTaskExecutions: 400,
      maxConcurrentWorkflowTaskExecutions: 100,
      workerOptions: {
        activities: {
          ...createActivities(),
          async runStage(input: StageInput): Promise<StageResult> {
            const jobId = `jr_${input.ds.replace(/-/g, '')}_${input.stageId}`;
            if (input.stageId === 'check' && FAILING.has(input.ds))
              throw ApplicationFailure.create({
                type: ERROR_TYPES.qualityCheck,
                nonRetryable: true,
                message: `expect rows >0: the query returned 0 rows (job ${jobId})`,
                details: [{ jobId }],
              });
            return {
              summary: 'bench',
              jobId,
              usage: { glue: { executionSeconds: 60, dpus: 2 }, basis: 'ExecutionTime 60 s × 2 DPU' },
            };
          },
        },
      },
    });
    const running = worker.run();
    const t0 = Date.now();
    console.log(`seeding ${DATES} dates × ${STAGES} stages of ${name} (a backfill at concurrency 50)…`);
    const started = await startBackfill(client, settings, pipeline, {
      from: FROM,
      to: TO,
      concurrency: 50,
      only: 'all',
      order: 'oldest',
    });
    // 7 dates fail: the backfill ends failed, as it should.
    await started.handle.result().catch(() => undefined);
    console.log(`seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    worker.shutdown();
    await running;
    await nc.close();
  } else console.log(`reusing the ${count} runs of ${name} on the server (--reseed to seed anew)`);

  const loads: number[] = [];
  let calls = '';
  let cells = 0;
  for (let i = 0; i < REPEAT; i++) {
    const data = await loadGrid(client, settings, { pipeline: name, from: FROM, to: TO });
    loads.push(data.loadMs);
    cells = Object.values(data.runs).reduce((n, r) => n + Object.keys(r.cells).length, 0);
    calls = `${totalCalls(data.calls)} (${data.calls.list} visibility list pages of up to 1,000 runs, ${data.calls.describeTaskQueue} DescribeTaskQueue, ${data.calls.query} queries, ${data.calls.result} history reads)`;
  }
  const { server, url } = await startUiServer({ client, settings, port: 0, host: '127.0.0.1' });
  const browser = await chromium.launch({ executablePath: CHROME, args: ['--headless=new', '--no-sandbox'] });
  const renders: { fetchMs: number; renderMs: number; parseMs: number }[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    for (let i = 0; i < REPEAT; i++) {
      await page.goto(`${url}?pipeline=${name}&from=${FROM}&to=${TO}`);
      await page.waitForFunction('window.sluiceGrid && window.sluiceGrid.ready', undefined, { timeout: 60_000 });
      renders.push(await page.evaluate<(typeof renders)[number]>('window.sluiceGrid.timings'));
    }
    if (values.screenshot) await screenshot(browser, url, name, values.screenshot);
  } finally {
    await browser.close();
    server.close();
    server.closeAllConnections();
  }
  console.log(`\ngrid of ${name}: ${DATES} dates × ${STAGES} stages (${cells} cells with a run), ${REPEAT} times each`);
  console.log(`| figure | median | all | goal |`);
  console.log(`| --- | --- | --- | --- |`);
  console.log(
    `| load (Temporal → grid data, client/grid-data.ts) | ${median(loads)} ms | ${loads.join(', ')} ms | ≤ 2,000 ms |`,
  );
  console.log(
    `| page: fetch (server load + JSON) | ${median(renders.map((r) => r.fetchMs))} ms | ${renders.map((r) => r.fetchMs).join(', ')} ms | |`,
  );
  console.log(
    `| page: render (parse, layout, draw, first frame) | ${median(renders.map((r) => r.parseMs + r.renderMs))} ms | ${renders.map((r) => r.parseMs + r.renderMs).join(', ')} ms | ≤ 1,000 ms |`,
  );
  console.log(`Temporal calls per grid: ${calls}`);
  await client.connection.close();
}

/** The README's picture: a window of the range with failed dates, a failed cell's tooltip showing. */
async function screenshot(browser: Browser, url: string, name: string, file: string) {
  const failing = [...FAILING].sort();
  const around = failing[1] as string;
  const from = dateRange(FROM, around).slice(-20)[0] as string;
  const to = dateRange(around, TO).slice(0, 14).pop() as string;
  const page = await browser.newPage({ viewport: { width: 900, height: 620 }, deviceScaleFactor: 1 });
  await page.goto(`${url}?pipeline=${name}&from=${from}&to=${to}`);
  await page.waitForFunction('window.sluiceGrid && window.sluiceGrid.ready');
  const at = await page.evaluate<{ x: number; y: number }>(
    `window.sluiceGrid.cellCenter(${JSON.stringify(around)}, 'check')`,
  );
  await page.mouse.move(at.x, at.y);
  await page.waitForSelector('#tooltip:not([hidden])');
  await page.screenshot({ path: file });
  console.log(`screenshot: ${file} (${from} → ${to})`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
