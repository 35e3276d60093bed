/** The grid's pure parts (issue #22): the run's record, cells, the matrix, week folding, worst state, the text. */
import { asGridRecord, GRID_MESSAGE_MAX, gridRecord } from '../../common/grid-memo';
import { DEFAULT_PRICES, stageCost } from '../../common/prices';
import type { RunStatus } from '../../common/run-types';
import { cellsOf, type GridData, type GridRun } from '../../client/grid-data';
import { buildMatrix, foldWeeks, gridJson, weekStart, worstState } from '../../client/grid-matrix';
import { checkGridRequest } from '../../client/grid-options';
import { chooseFold, renderGrid, useColour } from '../../client/grid-text';
import { UserInputError } from '../../client/errors';

const glueUsage = { glue: { executionSeconds: 60, dpus: 10 }, basis: 'ExecutionTime 60 s × 10 DPU' };

const run: RunStatus = {
  pipeline: 'sales',
  ds: '2024-03-04',
  generation: 1,
  status: 'failed',
  stages: [
    {
      id: 'land',
      kind: 's3.put',
      state: 'succeeded',
      dependsOn: [],
      startedAt: '2024-03-05T00:00:00.000Z',
      endedAt: '2024-03-05T00:00:01.500Z',
      result: { summary: 'put', output: { big: 'x'.repeat(10_000) } },
    },
    {
      id: 'etl',
      kind: 'glue.job',
      state: 'succeeded',
      dependsOn: ['land'],
      startedAt: '2024-03-05T00:00:02.000Z',
      endedAt: '2024-03-05T00:01:02.000Z',
      jobId: 'jr_1',
      result: { summary: 'ok', usage: glueUsage, temporalActions: 3 },
    },
    {
      id: 'tables',
      kind: 'pipeline.run',
      state: 'succeeded',
      dependsOn: ['etl'],
      result: { summary: '48 of 50', output: { items: 50, succeeded: 48, failed: 2 } },
    },
    {
      id: 'check',
      kind: 'athena.query',
      state: 'failed',
      dependsOn: ['tables'],
      error: { message: `no rows ${'y'.repeat(1000)}`, jobId: 'q-9' },
    },
    {
      id: 'load',
      kind: 'redshift.sql',
      state: 'skipped',
      dependsOn: ['check'],
      reason: 'not started: another stage failed',
    },
    {
      id: 'wait',
      kind: 'glue.job',
      state: 'running',
      dependsOn: [],
      pool: { name: 'glue:etl', requestedAt: '2024-03-05T00:00:00.000Z' },
    },
  ],
};

test("a run's grid record keeps each stage's state, times, job id, items, usage and a cut message, and no outputs", () => {
  const rec = gridRecord(run);
  expect(asGridRecord(JSON.parse(JSON.stringify(rec)))).toEqual(rec);
  expect(rec).toMatchObject({ v: 1, status: 'failed', generation: 1 });
  const by = Object.fromEntries(rec.stages.map((s) => [s.id, s]));
  expect(by.land).toEqual({
    id: 'land',
    kind: 's3.put',
    state: 'succeeded',
    startedAt: '2024-03-05T00:00:00.000Z',
    endedAt: '2024-03-05T00:00:01.500Z',
  });
  expect(by.etl).toMatchObject({ jobId: 'jr_1', usage: glueUsage, temporalActions: 3 });
  expect(by.tables?.items).toEqual({ succeeded: 48, total: 50 });
  expect(by.check?.jobId).toBe('q-9');
  expect(by.check?.message).toHaveLength(GRID_MESSAGE_MAX);
  expect(by.check?.message?.endsWith('…')).toBe(true);
  expect(by.load?.message).toBe('not started: another stage failed');
  expect(by.wait?.waitingFor).toBe('glue:etl');
  // Small: the record of a 6-stage run, one stage with a 10 kB output.
  expect(JSON.stringify(rec).length).toBeLessThan(1500);
  expect(asGridRecord({ v: 2, stages: [] })).toBeUndefined();
  expect(asGridRecord(undefined)).toBeUndefined();
});

test("cells carry the duration, the stage's cost at the price table's rates, and waiting for a pool as its own state", () => {
  const cells = cellsOf(gridRecord(run), DEFAULT_PRICES);
  expect(cells.land).toMatchObject({ state: 'succeeded', durationSeconds: 1.5 });
  expect(cells.etl?.usd).toBe(stageCost(glueUsage, DEFAULT_PRICES, 3).usd);
  expect(cells.etl?.usd).toBeGreaterThan(0);
  expect(cells.check).toMatchObject({ state: 'failed', jobId: 'q-9' });
  expect(cells.check?.usd).toBeUndefined();
  expect(cells.wait).toMatchObject({ state: 'waiting', waitingFor: 'glue:etl' });
});

