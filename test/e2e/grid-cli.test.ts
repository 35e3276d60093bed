/**
 * `sluice grid` as users run it (bin/sluice.js) over a pipeline with succeeded, failed, running,
 * cancelled and never-ran dates (test/support/grid.ts): the text and --json, each cell against
 * what Temporal itself says of the run (readRunStatus: result, failure, memo, query).
 */
import { readRunStatus } from '../../client/runs';
import type { StageStatus } from '../../common/run-types';
import { sluice } from '../support/cli';
import {
  FAILED_MESSAGE,
  finishRunning,
  GRID_DATES,
  GRID_FROM,
  GRID_TO,
  seedGrid,
  type SeededGrid,
} from '../support/grid';
import { temporalTestContext, type TestContext } from '../support/temporal';

let ctx: TestContext;
let env: NodeJS.ProcessEnv;
let seeded: SeededGrid;

beforeAll(async () => {
  ctx = await temporalTestContext('e2e-grid-cli');
  await ctx.startWorker();
  env = { SLUICE_TASK_QUEUE: ctx.settings.taskQueue };
  seeded = await seedGrid(ctx.client, env, 'grid-cli');
}, 240_000);

afterAll(async () => {
  if (seeded) await finishRunning(ctx.client, seeded.name);
  await ctx?.close();
});

/** The cell state the grid must show for a stage as Temporal reports it. */
function expected(s: StageStatus): string {
  return s.state === 'running' && s.pool && !s.pool.grantedAt ? 'waiting' : s.state;
}

interface JsonCell {
  state: string;
  jobId?: string;
  message?: string;
  durationSeconds?: number;
  usd?: number;
}
interface JsonDate {
  ds: string;
  status: string;
  workflowId?: string;
  runId?: string;
  url?: string;
  cells: Record<string, JsonCell>;
}

test('--json: every date of the range, each stage cell as Temporal says, the failing message, and what it cost in calls', async () => {
  const res = await sluice(['grid', '--pipeline', seeded.name, '--from', GRID_FROM, '--to', GRID_TO, '--json'], env);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const grid = JSON.parse(res.stdout) as {
    stages: { id: string; kind: string }[];
    dates: JsonDate[];
    failing: { ds: string; stage: string; message: string }[];
    calls: Record<string, number>;
    workerUp: boolean;
  };
  expect(grid.stages).toEqual([
    { id: 'land', kind: 's3.put' },
    { id: 'transform', kind: 'glue.job' },
    { id: 'check', kind: 'athena.query' },
  ]);
  expect(grid.dates.map((d) => [d.ds, d.status])).toEqual([
    [GRID_DATES.succeeded, 'Succeeded'],
    [GRID_DATES.failed, 'Failed'],
    [GRID_DATES.never, 'never ran'],
    [GRID_DATES.running, 'Running'],
    [GRID_DATES.cancelled, 'Cancelled'],
  ]);
  for (const d of grid.dates) {
    if (d.ds === GRID_DATES.never) {
      expect(Object.values(d.cells).map((c) => c.state)).toEqual(['never', 'never', 'never']);
      continue;
    }
    const status = await readRunStatus(ctx.client.workflow, d.workflowId as string);
    expect(status).toBeDefined();
    const desc = await ctx.client.workflow.getHandle(d.workflowId as string).describe();
    expect(d.runId).toBe(desc.runId);
    expect(d.url).toContain(encodeURIComponent(d.workflowId as string));
    for (const s of status?.stages ?? []) {
      const cell = d.cells[s.id] as JsonCell;
      expect([d.ds, s.id, cell.state]).toEqual([d.ds, s.id, expected(s)]);
      const jobId = s.jobId ?? s.result?.jobId ?? s.error?.jobId;
      if (jobId) expect(cell.jobId).toBe(jobId);
    }
  }
  const byDate = Object.fromEntries(grid.dates.map((d) => [d.ds, d]));
  expect(byDate[GRID_DATES.failed]?.cells.check?.message).toContain(FAILED_MESSAGE);
  expect(byDate[GRID_DATES.succeeded]?.cells.check?.usd).toBeGreaterThan(0);
  expect(byDate[GRID_DATES.succeeded]?.cells.transform?.durationSeconds).toBeGreaterThan(0);
  expect(byDate[GRID_DATES.running]?.cells.check?.state).toBe('running');
  expect(byDate[GRID_DATES.cancelled]?.cells.check?.state).toBe('cancelled');
  expect(grid.failing).toEqual([expect.objectContaining({ ds: GRID_DATES.failed, stage: 'check' })]);
  // Closed runs from visibility pages alone: one list call, one DescribeTaskQueue, one query (the running date).
  expect(grid.workerUp).toBe(true);
  expect(grid.calls).toEqual({ list: 1, describeTaskQueue: 1, query: 1, result: 0, total: 3 });
});

