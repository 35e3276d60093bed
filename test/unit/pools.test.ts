/** Pools' pure logic (common/pools.ts) and the runner's capacity refusals (activities/runner.ts). */
import { capacityWaitMs, isCapacityRefusal } from '../../activities/runner';
import { STAGE_HANDLERS } from '../../kinds/handlers';
import { KINDS } from '../../kinds';
import {
  DEFAULT_POOL_SLOTS,
  enqueue,
  grantNext,
  newPoolState,
  poolSlots,
  poolView,
  poolWaitLine,
  poolWorkflowId,
  priorityProblem,
  releaseRequest,
  runPriority,
  slotsProblem,
  stagePool,
  type PoolRequest,
} from '../../common/pools';

let clock = 1_000;
function ask(id: string, o: Partial<PoolRequest> = {}): PoolRequest {
  return {
    id,
    workflowId: `p/${id}`,
    runId: 'r',
    pipeline: 'p',
    ds: '2024-01-01',
    stage: 's',
    priority: 3,
    fairnessKey: `p/${id}`,
    requestedAt: clock++,
    ...o,
  };
}

describe('grantNext', () => {
  test('grants up to the slots, first come first served within one key', () => {
    const st = newPoolState('glue:j');
    st.learned = { slots: 2, source: 'Glue GetJob MaxConcurrentRuns', at: 0 };
    for (const id of ['a', 'b', 'c']) enqueue(st, ask(id, { fairnessKey: 'bf' }));
    expect(grantNext(st, 5_000).map((h) => h.id)).toEqual(['a', 'b']);
    expect(grantNext(st, 5_000)).toEqual([]);
    expect(releaseRequest(st, 'a')).toBe('released');
    expect(grantNext(st, 6_000).map((h) => h.id)).toEqual(['c']);
    expect(st.stats.granted).toBe(3);
    expect(st.stats.maxWaitMs).toBeGreaterThanOrEqual(4_000);
  });

  test('a lower priority key goes first, whatever came earlier', () => {
    const st = newPoolState('x');
    enqueue(st, ask('backfill-1', { priority: 4 }));
    enqueue(st, ask('backfill-2', { priority: 4 }));
    enqueue(st, ask('daily', { priority: 3 }));
    enqueue(st, ask('urgent', { priority: 1 }));
    expect(grantNext(st, 10_000).map((h) => h.id)).toEqual(['urgent']);
    releaseRequest(st, 'urgent');
    expect(grantNext(st, 10_000).map((h) => h.id)).toEqual(['daily']);
  });

  test('fairness: the key holding fewest slots is served next, so two backfills interleave', () => {
    const st = newPoolState('x');
    st.override = 2;
    for (let i = 0; i < 4; i++) enqueue(st, ask(`a${i}`, { fairnessKey: 'A' }));
    for (let i = 0; i < 4; i++) enqueue(st, ask(`b${i}`, { fairnessKey: 'B' }));
    // A asked first but holds one after its first grant: B's oldest goes second.
    expect(grantNext(st, 20_000).map((h) => h.id)).toEqual(['a0', 'b0']);
    releaseRequest(st, 'a0');
    // A holds 0, B holds 1: A's next.
    expect(grantNext(st, 20_000).map((h) => h.id)).toEqual(['a1']);
    releaseRequest(st, 'b0');
    expect(grantNext(st, 20_000).map((h) => h.id)).toEqual(['b1']);
  });

  test('the same ask twice is one request; a holder asking again is told it holds', () => {
    const st = newPoolState('x');
    const a = ask('a');
    expect(enqueue(st, a)).toBe('queued');
    expect(enqueue(st, a)).toBe('known');
    expect(st.waiters).toHaveLength(1);
    grantNext(st, 2_000);
    expect(enqueue(st, a)).toBe('held');
    expect(st.waiters).toHaveLength(0);
    expect(releaseRequest(st, 'a')).toBe('released');
    expect(releaseRequest(st, 'a')).toBe('unknown');
  });

  test('a waiter that withdraws never gets a slot', () => {
    const st = newPoolState('x');
    enqueue(st, ask('h'));
    grantNext(st, 2_000);
    enqueue(st, ask('w'));
    expect(releaseRequest(st, 'w')).toBe('withdrawn');
    releaseRequest(st, 'h');
    expect(grantNext(st, 3_000)).toEqual([]);
  });

  test('slots lowered below what is held: nobody is preempted, nobody new is granted until below', () => {
    const st = newPoolState('x');
    st.override = 3;
    for (const id of ['a', 'b', 'c', 'd']) enqueue(st, ask(id));
    grantNext(st, 2_000);
    st.override = 1;
    releaseRequest(st, 'a');
    expect(grantNext(st, 3_000)).toEqual([]);
    releaseRequest(st, 'b');
    releaseRequest(st, 'c');
    expect(grantNext(st, 3_000).map((h) => h.id)).toEqual(['d']);
  });
});

