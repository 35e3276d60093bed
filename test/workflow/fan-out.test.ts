/**
 * forEach fan-out in the workflows (runPipeline → fanOutStage → fanOutChunk), on the real dev
 * server with a real worker; the stage activity is mocked (workflow logic: windows, keys,
 * tolerance, chunks, cancel). The AWS side is tested end to end in test/e2e/fan-out.test.ts.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ERROR_TYPES, WORKFLOW_TYPES } from '../../common/constants';
import { definePipeline, type PipelineDefinition } from '../../common/pipeline';
import type { RunStatus, StageInput, StageResult, StopOutcome, StopRunJobsInput } from '../../common/run-types';
import { readRunStatus } from '../../client/runs';
import type { runPipeline } from '../../workflows';
import { uniqueName } from '../support/aws';
import { temporalTestContext, waitFor, type TestContext } from '../support/temporal';
import { testPoolActivities } from '../support/pools';

let ctx: TestContext;
const inputs: StageInput[] = [];
const live = new Map<string, number>();
const peak = new Map<string, number>();
const behaviour = new Map<string, (input: StageInput) => Promise<StageResult>>();
const stops: StopRunJobsInput[] = [];

beforeAll(async () => {
  ctx = await temporalTestContext('wf-fanout');
  await ctx.startWorker({
    workerOptions: {
      activities: {
        ...testPoolActivities(),
        async runStage(input: StageInput): Promise<StageResult> {
          inputs.push(input);
          const n = (live.get(input.pipeline) ?? 0) + 1;
          live.set(input.pipeline, n);
          peak.set(input.pipeline, Math.max(peak.get(input.pipeline) ?? 0, n));
          try {
            const fn = behaviour.get(input.pipeline);
            return fn ? await fn(input) : { summary: 'ok', output: { echo: input.params.Payload } };
          } finally {
            live.set(input.pipeline, (live.get(input.pipeline) ?? 1) - 1);
          }
        },
        async stopStageJob(): Promise<string> {
          return 'nothing';
        },
        async stopRunJobs(input: StopRunJobsInput): Promise<StopOutcome[]> {
          stops.push(input);
          return input.stages.map((t) => ({ stageId: t.stageId, result: 'stopped' as const, message: 'stopped' }));
        },
      },
    },
  });
});

afterAll(async () => {
  await ctx?.close();
});

async function start(pipeline: PipelineDefinition) {
  return ctx.client.workflow.start<typeof runPipeline>(WORKFLOW_TYPES.runPipeline, {
    workflowId: `${pipeline.name}/2024-03-01`,
    taskQueue: ctx.settings.taskQueue,
    args: [{ pipeline, ds: '2024-03-01' }],
  });
}

const itemsOf = (pipeline: string) => inputs.filter((i) => i.pipeline === pipeline);

function fanOut(name: string, forEach: Record<string, unknown>, extra: Record<string, unknown>[] = []) {
  return definePipeline({
    name,
    defaults: { retry: { maximumAttempts: 1 }, timeout: { heartbeat: '10s' } },
    params: { tables: { type: 'array', default: ['orders', 'customers', 'items'] } },
    stages: [
      ...(extra as never[]),
      {
        id: 'load',
        kind: 'lambda.invoke',
        forEach,
        ...(extra.length ? { dependsOn: extra.map((e) => e.id as string) } : {}),
        params: { FunctionName: 'load', Payload: { item: '{{ item }}', i: '{{ item_index }}', day: '{{ ds }}' } },
      },
      {
        id: 'after',
        kind: 'lambda.invoke',
        dependsOn: ['load'],
        params: { FunctionName: 'after', Payload: { n: '{{ stages.load.output.succeeded }}' } },
      },
    ],
  });
}

test('each item is its own job with its own key, at most `concurrency` at once; the output sums them up', async () => {
  const name = uniqueName('fan');
  behaviour.set(name, async (i) => {
    await new Promise((r) => setTimeout(r, 100));
    return { summary: 'ok', output: { echo: i.params.Payload } };
  });
  const items = Array.from({ length: 12 }, (_, i) => `k${i}`);
  const result: RunStatus = await (await start(fanOut(name, { items, concurrency: 3 }))).result();
  expect(result.status).toBe('succeeded');
  const load = itemsOf(name).filter((i) => i.stageId.startsWith('load['));
  expect(load.map((i) => i.idempotencyKey).sort()).toEqual(
    items.map((_k, i) => `${name}/2024-03-01/load[${i}]/g0`).sort(),
  );
  expect(load.find((i) => i.stageId === 'load[5]')?.params).toEqual({
    FunctionName: 'load',
    Payload: { item: 'k5', i: 5, day: '2024-03-01' },
  });
  expect(peak.get(name)).toBeLessThanOrEqual(3);
  expect(peak.get(name)).toBeGreaterThanOrEqual(2);
  const out = result.stages.find((s) => s.id === 'load')?.result?.output;
  expect(out).toMatchObject({ items: 12, succeeded: 12, failed: 0, failures: [], outputsComplete: true });
  expect((out?.outputs as unknown[])[7]).toEqual({ echo: { item: 'k7', i: 7, day: '2024-03-01' } });
  // A later stage reads the fan-out's output.
  expect(itemsOf(name).find((i) => i.stageId === 'after')?.params.Payload).toEqual({ n: 12 });
});

test('items from a param or a stage output, in batches: {{ item }} is then a list', async () => {
  const name = uniqueName('fan-batch');
  const result: RunStatus = await (
    await start(fanOut(name, { items: '{{ params.tables }}', batch: 2, concurrency: 5 }))
  ).result();
  expect(result.status).toBe('succeeded');
  const load = itemsOf(name)
    .filter((i) => i.stageId.startsWith('load['))
    .sort((a, b) => a.stageId.localeCompare(b.stageId));
  expect(load.map((i) => (i.params.Payload as { item: unknown }).item)).toEqual([['orders', 'customers'], ['items']]);

  const fromRows = uniqueName('fan-rows');
  behaviour.set(fromRows, async (i) =>
    i.stageId === 'list'
      ? { summary: 'rows', output: { rows: [{ t: 'a' }, { t: 'b' }] } }
      : { summary: 'ok', output: { echo: i.params.Payload } },
  );
  const p = fanOut(fromRows, { items: '{{ stages.list.output.rows }}' }, [
    { id: 'list', kind: 'athena.query', params: { QueryString: 'SELECT t' } },
  ]);
  const r2: RunStatus = await (await start(p)).result();
  expect(r2.stages.find((s) => s.id === 'load')?.result?.output).toMatchObject({
    items: 2,
    outputs: [
      { echo: { item: { t: 'a' }, i: 0, day: '2024-03-01' } },
      { echo: { item: { t: 'b' }, i: 1, day: '2024-03-01' } },
    ],
  });
});

test('failures within toleratedFailures let the stage succeed; beyond, the stage fails naming the first items', async () => {
  const failing = async (i: StageInput): Promise<StageResult> => {
    const n = Number((i.params.Payload as { i: number }).i);
    if (n === 3 || n === 8)
      throw ApplicationFailure.create({ message: `item ${n} broke`, type: ERROR_TYPES.jobFailed, nonRetryable: true });
    return { summary: 'ok' };
  };
  const items = Array.from({ length: 10 }, (_, i) => i);
  const ok = uniqueName('fan-tol');
  behaviour.set(ok, failing);
  const r: RunStatus = await (await start(fanOut(ok, { items, toleratedFailures: '20%' }))).result();
  expect(r.status).toBe('succeeded');
  expect(r.stages.find((s) => s.id === 'load')?.result?.output).toMatchObject({
    items: 10,
    succeeded: 8,
    failed: 2,
    failures: [
      { index: 3, message: 'item 3 broke', type: ERROR_TYPES.jobFailed },
      { index: 8, message: 'item 8 broke', type: ERROR_TYPES.jobFailed },
    ],
  });

  const bad = uniqueName('fan-fail');
  behaviour.set(bad, failing);
  const handle = await start(fanOut(bad, { items, toleratedFailures: 1, concurrency: 10 }));
  const err: unknown = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause?.message).toBe(
    'Stage "load" (lambda.invoke) failed: 2 of 10 items failed (tolerated 1): [3] item 3 broke; [8] item 8 broke',
  );
  const status = await readRunStatus(ctx.client.workflow, handle.workflowId);
  const load = status?.stages.find((s) => s.id === 'load');
  expect(load?.state).toBe('failed');
  expect(load?.error?.type).toBe(ERROR_TYPES.itemsFailed);
  expect(status?.stages.find((s) => s.id === 'after')?.state).toBe('skipped');
});

test('more items than one chunk holds: every item runs once, across chunk workflows', async () => {
  // A chunk holds at most 1,000 values: batches of 500 make 2 items a chunk, so 5 items are 3 chunks.
  const name = uniqueName('fan-chunks');
  const values = Array.from({ length: 2500 }, (_, i) => i);
  const handle = await start(fanOut(name, { items: values, batch: 500, concurrency: 4 }));
  const result: RunStatus = await handle.result();
  expect(result.stages.find((s) => s.id === 'load')?.result?.output).toMatchObject({
    items: 5,
    succeeded: 5,
    failed: 0,
    outputsComplete: true,
  });
  const runs = itemsOf(name).filter((i) => i.stageId.startsWith('load['));
  expect(runs.map((i) => i.idempotencyKey).sort()).toEqual(
    [0, 1, 2, 3, 4].map((i) => `${name}/2024-03-01/load[${i}]/g0`),
  );
  // Every value went to exactly one item, in order.
  const byIndex = runs.sort((a, b) => a.stageId.localeCompare(b.stageId));
  expect(byIndex.flatMap((i) => (i.params.Payload as { item: number[] }).item)).toEqual(values);
  expect(peak.get(name)).toBeLessThanOrEqual(4);
  const chunks = await ctx.client.workflow.count(`WorkflowId STARTS_WITH "${name}/2024-03-01/load/g0/chunk-"`);
  expect(chunks.count).toBe(3);
});

test('cancelling the run during a fan-out stops every running item’s job, then reports cancelled', async () => {
  const name = uniqueName('fan-cancel');
  behaviour.set(name, async (i) => {
    if (i.stageId.startsWith('load[')) await Context.current().sleep(60_000);
    return { summary: 'ok' };
  });
  const handle = await start(fanOut(name, { items: Array.from({ length: 20 }, (_, i) => i), concurrency: 4 }));
  await waitFor('4 items running', async () => (live.get(name) ?? 0) >= 4);
  await handle.cancel();
  const err: unknown = await handle.result().catch((e: unknown) => e);
  expect((err as WorkflowFailedError).cause?.name).toBe('CancelledFailure');
  const swept = stops.filter((s) => s.pipeline === name).flatMap((s) => s.stages.map((t) => t.idempotencyKey));
  const started = itemsOf(name)
    .filter((i) => i.stageId.startsWith('load['))
    .map((i) => i.idempotencyKey);
  expect(started).toHaveLength(4);
  expect(swept.sort()).toEqual(started.sort());
  const status = await readRunStatus(ctx.client.workflow, handle.workflowId);
  expect(status?.status).toBe('cancelled');
  const load = status?.stages.find((s) => s.id === 'load');
  expect(load?.state).toBe('cancelled');
  expect(load?.error?.message).toBe('load: cancelled after 0 of 20 items succeeded');
  expect(load?.result?.output).toMatchObject({ items: 20, succeeded: 0, failed: 0, cancelled: 4 });
});
