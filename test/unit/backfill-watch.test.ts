/**
 * `sluice backfill --wait` (client/cli/backfill-watch.ts): the bar's last line, the one left on the
 * screen, shows the cost of every succeeded date, as the summary printed after it does; while the
 * backfill runs, succeeded dates are priced at most every 10 s.
 */
import type { BackfillProgress } from '../../common/backfill-types';
import type { BackfillOutcome } from '../../client/backfills';
import type { BackfillCost } from '../../client/costs';
import { costText, watchBackfill, type ProgressView } from '../../client/cli/backfill-watch';

const DATES = ['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04', '2024-03-05', '2024-03-06', '2024-03-07'];
const USD_PER_DATE = 0.01;

function progress(succeeded: number): BackfillProgress {
  return {
    pipeline: 'sales',
    from: DATES[0]!,
    to: DATES[DATES.length - 1]!,
    only: 'all',
    order: 'oldest',
    concurrency: 4,
    total: DATES.length,
    counts: {
      pending: 0,
      running: DATES.length - succeeded,
      succeeded,
      failed: 0,
      skipped: 0,
      cancelled: 0,
    },
    running: DATES.slice(succeeded),
    failed: [],
    paused: false,
    cancelling: false,
    segment: 1,
    startedAt: '2024-03-08T00:00:00.000Z',
  };
}

/** BackfillCosts without Temporal: every date costs the same; `reads` lists each add(). */
function fakeCosts() {
  const priced = new Set<string>();
  const reads: string[][] = [];
  return {
    reads,
    async add(dates: readonly string[]) {
      reads.push([...dates]);
      await Promise.resolve();
      for (const d of dates) priced.add(d);
    },
    total(): BackfillCost {
      return priced.size
        ? { usd: priced.size * USD_PER_DATE, dates: priced.size, partial: 0, note: `${priced.size} dates` }
        : { dates: 0, partial: 0, note: 'no succeeded date yet' };
    },
  };
}

/** The bar: what each update shows as cost; stop() leaves the last update's line on the screen. */
function fakeView() {
  const shown: string[] = [];
  let last: string | undefined;
  const view = (cost: () => string): ProgressView => ({
    update: () => shown.push(cost()),
    stop: () => (last = shown[shown.length - 1]),
  });
  return { view, shown, lastLine: () => last };
}

/** waitForBackfill's shape: readings at the given seconds (the last one once it ended), then the outcome. */
function backfill(readings: [seconds: number, succeeded: number][], clock: { now: number }) {
  return async (onProgress: (p: BackfillProgress) => void): Promise<BackfillOutcome> => {
    for (const [seconds, succeeded] of readings) {
      clock.now = seconds * 1000;
      onProgress(progress(succeeded));
      await new Promise((r) => setImmediate(r)); // the reads it started settle before the next reading
    }
    return {
      status: 'succeeded',
      report: {
        pipeline: 'sales',
        from: '',
        to: '',
        succeeded: DATES,
        failed: [],
        skipped: [],
        cancelled: [],
        status: 'succeeded',
      },
    };
  };
}

test("the bar's last line shows the cost of every succeeded date, the same as the summary", async () => {
  const clock = { now: 0 };
  const costs = fakeCosts();
  const bar = fakeView();
  // Two dates priced at the first reading; the other five succeed before the next 10 s are up.
  const { outcome, cost } = await watchBackfill({
    wait: backfill(
      [
        [10, 2],
        [13, 5],
        [16, 7],
      ],
      clock,
    ),
    succeeded: async () => DATES.slice(0, 2),
    pools: async () => '',
    costs,
    view: bar.view,
    now: () => clock.now,
  });
  expect(outcome.status).toBe('succeeded');
  expect(cost.usd).toBeCloseTo(DATES.length * USD_PER_DATE);
  const twoDates = costText({ usd: 2 * USD_PER_DATE, dates: 2, partial: 0, note: '2 dates' });
  // The readings: nothing priced yet, then the first two dates, also at the end.
  expect(bar.shown.slice(0, 3)).toEqual(['…', twoDates, twoDates]);
  expect(bar.lastLine()).toBe(costText(cost));
  expect(costText(cost)).not.toBe(twoDates);
});

test('while it runs, succeeded dates are priced at most every 10 s, and only once some have succeeded', async () => {
  const clock = { now: 0 };
  const costs = fakeCosts();
  await watchBackfill({
    wait: backfill(
      [
        [10, 0],
        [12, 1],
        [15, 2],
        [23, 3],
        [30, 7],
      ],
      clock,
    ),
    succeeded: async () => DATES.slice(0, 3),
    pools: async () => '',
    costs,
    now: () => clock.now,
  });
  // At 12 s (the first date succeeded) and 23 s (10 s later); then every date once it ended.
  expect(costs.reads).toEqual([DATES.slice(0, 3), DATES.slice(0, 3), DATES]);
});

test("the bar's cost: '…' until a date is priced, '≥' when some dates have stages without figures", () => {
  expect(costText({ dates: 0, partial: 0, note: 'no succeeded date yet' })).toBe('…');
  expect(costText({ usd: 0.047, dates: 7, partial: 0, note: '7 dates' })).not.toContain('≥');
  expect(costText({ usd: 0.047, dates: 7, partial: 2, note: 'at least' })).toMatch(/^≥ \$0\.047/);
});
