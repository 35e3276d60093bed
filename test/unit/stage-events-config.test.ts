/**
 * Push-completion settings from the environment: the worker's validation of SLUICE_EVENTS_QUEUE_URL,
 * SLUICE_EVENTS and SLUICE_EVENTS_FALLBACK_POLL (workers/config.ts: every bad value named with the
 * value received and a fix, before anything connects) and the settings the stages and the consumer
 * run with (activities/stage-events-config.ts).
 */
import { DEFAULT_FALLBACK_POLL_MS, stageEventSettings } from '../../activities/stage-events-config';
import { loadWorkerConfig, WorkerConfigError } from '../../workers/config';

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/sluice-stage-events';
const LOCAL_QUEUE = 'http://127.0.0.1:5077/123456789012/sluice-stage-events';

/** A clean environment: no profile file from the machine running the tests. */
const base = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  HOME: '/nonexistent',
  XDG_CONFIG_HOME: '/nonexistent',
  ...extra,
});

function problems(env: NodeJS.ProcessEnv): WorkerConfigError {
  try {
    loadWorkerConfig(env);
  } catch (err) {
    if (err instanceof WorkerConfigError) return err;
    throw err;
  }
  throw new Error('expected a WorkerConfigError');
}

describe('the worker validates the push-completion variables', () => {
  test.each([
    ['SLUICE_EVENTS_QUEUE_URL', 'sluice-stage-events', 'expected an SQS queue URL'],
    ['SLUICE_EVENTS_QUEUE_URL', 'arn:aws:sqs:us-east-1:123456789012:sluice-stage-events', 'expected an SQS queue URL'],
    ['SLUICE_EVENTS_QUEUE_URL', 'sqs://sluice-stage-events', 'expected an SQS queue URL'],
    ['SLUICE_EVENTS_QUEUE_URL', 'https://', 'expected an SQS queue URL'],
    ['SLUICE_EVENTS_QUEUE_URL', `${QUEUE} extra`, 'expected an SQS queue URL'],
    ['SLUICE_EVENTS', 'maybe', 'expected on or off'],
    ['SLUICE_EVENTS', 'enabled', 'expected on or off'],
    ['SLUICE_EVENTS', 'push', 'expected on or off'],
    ['SLUICE_EVENTS_FALLBACK_POLL', '600', 'expected a duration such as 10m'],
    ['SLUICE_EVENTS_FALLBACK_POLL', '10 minutes', 'expected a duration such as 10m'],
    ['SLUICE_EVENTS_FALLBACK_POLL', '-5m', 'expected a duration such as 10m'],
    ['SLUICE_EVENTS_FALLBACK_POLL', 'off', 'expected a duration such as 10m'],
    // A period of 0 would make a waiting stage call its status API without pause.
    ['SLUICE_EVENTS_FALLBACK_POLL', '0s', 'expected at least 1s'],
    ['SLUICE_EVENTS_FALLBACK_POLL', '0ms', 'expected at least 1s'],
    ['SLUICE_EVENTS_FALLBACK_POLL', '500ms', 'expected at least 1s'],
  ])('%s=%j is rejected with the variable, the value and a fix', (variable, value, problem) => {
    const err = problems(base({ SLUICE_EVENTS_QUEUE_URL: QUEUE, [variable]: value }));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ variable, received: value });
    expect(err.issues[0]?.problem).toContain(problem);
    expect(err.message).toContain(`${variable}: ${problem}`);
    expect(err.message).toContain(JSON.stringify(value));
    expect(err.message).toMatch(/Fix: \S/);
  });

  test('the three bad at once are all reported', () => {
    const err = problems(
      base({ SLUICE_EVENTS_QUEUE_URL: 'queue', SLUICE_EVENTS: 'sometimes', SLUICE_EVENTS_FALLBACK_POLL: 'often' }),
    );
    expect(err.issues.map((i) => [i.variable, i.received])).toEqual([
      ['SLUICE_EVENTS_QUEUE_URL', 'queue'],
      ['SLUICE_EVENTS', 'sometimes'],
      ['SLUICE_EVENTS_FALLBACK_POLL', 'often'],
    ]);
    expect(err.message).toContain('3 problems');
    expect(err.message).toContain('the CDK stack output StageEventsQueueUrl');
  });

  test.each([
    [{ SLUICE_EVENTS_QUEUE_URL: QUEUE }, 'on'],
    [{ SLUICE_EVENTS_QUEUE_URL: LOCAL_QUEUE }, 'on'],
    [{ SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS: 'on' }, 'on'],
    [{ SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS: 'YES' }, 'on'],
    [{ SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS: 'off' }, 'off'],
    [{ SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS: ' Off ' }, 'off'],
    [{ SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS: 'false' }, 'off'],
    [{ SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS: '0' }, 'off'],
    [{ SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS: 'no' }, 'off'],
    [{ SLUICE_EVENTS: 'on' }, 'off'],
    [{}, 'off'],
    [{ SLUICE_EVENTS_QUEUE_URL: '' }, 'off'],
    [{ SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS_FALLBACK_POLL: '30s' }, 'on'],
    [{ SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS_FALLBACK_POLL: '1s' }, 'on'],
    [{ SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS_FALLBACK_POLL: '1.5m' }, 'on'],
    [{ SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS_FALLBACK_POLL: '2h' }, 'on'],
  ])('%j is accepted; the worker describes push completion as %s', (vars, described) => {
    expect(loadWorkerConfig(base(vars)).describe.stageEvents).toBe(described);
  });
});