test('the worst state wins: failed over cancelled over running over never ran over succeeded', () => {
  expect(worstState(['succeeded', 'failed', 'running'])).toBe('failed');
  expect(worstState(['succeeded', 'cancelled', 'running'])).toBe('cancelled');
  expect(worstState(['succeeded', 'running', 'never'])).toBe('running');
  expect(worstState(['succeeded', 'never', 'skipped'])).toBe('never');
  expect(worstState(['succeeded', 'succeeded'])).toBe('succeeded');
  expect(worstState(['waiting', 'running'])).toBe('waiting');
  expect(worstState([])).toBe('never');
});

function gridRun(ds: string, status: string, cells: GridRun['cells'], extra: Partial<GridRun> = {}): GridRun {
  return {
    ds,
    workflowId: `sales/${ds}`,
    runId: `r-${ds}`,
    status,
    startedAt: `${ds}T01:00:00.000Z`,
    url: `http://ui/namespaces/default/workflows/sales%2F${ds}/r-${ds}/history`,
    executions: 1,
    source: 'memo',
    cells,
    ...extra,
  };
}

// 2024-03-04 is a Monday: two ISO weeks, 03-04..03-10 and 03-11..03-12.
const data: GridData = {
  pipeline: 'sales',
  from: '2024-03-04',
  to: '2024-03-12',
  stages: ['land', 'check'],
  kinds: { land: 's3.put', check: 'athena.query' },
  dates: [
    '2024-03-04',
    '2024-03-05',
    '2024-03-06',
    '2024-03-07',
    '2024-03-08',
    '2024-03-09',
    '2024-03-10',
    '2024-03-11',
    '2024-03-12',
  ],
  runs: {
    '2024-03-04': gridRun('2024-03-04', 'Succeeded', { land: { state: 'succeeded' }, check: { state: 'succeeded' } }),
    '2024-03-05': gridRun('2024-03-05', 'Failed', {
      land: { state: 'succeeded' },
      check: { state: 'failed', message: 'no rows', jobId: 'q-5' },
    }),
    '2024-03-06': gridRun('2024-03-06', 'Running', {}, { source: 'none', note: 'no worker' }),
    '2024-03-11': gridRun('2024-03-11', 'Cancelled', { land: { state: 'cancelled' } }),
    '2024-03-12': gridRun('2024-03-12', 'Succeeded', {
      land: { state: 'succeeded', items: { succeeded: 48, total: 50 } },
      check: { state: 'succeeded' },
    }),
  },
  calls: { list: 1, describeTaskQueue: 1, query: 0, result: 0 },
  workerUp: false,
  loadMs: 5,
};

test('the matrix: one row per date, never ran where no run, unknown where no stage is known, totals and failing cells', () => {
  const m = buildMatrix(data, 'day');
  expect(m.rows.map((r) => r.label)).toEqual(data.dates);
  const row = (ds: string) => m.rows.find((r) => r.label === ds)?.cells.map((c) => c.state);
  expect(row('2024-03-05')).toEqual(['succeeded', 'failed']);
  expect(row('2024-03-06')).toEqual(['unknown', 'unknown']);
  expect(row('2024-03-07')).toEqual(['never', 'never']);
  // A stage absent from a run that recorded others never ran in it.
  expect(row('2024-03-11')).toEqual(['cancelled', 'never']);
  expect(m.rows.find((r) => r.label === '2024-03-12')?.cells[0]).toEqual({ state: 'succeeded', text: '48/50' });
  expect(m.rows.find((r) => r.label === '2024-03-07')?.status).toBe('never ran');
  expect(m.totals.check).toEqual({ succeeded: 2, failed: 1, unknown: 1, never: 5 });
  expect(m.totals.land).toEqual({ succeeded: 3, unknown: 1, never: 4, cancelled: 1 });
  expect(m.failing).toEqual([
    { ds: '2024-03-05', stage: 'check', message: 'no rows', jobId: 'q-5', url: data.runs['2024-03-05']?.url },
  ]);
});

test('weeks fold Monday to Sunday, each cell the worst of its dates with how many had it', () => {
  expect(weekStart('2024-03-04')).toBe('2024-03-04');
  expect(weekStart('2024-03-10')).toBe('2024-03-04'); // a Sunday
  expect(weekStart('2024-03-11')).toBe('2024-03-11');
  expect(weekStart('2024-01-01')).toBe('2024-01-01');
  expect(weekStart('2023-01-01')).toBe('2022-12-26'); // a Sunday, in the week of the year before
  const weeks = buildMatrix(data, 'week').rows;
  expect(weeks.map((w) => [w.label, w.dates.length, w.status])).toEqual([
    ['2024-03-04', 7, 'Failed'],
    ['2024-03-11', 2, 'Cancelled'],
  ]);
  expect(weeks[0]?.cells).toEqual([
    { state: 'unknown', text: '1/7' },
    { state: 'failed', text: '1/7' },
  ]);
  expect(weeks[1]?.cells).toEqual([
    { state: 'cancelled', text: '1/2' },
    { state: 'never', text: '1/2' },
  ]);
  // Folding the folded rows' source by hand gives the same.
  expect(foldWeeks(buildMatrix(data, 'day').rows)).toEqual(weeks);
});

