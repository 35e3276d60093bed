import type { BackfillProgress } from '../../common/backfill-types';
import { estimate } from '../../client/backfills';

function progress(counts: Partial<BackfillProgress['counts']>, startedAt: string): BackfillProgress {
  return {
    pipeline: 'p',
    from: '2024-01-01',
    to: '2024-01-10',
    only: 'all',
    order: 'oldest',
    concurrency: 2,
    total: 10,
    counts: { pending: 0, running: 0, succeeded: 0, failed: 0, skipped: 0, cancelled: 0, ...counts },
    running: [],
    failed: [],
    paused: false,
    cancelling: false,
    segment: 1,
    startedAt,
  };
}

describe('backfill ETA', () => {
  const start = '2024-01-01T00:00:00.000Z';
  const at = (seconds: number) => Date.parse(start) + seconds * 1000;

  test('unknown until a date has run, zero when nothing is left', () => {
    expect(estimate(progress({ pending: 8, running: 2 }, start), 0, at(30))).toBe('…');
    expect(estimate(progress({ succeeded: 10 }, start), 10, at(30))).toBe('0s');
  });

  test('the pace so far times the dates left (running ones included)', () => {
    // 4 dates ran in 40 s: 10 s a date; 6 left → 60 s.
    expect(estimate(progress({ succeeded: 3, failed: 1, pending: 4, running: 2 }, start), 4, at(40))).toBe('60s');
    // 1 date in 5 min, 9 left → 45 min.
    expect(estimate(progress({ succeeded: 1, pending: 9 }, start), 1, at(300))).toBe('45m');
    // 1 date in 1 h, 9 left → 9 h.
    expect(estimate(progress({ succeeded: 1, pending: 9 }, start), 1, at(3600))).toBe('9.0h');
  });
});