test('the text: a row per date with a symbol per stage and the run status, totals, the failing cell; no colour off a terminal', async () => {
  const res = await sluice(['grid', '-p', seeded.name, '--from', GRID_FROM, '--to', GRID_TO], env);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const lines = res.stdout.split('\n');
  expect(lines[0]).toBe(`${seeded.name}: ${GRID_FROM} → ${GRID_TO}, 5 dates × 3 stages`);
  expect(lines[1]).toMatch(/^date\s+land\s+transform\s+check\s+run$/);
  const row = (ds: string) => (lines.find((l) => l.startsWith(ds)) ?? '').split(/\s+/);
  expect(row(GRID_DATES.succeeded)).toEqual([GRID_DATES.succeeded, '✔', '✔', '✔', 'Succeeded']);
  expect(row(GRID_DATES.failed)).toEqual([GRID_DATES.failed, '✔', '✔', '✘', 'Failed']);
  expect(row(GRID_DATES.never)).toEqual([GRID_DATES.never, '·', '·', '·', 'never', 'ran']);
  expect(row(GRID_DATES.running)).toEqual([GRID_DATES.running, '✔', '✔', '▶', 'Running']);
  expect(row(GRID_DATES.cancelled)).toEqual([GRID_DATES.cancelled, '✔', '✔', '■', 'Cancelled']);
  expect(res.stdout).toContain('  check: 1 failed, 1 cancelled, 1 running, 1 never ran, 1 succeeded');
  expect(res.stdout).toMatch(
    new RegExp(`failing \\(1\\):\\n  ${GRID_DATES.failed} check: .*${FAILED_MESSAGE.slice(0, 20)}`),
  );
  expect(res.stdout).not.toContain('\u001b[');
  // By week (ISO, Monday first): 03-01 … 03-03 and 03-04 … 03-05, each labelled by its first date in the range.
  const weeks = await sluice(['grid', '-p', seeded.name, '--from', GRID_FROM, '--to', GRID_TO, '--by', 'week'], env);
  expect(weeks.code).toBe(0);
  const wl = weeks.stdout.split('\n');
  expect(wl[0]).toContain('(2 weeks, each the worst state of its dates)');
  expect((wl.find((l) => l.startsWith('2024-03-01')) ?? '').split(/\s+/)).toEqual([
    '2024-03-01',
    '·',
    '1/3',
    '·',
    '1/3',
    '✘',
    '1/3',
    'Failed',
  ]);
  expect((wl.find((l) => l.startsWith('2024-03-04')) ?? '').split(/\s+/)).toEqual([
    '2024-03-04',
    '✔',
    '✔',
    '■',
    '1/2',
    'Cancelled',
  ]);
});

test('bad input exits 2 with the fix before connecting; a pipeline with no runs says so', async () => {
  const bad = await sluice(['grid', '-p', seeded.name, '--from', '2024-03-09', '--to', '2024-03-01'], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--from 2024-03-09 is after --to 2024-03-01');
  const by = await sluice(['grid', '-p', seeded.name, '--by', 'month'], env);
  expect(by.code).toBe(2);
  expect(by.stderr).toContain('--by must be day, week or auto (received "month")');
  const backfill = await sluice(['grid', '-p', seeded.name, '--backfill', 'x/backfill/2024-01-01..2024-01-02'], env);
  expect(backfill.code).toBe(2);
  expect(backfill.stderr).toContain(`--backfill must be a backfill of ${seeded.name}`);
  const none = await sluice(['grid', '-p', `${seeded.name}-none`], env);
  expect(none.code).toBe(0);
  expect(none.stdout.trim()).toBe(`No runs of ${seeded.name}-none found.`);
});