describe('slots', () => {
  test('set by hand wins over learned, learned over the default', () => {
    const st = newPoolState('x');
    expect(poolSlots(st)).toEqual({ slots: DEFAULT_POOL_SLOTS, source: 'default' });
    st.learned = { slots: 7, source: 'Lambda reserved concurrency', at: 0 };
    expect(poolSlots(st).slots).toBe(7);
    st.override = 2;
    expect(poolSlots(st)).toEqual({ slots: 2, source: 'sluice pool set' });
  });

  test('bad slots and priorities are refused with the accepted range', () => {
    for (const bad of [0, -1, 1.5, 10_001, NaN, '3'])
      expect(slotsProblem(bad)).toBe('expected a whole number of slots from 1 to 10000');
    expect(slotsProblem(1)).toBeUndefined();
    expect(slotsProblem(10_000)).toBeUndefined();
    for (const bad of [0, 6, 2.5, '1']) expect(priorityProblem(bad)).toMatch(/from 1 \(first\) to 5 \(last\)/);
    expect(priorityProblem(1)).toBeUndefined();
  });
});

describe('a run and its stages', () => {
  test('priority: explicit, else the pipeline, else 3; backfill dates one after, never past 5', () => {
    expect(runPriority({})).toBe(3);
    expect(runPriority({ backfill: true })).toBe(4);
    expect(runPriority({ pipeline: 2, backfill: true })).toBe(3);
    expect(runPriority({ pipeline: 5, backfill: true })).toBe(5);
    expect(runPriority({ explicit: 1, pipeline: 4, backfill: true })).toBe(1);
  });

  test("a stage's pool: named, none, or its kind's default from the rendered params", () => {
    expect(stagePool({}, KINDS['glue.job'].defaultPool, { JobName: 'nightly' })).toBe('glue:nightly');
    expect(stagePool({ pool: 'warehouse' }, KINDS['glue.job'].defaultPool, { JobName: 'nightly' })).toBe('warehouse');
    expect(stagePool({ pool: 'none' }, KINDS['glue.job'].defaultPool, { JobName: 'nightly' })).toBeUndefined();
    expect(
      stagePool({}, KINDS['lambda.invoke'].defaultPool, {
        FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:ingest:live',
      }),
    ).toBe('lambda:ingest');
    expect(stagePool({}, KINDS['athena.query'].defaultPool, { QueryString: 'SELECT 1' })).toBe('athena');
    expect(stagePool({}, KINDS['s3.wait'].defaultPool, { Bucket: 'b', Key: 'k' })).toBeUndefined();
    // EMR Serverless got its default pool later: runs already in flight replay without the ask.
    expect(stagePool({}, KINDS['emr-serverless.job'].defaultPool, { applicationId: '00f1abc' })).toBe(
      'emr-serverless:00f1abc',
    );
    expect(KINDS['emr-serverless.job'].defaultPoolPatch).toBe('sluice-pool-emr-serverless-1');
  });

  test('pool ids are per task queue; the waiting line shows the counts when known', () => {
    expect(poolWorkflowId('sluice', 'glue:j')).toBe('sluice-pool/sluice/glue:j');
    expect(poolWaitLine({ name: 'glue:j', requestedAt: '', slots: 2, held: 2 })).toBe(
      'waiting for pool glue:j (2/2 held)',
    );
    expect(poolWaitLine({ name: 'glue:j', requestedAt: '' })).toBe('waiting for pool glue:j');
  });

  test("the pool's view: holders with how long they waited and hold, waiters with how long so far", () => {
    const st = newPoolState('x');
    enqueue(st, ask('h', { requestedAt: 1_000 }));
    grantNext(st, 3_000);
    enqueue(st, ask('w', { requestedAt: 4_000 }));
    const v = poolView(st, 10_000);
    expect(v).toMatchObject({ name: 'x', slots: 1, held: 1, waiting: 1 });
    expect(v.holders[0]).toMatchObject({ waitedMs: 2_000, heldMs: 7_000 });
    expect(v.waiters[0]).toMatchObject({ waitedMs: 6_000 });
  });
});

describe('capacity refusals', () => {
  test("a kind's capacity errors are waited on; other errors are not", () => {
    const glue = STAGE_HANDLERS['glue.job'];
    expect(isCapacityRefusal(glue, Object.assign(new Error('x'), { name: 'ConcurrentRunsExceededException' }))).toBe(
      true,
    );
    expect(isCapacityRefusal(glue, Object.assign(new Error('x'), { name: 'AccessDeniedException' }))).toBe(false);
    expect(isCapacityRefusal(glue, undefined)).toBe(false);
    expect(
      isCapacityRefusal(
        STAGE_HANDLERS['athena.query'],
        Object.assign(new Error('x'), { name: 'TooManyRequestsException' }),
      ),
    ).toBe(true);
    expect(
      isCapacityRefusal(STAGE_HANDLERS['s3.put'], Object.assign(new Error('x'), { name: 'TooManyRequestsException' })),
    ).toBe(false);
  });

  test('the wait doubles from about 1 s to about 30 s, jittered to half of it at least', () => {
    expect(capacityWaitMs(0, () => 1)).toBe(1_000);
    expect(capacityWaitMs(0, () => 0)).toBe(500);
    expect(capacityWaitMs(3, () => 1)).toBe(8_000);
    expect(capacityWaitMs(20, () => 1)).toBe(30_000);
    expect(capacityWaitMs(20, () => 0)).toBe(15_000);
  });
});
