import { deadlineAt, deadlineProblem, zonedInstant } from '../../common/deadlines';

const iso = (ms: number) => new Date(ms).toISOString();
const START = Date.parse('2024-05-01T02:00:00Z');

describe('deadlineAt', () => {
  test.each([
    // spec, ds, expected instant
    [{ by: '06:00' }, '2024-05-01', '2024-05-01T06:00:00.000Z'],
    [{ by: '06:00', dayOffset: 1 }, '2024-05-01', '2024-05-02T06:00:00.000Z'],
    [{ by: '06:00', timezone: 'Europe/Berlin', dayOffset: 1 }, '2024-05-01', '2024-05-02T04:00:00.000Z'],
    [{ by: '06:00', timezone: 'Europe/Berlin', dayOffset: 1 }, '2024-01-15', '2024-01-16T05:00:00.000Z'],
    [{ by: '00:00', timezone: 'America/New_York' }, '2024-07-04', '2024-07-04T04:00:00.000Z'],
    [{ by: '23:59', timezone: 'Asia/Kolkata' }, '2024-02-29', '2024-02-29T18:29:00.000Z'],
    [{ by: '06:00', timezone: 'Pacific/Chatham' }, '2024-06-01', '2024-05-31T17:15:00.000Z'],
    // The last date of a month and of a year, a day on.
    [{ by: '06:00', dayOffset: 1 }, '2024-02-29', '2024-03-01T06:00:00.000Z'],
    [{ by: '06:00', dayOffset: 1 }, '2024-12-31', '2025-01-01T06:00:00.000Z'],
    // Clocks go forward in Berlin at 02:00 on 2024-03-31: 02:30 does not exist, it is 03:30 CEST.
    [{ by: '02:30', timezone: 'Europe/Berlin' }, '2024-03-31', '2024-03-31T01:30:00.000Z'],
    [{ by: '03:00', timezone: 'Europe/Berlin' }, '2024-03-31', '2024-03-31T01:00:00.000Z'],
    [{ by: '01:59', timezone: 'Europe/Berlin' }, '2024-03-31', '2024-03-31T00:59:00.000Z'],
    // Clocks go back at 03:00 on 2024-10-27: 02:30 happens twice, the first (CEST) counts.
    [{ by: '02:30', timezone: 'Europe/Berlin' }, '2024-10-27', '2024-10-27T00:30:00.000Z'],
    [{ by: '03:00', timezone: 'Europe/Berlin' }, '2024-10-27', '2024-10-27T02:00:00.000Z'],
    // New York's gap (02:00 → 03:00 on 2024-03-10) and overlap (2024-11-03).
    [{ by: '02:15', timezone: 'America/New_York' }, '2024-03-10', '2024-03-10T07:15:00.000Z'],
    [{ by: '01:30', timezone: 'America/New_York' }, '2024-11-03', '2024-11-03T05:30:00.000Z'],
    // within counts from the scheduled start, whatever the date.
    [{ within: '3h' }, '2024-05-01', '2024-05-01T05:00:00.000Z'],
    [{ within: '90m' }, '2023-01-01', '2024-05-01T03:30:00.000Z'],
    [{ within: '1.5d' }, '2024-05-01', '2024-05-02T14:00:00.000Z'],
  ])('%j for %s is %s', (spec, ds, expected) => {
    expect(iso(deadlineAt(spec, ds, START))).toBe(expected);
  });

  test('the instant read back in its zone shows the wall time asked for, every day of a year', () => {
    const fmt = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Berlin',
      hourCycle: 'h23',
      hour: '2-digit',
      minute: '2-digit',
    });
    for (let d = 0; d < 366; d++) {
      const day = new Date(Date.UTC(2024, 0, 1 + d)).toISOString().slice(0, 10);
      expect(fmt.format(new Date(zonedInstant(day, 6, 0, 'Europe/Berlin')))).toBe('06:00');
    }
  });
});

describe('deadlineProblem', () => {
  test.each([
    [{ by: '06:00', timezone: 'Europe/Berlin', dayOffset: 1 }],
    [{ by: '00:00' }],
    [{ by: '23:59', dayOffset: 0 }],
    [{ within: '3h' }],
    [{ within: '45m' }],
  ])('%j reads', (spec) => {
    expect(deadlineProblem(spec)).toBeUndefined();
  });

  test.each([
    ['deadline.by', { by: '25:00' }, 'not a time of day'],
    ['deadline.by', { by: '6:00' }, 'not a time of day'],
    ['deadline.by', { by: 600 }, 'not a time of day'],
    ['deadline.timezone', { by: '06:00', timezone: 'Mars/Olympus' }, 'not a time zone'],
    ['deadline.dayOffset', { by: '06:00', dayOffset: -1 }, 'whole number of days'],
    ['deadline.dayOffset', { by: '06:00', dayOffset: 1.5 }, 'whole number of days'],
    ['deadline.within', { within: '-1h' }, 'not a positive duration'],
    ['deadline.within', { within: '0h' }, 'not a positive duration'],
    ['deadline.within', { within: '3 hours' }, 'not a positive duration'],
    ['deadline.by', { within: '3h', by: '06:00' }, 'cannot be combined'],
    ['deadline', {}, 'needs by'],
    ['deadline', 'tomorrow', 'is a map'],
    ['deadline.at', { at: '06:00' }, 'unknown field "at"'],
  ])('%s: %j is refused (%s), with the value and a fix', (field, spec, problem) => {
    const p = deadlineProblem(spec);
    expect(p).toBeDefined();
    expect(p?.field).toBe(field);
    expect(p?.problem).toContain(problem);
    expect(p?.fix.length).toBeGreaterThan(10);
    if (field !== 'deadline') expect(p?.received).toEqual((spec as Record<string, unknown>)[field.split('.')[1]!]);
  });
});