describe('stageEventSettings', () => {
  test('on when the queue is set, with the default fallback poll of 10 minutes', () => {
    expect(DEFAULT_FALLBACK_POLL_MS).toBe(600_000);
    expect(stageEventSettings({}, { SLUICE_EVENTS_QUEUE_URL: QUEUE })).toEqual({
      enabled: true,
      fallbackPollMs: 600_000,
      queueUrl: QUEUE,
    });
  });

  test('off without a queue (polling as before), whatever SLUICE_EVENTS says', () => {
    expect(stageEventSettings({}, {})).toEqual({ enabled: false, fallbackPollMs: 600_000 });
    expect(stageEventSettings({}, { SLUICE_EVENTS: 'on' })).toEqual({ enabled: false, fallbackPollMs: 600_000 });
    expect(stageEventSettings({}, { SLUICE_EVENTS_QUEUE_URL: '   ' })).toEqual({
      enabled: false,
      fallbackPollMs: 600_000,
    });
  });

  test.each(['off', 'OFF', ' off ', 'false', '0', 'no'])('SLUICE_EVENTS=%j turns it off; the queue is kept', (v) => {
    expect(stageEventSettings({}, { SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS: v })).toEqual({
      enabled: false,
      fallbackPollMs: 600_000,
      queueUrl: QUEUE,
    });
  });

  test.each(['on', 'true', '1', 'yes', ''])('SLUICE_EVENTS=%j leaves it on', (v) => {
    expect(stageEventSettings({}, { SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS: v }).enabled).toBe(true);
  });

  test('SLUICE_EVENTS_FALLBACK_POLL sets the fallback poll', () => {
    expect(
      stageEventSettings({}, { SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS_FALLBACK_POLL: '30s' }).fallbackPollMs,
    ).toBe(30_000);
    expect(stageEventSettings({}, { SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS_FALLBACK_POLL: ' 2m ' })).toEqual({
      enabled: true,
      fallbackPollMs: 120_000,
      queueUrl: QUEUE,
    });
  });

  test('the queue URL is trimmed', () => {
    expect(stageEventSettings({}, { SLUICE_EVENTS_QUEUE_URL: ` ${QUEUE}\n` }).queueUrl).toBe(QUEUE);
  });

  test('settings given (SluicePlugin / createSluiceWorker options) win over the environment', () => {
    const env = { SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS_FALLBACK_POLL: '30s' };
    expect(stageEventSettings({ enabled: false }, env)).toEqual({
      enabled: false,
      fallbackPollMs: 30_000,
      queueUrl: QUEUE,
    });
    expect(stageEventSettings({ queueUrl: LOCAL_QUEUE, fallbackPollMs: 3_000 }, env)).toEqual({
      enabled: true,
      fallbackPollMs: 3_000,
      queueUrl: LOCAL_QUEUE,
    });
    // A queue given in code turns it on where the environment has none.
    expect(stageEventSettings({ queueUrl: LOCAL_QUEUE }, {})).toEqual({
      enabled: true,
      fallbackPollMs: 600_000,
      queueUrl: LOCAL_QUEUE,
    });
    // And SLUICE_EVENTS=off still applies to it unless `enabled` is given.
    expect(stageEventSettings({ queueUrl: LOCAL_QUEUE }, { SLUICE_EVENTS: 'off' }).enabled).toBe(false);
    expect(stageEventSettings({ queueUrl: LOCAL_QUEUE, enabled: true }, { SLUICE_EVENTS: 'off' }).enabled).toBe(true);
  });

  test('a fallback poll under 1s, or one that is not a duration, is refused with what was received', () => {
    // 0 would make a stage waiting for its event call the status API without pause.
    for (const fallbackPollMs of [0, 999, -1, Number.NaN]) {
      expect(() => stageEventSettings({ queueUrl: QUEUE, fallbackPollMs }, {})).toThrow(
        `the fallback poll must be at least 1000 ms (received ${fallbackPollMs})`,
      );
    }
    expect(() => stageEventSettings({}, { SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS_FALLBACK_POLL: '0s' })).toThrow(
      'received 0',
    );
    expect(() => stageEventSettings({}, { SLUICE_EVENTS_FALLBACK_POLL: 'soon' })).toThrow(
      'SLUICE_EVENTS_FALLBACK_POLL: expected a duration such as 10m (received "soon")',
    );
    expect(stageEventSettings({ fallbackPollMs: 1000 }, {}).fallbackPollMs).toBe(1000);
  });

  test('what the worker describes is what the stages run with', () => {
    const envs: Record<string, string>[] = [
      { SLUICE_EVENTS_QUEUE_URL: QUEUE },
      { SLUICE_EVENTS_QUEUE_URL: QUEUE, SLUICE_EVENTS: 'off' },
      { SLUICE_EVENTS: 'on' },
    ];
    for (const env of envs) {
      expect(loadWorkerConfig(base(env)).describe.stageEvents).toBe(stageEventSettings({}, env).enabled ? 'on' : 'off');
    }
  });
});
