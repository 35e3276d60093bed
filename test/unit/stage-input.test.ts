/** A stage's activity input (common/stage-input.ts): one builder for a run's stages and a fan-out's items. */
import { stageInput, stageTimeouts, type StageStart } from '../../common/stage-input';

const base: StageStart = {
  pipeline: 'sales',
  ds: '2024-03-01',
  stageId: 'load',
  spec: { kind: 'glue.job' },
  params: { JobName: 'j' },
  idempotencyKey: 'sales/2024-03-01/load/g0',
};
const NOW = Date.parse('2024-03-02T00:00:00Z');

describe('stageInput', () => {
  test.each<[string, Partial<StageStart>, Record<string, unknown>]>([
    ['no poll, no checks, no deadline', {}, {}],
    [
      "the pipeline's poll where the stage sets none",
      { defaults: { poll: { initial: '5s' } } },
      { poll: { initial: '5s' } },
    ],
    [
      "the stage's poll over the pipeline's, field by field",
      { spec: { kind: 'glue.job', poll: { max: '1m' } }, defaults: { poll: { initial: '5s', max: '2m' } } },
      { poll: { initial: '5s', max: '1m' } },
    ],
    ['its checks', { spec: { kind: 'athena.query', expect: { rows: '>0' } } }, { expect: { rows: '>0' } }],
    [
      "a sensor's deadline: now + its total timeout",
      { spec: { kind: 's3.wait', timeout: '2h' } },
      { deadlineMs: NOW + 2 * 3600_000 },
    ],
    [
      "a sensor's deadline from the pipeline's total when it sets none",
      { spec: { kind: 's3.wait' }, defaults: { timeout: { total: '30m' } } },
      { deadlineMs: NOW + 30 * 60_000 },
    ],
    ['no deadline for a job kind with a total timeout', { spec: { kind: 'glue.job', timeout: '2h' } }, {}],
  ])('%s', (_name, change, extra) => {
    const start = { ...base, ...change };
    expect(stageInput(start, NOW)).toEqual({
      pipeline: 'sales',
      ds: '2024-03-01',
      stageId: 'load',
      kind: start.spec.kind,
      params: { JobName: 'j' },
      rendered: true,
      idempotencyKey: 'sales/2024-03-01/load/g0',
      ...extra,
    });
  });

  test('the pool slot it holds, first (the activity gives it back itself)', () => {
    const input = stageInput(base, NOW, { id: 'wf/run/load', pool: 'glue' });
    expect(input.poolSlot).toEqual({ id: 'wf/run/load', pool: 'glue' });
    expect(Object.keys(input)[0]).toBe('poolSlot');
  });
});

describe('stageTimeouts', () => {
  test.each<[string, Parameters<typeof stageTimeouts>, ReturnType<typeof stageTimeouts>]>([
    ['none', [{}, undefined], {}],
    ['a bare total', [{ timeout: '1h' }, undefined], { total: '1h' }],
    [
      "the pipeline's, each field overridden by the stage's",
      [{ timeout: { attempt: '5m' } }, { timeout: { attempt: '1h', heartbeat: '2m' } }],
      { attempt: '5m', heartbeat: '2m' },
    ],
    [
      "the stage's bare total beside the pipeline's heartbeat",
      [{ timeout: 600 }, { timeout: { heartbeat: '2m' } }],
      { total: 600, heartbeat: '2m' },
    ],
  ])('%s', (_name, args, expected) => {
    expect(stageTimeouts(...args)).toEqual(expected);
  });
});