test('the text grid: a symbol per state, the run status, totals, failing cells with message, job id and link; colour only when asked', () => {
  const m = buildMatrix(data, 'day');
  const plain = renderGrid(m, data, { colour: false });
  expect(plain[0]).toBe('sales: 2024-03-04 → 2024-03-12, 9 dates × 2 stages');
  expect(plain[1]).toMatch(/^date\s+land\s+check\s+run$/);
  // A column is as wide as its widest cell ("✔ 48/50") or its name.
  expect(plain).toContain('2024-03-05  ✔        ✘      Failed');
  expect(plain).toContain('2024-03-07  ·        ·      never ran');
  expect(plain).toContain('2024-03-06  ?        ?      Running');
  expect(plain.find((l) => l.startsWith('2024-03-12'))).toMatch(/^2024-03-12 {2}✔ 48\/50 {2}✔ +Succeeded$/);
  expect(plain).toContain('  check: 1 failed, 1 unknown, 5 never ran, 2 succeeded');
  expect(plain).toContain(`  2024-03-05 check: no rows (job q-5) ${data.runs['2024-03-05']?.url}`);
  expect(plain.join('\n')).not.toContain('\u001b[');
  const coloured = renderGrid(m, data, { colour: true }).join('\n');
  expect(coloured).toContain('\u001b[31;1m✘\u001b[0m');
  // Colour changes nothing but the escapes.
  // eslint-disable-next-line no-control-regex -- the ANSI escapes themselves
  expect(coloured.replace(/\u001b\[[\d;]*m/g, '')).toBe(plain.join('\n'));
  expect(renderGrid(buildMatrix(data, 'week'), data)[0]).toContain('(2 weeks, each the worst state of its dates)');
});

test('colour on a terminal only, and never with NO_COLOR; weeks when the dates do not fit the screen', () => {
  expect(useColour({ isTTY: true }, {})).toBe(true);
  expect(useColour({ isTTY: false }, {})).toBe(false);
  expect(useColour({}, {})).toBe(false);
  expect(useColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
  expect(useColour({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  expect(chooseFold(3650, 50, 10)).toBe('week');
  expect(chooseFold(30, 50, 10)).toBe('day');
  expect(chooseFold(3650, undefined, 10)).toBe('day');
});

test('--json lists every date of the range, never-ran ones too, with each stage cell and the calls it cost', () => {
  const j = gridJson(data, buildMatrix(data, 'day'));
  expect(j.dates).toHaveLength(9);
  expect(j.dates[3]).toEqual({
    ds: '2024-03-07',
    status: 'never ran',
    cells: { land: { state: 'never' }, check: { state: 'never' } },
  });
  expect(j.dates[1]).toMatchObject({
    ds: '2024-03-05',
    status: 'Failed',
    runId: 'r-2024-03-05',
    cells: { check: { state: 'failed' } },
  });
  expect(j.stages).toEqual([
    { id: 'land', kind: 's3.put' },
    { id: 'check', kind: 'athena.query' },
  ]);
  expect(j.calls).toEqual({ list: 1, describeTaskQueue: 1, query: 0, result: 0, total: 2 });
});

test('a grid request: a backfill gives its range; bad names, dates and ranges are refused with the fix', () => {
  expect(checkGridRequest({ pipeline: 'sales', backfill: 'sales/backfill/2024-01-01..2024-03-31' })).toEqual({
    pipeline: 'sales',
    from: '2024-01-01',
    to: '2024-03-31',
    backfill: 'sales/backfill/2024-01-01..2024-03-31',
  });
  expect(
    checkGridRequest({ pipeline: 'sales', from: '2024-02-01', backfill: 'sales/backfill/2024-01-01..2024-03-31' }).from,
  ).toBe('2024-02-01');
  expect(() => checkGridRequest({ pipeline: 'Sales' })).toThrow(
    /--pipeline must be a pipeline's name.*received "Sales"/,
  );
  expect(() => checkGridRequest({ pipeline: 'sales', backfill: 'other/backfill/2024-01-01..2024-03-31' })).toThrow(
    UserInputError,
  );
  expect(() => checkGridRequest({ pipeline: 'sales', from: '2024-02-30' })).toThrow(/2024-02-30/);
  expect(() => checkGridRequest({ pipeline: 'sales', from: '2024-03-02', to: '2024-03-01' })).toThrow(/is after --to/);
  expect(() => checkGridRequest({ pipeline: 'sales', from: '1900-01-01', to: '2024-03-01' })).toThrow(
    /more than one grid shows/,
  );
});
