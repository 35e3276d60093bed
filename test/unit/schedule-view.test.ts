/** The pure pieces of what `sluice schedule describe|trigger` print. */
import { logicalDateOf, zonedTime } from '../../client/schedules';

test('an instant on the schedule’s clock, across a DST change and the date line', () => {
  expect(zonedTime(new Date('2024-03-30T01:00:00Z'), 'Europe/Berlin')).toBe('2024-03-30 02:00 Europe/Berlin');
  expect(zonedTime(new Date('2024-03-31T01:00:00Z'), 'Europe/Berlin')).toBe('2024-03-31 03:00 Europe/Berlin');
  expect(zonedTime(new Date('2024-03-01T12:00:00Z'), 'Pacific/Kiritimati')).toBe('2024-03-02 02:00 Pacific/Kiritimati');
  expect(zonedTime(new Date('2024-03-01T00:05:00Z'), 'UTC')).toBe('2024-03-01 00:05 UTC');
});

test('the logical date of a scheduled time: the scheduled day in the zone, minus the offset', () => {
  const at = new Date('2024-03-01T12:00:00Z'); // 2024-03-02 02:00 in Kiritimati
  expect(logicalDateOf({ timezone: 'Pacific/Kiritimati', dateOffsetDays: 1 }, at)).toBe('2024-03-01');
  expect(logicalDateOf({ timezone: 'UTC', dateOffsetDays: 1 }, at)).toBe('2024-02-29');
  expect(logicalDateOf({ timezone: 'UTC', dateOffsetDays: 0 }, at)).toBe('2024-03-01');
});
