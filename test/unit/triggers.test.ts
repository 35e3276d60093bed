import { isKeyPatternProblem, keyPattern, type KeyPattern } from '../../common/triggers';

function read(pattern: string): KeyPattern {
  const p = keyPattern(pattern, 'orders-daily');
  if (isKeyPatternProblem(p)) throw new Error(`${p.problem}: ${p.received}`);
  return p;
}

describe('a trigger key pattern reads the date back from an object key', () => {
  test.each([
    ['orders/dt={{ ds }}/_SUCCESS', 'orders/dt=2024-03-01/_SUCCESS', { ds: '2024-03-01' }],
    ['exports/{{ ds_nodash }}.csv', 'exports/20241231.csv', { ds: '2024-12-31' }],
    [
      'year={{ year }}/month={{ month }}/day={{ day }}/_SUCCESS',
      'year=2024/month=02/day=29/_SUCCESS',
      { ds: '2024-02-29' },
    ],
    // The parts in another order.
    ['{{ day }}.{{ month }}.{{ year }}/done', '01.03.2024/done', { ds: '2024-03-01' }],
    ['{{ pipeline }}/{{ ds }}/_SUCCESS', 'orders-daily/2024-03-01/_SUCCESS', { ds: '2024-03-01' }],
    // Regex characters in the literal parts are literal.
    ['raw/a+b (1)/{{ ds }}.[x]', 'raw/a+b (1)/2024-03-01.[x]', { ds: '2024-03-01' }],
    // Keys of another shape are not this pipeline's.
    ['orders/dt={{ ds }}/_SUCCESS', 'orders/dt=2024-03-01/part-0000.parquet', { unmatched: true }],
    ['orders/dt={{ ds }}/_SUCCESS', 'orders/dt=2024-3-1/_SUCCESS', { unmatched: true }],
    ['orders/dt={{ ds }}/_SUCCESS', 'x/orders/dt=2024-03-01/_SUCCESS', { unmatched: true }],
    ['orders/dt={{ ds }}/_SUCCESS', 'orders/dt=2024-03-01/_SUCCESS.tmp', { unmatched: true }],
    ['{{ pipeline }}/{{ ds }}/_SUCCESS', 'other/2024-03-01/_SUCCESS', { unmatched: true }],
  ])('%s: %s', (pattern, key, expected) => {
    expect(read(pattern).match(key)).toEqual(expected);
  });

  test.each([
    ['orders/dt={{ ds }}/_SUCCESS', 'orders/dt=2024-02-30/_SUCCESS', '2024-02-30'],
    ['exports/{{ ds_nodash }}.csv', 'exports/20231301.csv', '2023-13-01'],
    ['y={{ year }}/m={{ month }}/d={{ day }}', 'y=2023/m=02/d=29', '2023-02-29'],
  ])('%s: a key of the right shape whose date is not a day is reported, not guessed (%s)', (pattern, key, ds) => {
    const m = read(pattern).match(key);
    expect(m).toMatchObject({ unparseable: ds });
    expect((m as { why: string }).why).toContain('not a day of the calendar');
  });
});

describe('a key pattern that cannot give one date is refused, with the value and a fix', () => {
  test.each([
    ['orders/_SUCCESS', 'names no date'],
    ['orders/{{ ds }}/{{ ds }}/_SUCCESS', 'more than once'],
    ['orders/{{ ds }}/{{ ds_nodash }}', 'more than once'],
    ['orders/{{ ds }}/{{ year }}', 'more than once'],
    ['orders/{{ year }}/{{ month }}', 'only part of a date'],
    ['orders/{{ year }}/{{ month }}/{{ day }}/{{ day }}', 'more than once'],
    ['orders/{{ prev_ds }}/_SUCCESS', 'cannot be read back'],
    ['orders/{{ params.region }}/{{ ds }}', 'cannot be read back'],
  ])('%s: %s', (pattern, problem) => {
    const p = keyPattern(pattern, 'orders-daily');
    expect(isKeyPatternProblem(p)).toBe(true);
    if (!isKeyPatternProblem(p)) return;
    expect(p.problem).toContain(problem);
    expect(p.received).toBe(pattern);
    expect(p.fix).toContain('{{ ds }}');
  });
});
