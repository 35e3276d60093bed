import {
  destinationOf,
  eventId,
  eventsOf,
  eventText,
  hears,
  notifyProblem,
  webhookBody,
  type NotifyEvent,
} from '../../common/notifications';

describe('notify destinations', () => {
  test.each([
    ['arn:aws:sns:eu-west-1:123456789012:data-alerts', { type: 'sns' }],
    ['arn:aws:sns:eu-west-1:123456789012:alerts.fifo', { type: 'sns' }],
    ['arn:aws:events:eu-west-1:123456789012:event-bus/data', { type: 'eventbridge' }],
    ['arn:aws:events:eu-west-1:123456789012:event-bus/default', { type: 'eventbridge' }],
    ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-hook-AbCdEf', { type: 'webhook-secret' }],
    ['https://hooks.slack.com/services/T000/B000/XXXX', { type: 'webhook' }],
    ['http://127.0.0.1:5099/hook', { type: 'webhook' }],
    ['http://localhost:5099/hook', { type: 'webhook' }],
  ])('%s', (to, expected) => {
    expect(destinationOf(to)).toMatchObject(expected);
  });

  test.each([
    ['http://hooks.example.com/x', 'must be https'],
    ['arn:aws:sqs:eu-west-1:123456789012:queue', 'cannot notify'],
    ['arn:aws:events:eu-west-1:123456789012:rule/r', 'cannot notify'],
    ['arn:aws:sns:eu-west-1:123:short-account', 'neither an ARN nor an https URL'],
    ['data-alerts', 'neither an ARN nor an https URL'],
    ['', 'is a string'],
    ['https://', 'not a URL'],
  ])('%s is refused (%s), with a fix', (to, problem) => {
    const p = destinationOf(to);
    expect(p).toMatchObject({ received: to });
    expect((p as { problem: string }).problem).toContain(problem);
  });
});

describe('notifyProblem', () => {
  test('a list of destinations with known events reads', () => {
    expect(
      notifyProblem([
        { to: 'arn:aws:sns:eu-west-1:123456789012:data-alerts' },
        { to: 'https://hooks.slack.com/services/T/B/X', on: ['failed', 'recovered', 'backfill'] },
      ]),
    ).toBeUndefined();
  });

  test.each([
    [{ to: 'x' }, 'notify', 'a list'],
    [[{ to: 'ftp://x' }], 'notify[0].to', 'neither an ARN'],
    [[{ to: 'https://h.example/x', on: ['failed', 'exploded'] }], 'notify[0].on', 'not an event'],
    [[{ to: 'https://h.example/x', on: [] }], 'notify[0].on', 'a list of events'],
    [[{ to: 'https://h.example/x', when: ['failed'] }], 'notify[0].when', 'unknown field'],
    [['https://h.example/x'], 'notify[0]', 'is a map'],
  ])('%j: %s — %s', (notify, field, problem) => {
    const p = notifyProblem(notify);
    expect(p?.field).toBe(field);
    expect(p?.problem).toContain(problem);
    expect(p?.fix.length).toBeGreaterThan(10);
  });
});

describe('the events of a transition', () => {
  test.each([
    [{ to: 'succeeded' as const }, ['succeeded']],
    [{ to: 'succeeded' as const, wasLate: true }, ['succeeded', 'recovered']],
    [{ to: 'succeeded' as const, failedBefore: true }, ['succeeded', 'recovered']],
    [{ to: 'failed' as const, wasLate: true }, ['failed']],
    [{ to: 'cancelled' as const }, ['cancelled']],
    [{ to: 'late' as const }, ['late']],
  ])('%j sends %j', (t, events) => {
    expect(eventsOf(t)).toEqual(events);
  });

  test('a destination hears what its on lists; by default what needs a person and the all-clear', () => {
    const to = 'https://h.example/x';
    expect(hears({ to }, 'failed')).toBe(true);
    expect(hears({ to }, 'recovered')).toBe(true);
    expect(hears({ to }, 'succeeded')).toBe(false);
    expect(hears({ to, on: ['succeeded'] }, 'succeeded')).toBe(true);
    expect(hears({ to, on: ['succeeded'] }, 'failed')).toBe(false);
  });

  test('an event id is the same for the same transition and differs between runs and events', () => {
    expect(eventId('late', 'p/2024-03-01', 'r1')).toBe(eventId('late', 'p/2024-03-01', 'r1'));
    expect(eventId('late', 'p/2024-03-01', 'r1')).not.toBe(eventId('late', 'p/2024-03-01', 'r2'));
    expect(eventId('late', 'p/2024-03-01', 'r1')).not.toBe(eventId('failed', 'p/2024-03-01', 'r1'));
  });
});

describe('what an event says', () => {
  const late: NotifyEvent = {
    id: 'sluice:late:orders/2024-03-01:r1',
    type: 'late',
    pipeline: 'orders',
    ds: '2024-03-01',
    status: 'running',
    stage: { id: 'transform', jobId: 'jr_123', runningMs: 95 * 60_000 },
    costUsd: 0.0421,
    url: 'http://127.0.0.1:8233/namespaces/default/workflows/orders%2F2024-03-01/r1/history',
    at: '2024-03-02T05:00:00.000Z',
  };

  test('a late date names the stage that held it up, its job and how long it has run', () => {
    expect(eventText(late)).toBe(
      ':hourglass: orders 2024-03-01: late — stage transform (job jr_123, running 1 h 35 min) — cost ≥ $0.042',
    );
  });

  test('a webhook body is Slack-compatible text with the link, and the whole event', () => {
    const body = webhookBody(late);
    expect(body.text).toContain(`<${late.url}|open in Temporal>`);
    expect(body.sluice).toEqual(late);
  });

  test('a recovered date says how late it was; a backfill its counts', () => {
    expect(
      eventText({ ...late, type: 'recovered', status: 'succeeded', stage: undefined, lateByMs: 40 * 60_000 }),
    ).toContain('40 min late');
    expect(
      eventText({
        id: 'x',
        type: 'backfill',
        pipeline: 'orders',
        status: 'failed',
        counts: { succeeded: 8, failed: 2 },
        at: '',
      }),
    ).toBe(':calendar: orders backfill: ended failed — 8 succeeded, 2 failed');
  });
});
