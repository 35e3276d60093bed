/**
 * Workflow logic of runPipeline on the real dev server with a real worker. The stage activity is
 * mocked here (and only here): these tests are about ordering, parallelism and failure handling.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ERROR_TYPES, WORKFLOW_TYPES } from '../../common/constants';
import { definePipeline, type PipelineValidationError, type PipelineDefinition } from '../../common/pipeline';
import type { RunStatus, StageInput, StageResult, StopOutcome, StopRunJobsInput } from '../../common/run-types';
import { readRunStatus } from '../../client/runs';
import type { runPipeline } from '../../workflows';
import { uniqueName } from '../support/aws';
import { temporalTestContext, waitFor, type TestContext } from '../support/temporal';
import { testPoolActivities } from '../support/pools';

interface Span {
  id: string;
  start: number;
  end: number;
}

let ctx: TestContext;
const spans: Span[] = [];
const behaviour = new Map<string, (input: StageInput) => Promise<StageResult>>();
const stops: StopRunJobsInput[] = [];

const mockActivities = {
  ...testPoolActivities(),
  async runStage(input: StageInput): Promise<StageResult> {
    const start = Date.now();
    try {
      const fn = behaviour.get(`${input.pipeline}:${input.stageId}`);
      return fn ? await fn(input) : { summary: `${input.stageId} ok` };
    } finally {
      spans.push({ id: `${input.pipeline}:${input.stageId}`, start, end: Date.now() });
    }
  },
  async stopStageJob(): Promise<string> {
    return 'nothing';
  },
  async stopRunJobs(input: StopRunJobsInput): Promise<StopOutcome[]> {
    stops.push(input);
    return input.stages.map((t) => ({
      stageId: t.stageId,
      ...(t.jobId ? { jobId: t.jobId } : {}),
      result: 'stopped' as const,
      awsState: 'STOPPED',
      message: `stopped ${t.jobId ?? t.idempotencyKey}`,
    }));
  },
};

beforeAll(async () => {
  ctx = await temporalTestContext('wf-logic');
  await ctx.startWorker({ workerOptions: { activities: mockActivities } });
});

afterAll(async () => {
  await ctx?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function diamond(name: string): PipelineDefinition {
  return definePipeline({
    name,
    defaults: { retry: { maximumAttempts: 1 }, timeout: { heartbeat: '10s' } },
    stages: [
      { id: 'a', kind: 'glue.job', params: { JobName: 'a' } },
      { id: 'b', kind: 'glue.job', dependsOn: ['a'], params: { JobName: 'b' } },
      { id: 'c', kind: 'glue.job', dependsOn: ['a'], params: { JobName: 'c' } },
      { id: 'd', kind: 'athena.query', dependsOn: ['b', 'c'], params: { QueryString: 'SELECT 1' } },
    ],
  });
}

async function run(pipeline: PipelineDefinition, ds = '2024-03-01') {
  return ctx.client.workflow.start<typeof runPipeline>(WORKFLOW_TYPES.runPipeline, {
    workflowId: `${pipeline.name}/${ds}`,
    taskQueue: ctx.settings.taskQueue,
    args: [{ pipeline, ds }],
  });
}

function span(pipeline: string, id: string): Span {
  const s = spans.find((x) => x.id === `${pipeline}:${id}`);
  if (!s) throw new Error(`stage ${id} of ${pipeline} never ran`);
  return s;
}

test('stages run in dependency order and independent stages overlap in time', async () => {
  const p = diamond(uniqueName('dag'));
  for (const id of ['a', 'b', 'c', 'd'])
    behaviour.set(`${p.name}:${id}`, async (i) => (await sleep(700), { summary: `${i.stageId} done` }));
  const handle = await run(p);
  const result: RunStatus = await handle.result();
  expect(result.status).toBe('succeeded');
  expect(result.stages.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => span(p.name, id)) as [Span, Span, Span, Span];
  expect(a.end).toBeLessThanOrEqual(b.start);
  expect(a.end).toBeLessThanOrEqual(c.start);
  // b and c ran at the same time: each started before the other ended.
  expect(b.start).toBeLessThan(c.end);
  expect(c.start).toBeLessThan(b.end);
  expect(d.start).toBeGreaterThanOrEqual(Math.max(b.end, c.end));
});

test('a failed stage starts nothing new, lets running stages finish, and fails the run naming the stage', async () => {
  const p = diamond(uniqueName('fail'));
  behaviour.set(`${p.name}:b`, async () => {
    await sleep(200);
    throw ApplicationFailure.create({
      message: 'Glue job jr_1 ended FAILED: Table sales.raw not found',
      type: ERROR_TYPES.jobFailed,
      nonRetryable: true,
      details: [{ jobId: 'jr_1' }],
    });
  });
  behaviour.set(`${p.name}:c`, async () => (await sleep(1500), { summary: 'c finished after b failed' }));
  const handle = await run(p);
  const err: unknown = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(cause.type).toBe(ERROR_TYPES.stageFailed);
  expect(cause.message).toBe('Stage "b" (glue.job) failed: Glue job jr_1 ended FAILED: Table sales.raw not found');
  expect(spans.some((s) => s.id === `${p.name}:d`)).toBe(false);
  const status = await handle.query<RunStatus>('status');
  expect(Object.fromEntries(status.stages.map((s) => [s.id, s.state]))).toEqual({
    a: 'succeeded',
    b: 'failed',
    c: 'succeeded',
    d: 'skipped',
  });
  expect(status.stages.find((s) => s.id === 'b')?.jobId).toBe('jr_1');
});

test('a transient error is retried; a non-retryable one is not', async () => {
  const p = definePipeline({
    name: uniqueName('retry'),
    defaults: { retry: { maximumAttempts: 4, initialInterval: '100ms', maximumInterval: '200ms' } },
    stages: [
      { id: 'flaky', kind: 'glue.job', params: { JobName: 'x' } },
      { id: 'broken', kind: 'glue.job', dependsOn: ['flaky'], params: { JobName: 'y' } },
    ],
  });
  let flakyCalls = 0;
  let brokenCalls = 0;
  behaviour.set(`${p.name}:flaky`, async () => {
    flakyCalls++;
    if (flakyCalls < 3) throw ApplicationFailure.create({ message: 'Rate exceeded', type: ERROR_TYPES.awsTransient });
    return { summary: 'ok at last' };
  });
  behaviour.set(`${p.name}:broken`, async () => {
    brokenCalls++;
    // Even without nonRetryable set, the stage's policy lists this type as not retryable.
    throw ApplicationFailure.create({
      message: 'AccessDeniedException: not allowed',
      type: ERROR_TYPES.awsRequest,
      details: [{ jobId: 'jr_b' }],
    });
  });
  const err: unknown = await (await run(p)).result().catch((e: unknown) => e);
  expect(flakyCalls).toBe(3);
  expect(brokenCalls).toBe(1);
  expect(((err as WorkflowFailedError).cause as ApplicationFailure).message).toContain(
    'Stage "broken" (glue.job) failed: AccessDeniedException',
  );
  // AWS refused a status call, not the job: its job may still run, so the run has any worker stop it.
  const stop = stops.find((x) => x.pipeline === p.name);
  expect(stop?.stages.map((t) => [t.stageId, t.idempotencyKey, t.jobId])).toEqual([
    ['broken', `${p.name}/2024-03-01/broken/g0`, 'jr_b'],
  ]);
});

test('a stage whose job ended FAILED leaves nothing to stop', async () => {
  const p = definePipeline({
    name: uniqueName('ended'),
    defaults: { retry: { maximumAttempts: 1 } },
    stages: [{ id: 'x', kind: 'glue.job', params: { JobName: 'x' } }],
  });
  behaviour.set(`${p.name}:x`, async () => {
    throw ApplicationFailure.create({
      message: 'Glue job jr_9 ended FAILED',
      type: ERROR_TYPES.jobFailed,
      nonRetryable: true,
      details: [{ jobId: 'jr_9' }],
    });
  });
  await (await run(p)).result().catch(() => undefined);
  expect(stops.some((x) => x.pipeline === p.name)).toBe(false);
});

test("runPipeline started without the CLI refuses an unknown dependsOn or a cycle with the CLI's own message", async () => {
  for (const [label, stages] of [
    ['unknown', [{ id: 'a', kind: 'glue.job', dependsOn: ['nope'], params: { JobName: 'a' } }]],
    [
      'cycle',
      [
        { id: 'a', kind: 'glue.job', dependsOn: ['b'], params: { JobName: 'a' } },
        { id: 'b', kind: 'glue.job', dependsOn: ['a'], params: { JobName: 'b' } },
      ],
    ],
  ] as const) {
    const raw = { name: uniqueName(`invalid-${label}`), stages } as unknown as PipelineDefinition;
    const err: unknown = await (await run(raw)).result().catch((e: unknown) => e);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('PipelineValidationError');
    let cliMessage = '';
    try {
      definePipeline(raw);
    } catch (e) {
      cliMessage = (e as PipelineValidationError).message;
    }
    expect(cliMessage).toContain(label === 'cycle' ? 'cycle: a -> b -> a' : 'no stage has this id');
    expect(cause.message).toBe(cliMessage);
    expect(spans.some((x) => x.id.startsWith(`${raw.name}:`))).toBe(false);
  }
});

test("a failed stage's line in the run's current details carries its message and job id", async () => {
  const p = definePipeline({
    name: uniqueName('details'),
    defaults: { retry: { maximumAttempts: 1 } },
    stages: [{ id: 'transform_orders', kind: 'glue.job', params: { JobName: 'x' } }],
  });
  behaviour.set(`${p.name}:transform_orders`, async () => {
    throw ApplicationFailure.create({
      message: 'Table sales.raw not found',
      type: ERROR_TYPES.jobFailed,
      nonRetryable: true,
      details: [{ jobId: 'jr_42' }],
    });
  });
  const handle = await run(p);
  await handle.result().catch(() => undefined);
  const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  expect(meta.currentDetails).toBe('✘ transform_orders (glue.job): failed — Table sales.raw not found [job jr_42]');
});

test('a closed run (succeeded, failed or cancelled) is readable with no worker running', async () => {
  const own = await temporalTestContext('wf-closed');
  try {
    const worker = await own.startWorker({ workerOptions: { activities: mockActivities } });
    const start = (pl: PipelineDefinition) =>
      own.client.workflow.start<typeof runPipeline>(WORKFLOW_TYPES.runPipeline, {
        workflowId: `${pl.name}/2024-03-01`,
        taskQueue: own.settings.taskQueue,
        args: [{ pipeline: pl, ds: '2024-03-01' }],
      });
    const ok = diamond(uniqueName('closed-ok'));
    const bad = diamond(uniqueName('closed-bad'));
    const gone = diamond(uniqueName('closed-cancel'));
    behaviour.set(`${bad.name}:b`, async () => {
      throw ApplicationFailure.create({
        message: 'Glue job jr_7 ended FAILED',
        type: ERROR_TYPES.jobFailed,
        nonRetryable: true,
        details: [{ jobId: 'jr_7' }],
      });
    });
    behaviour.set(`${gone.name}:a`, () =>
      Context.current()
        .sleep(60_000)
        .then(() => ({ summary: 'never' })),
    );
    const [h1, h2, h3] = [await start(ok), await start(bad), await start(gone)];
    await h1.result();
    await h2.result().catch(() => undefined);
    await waitFor(
      'stage a to be scheduled',
      async () => ((await h3.describe()).raw.pendingActivities?.length ?? 0) > 0,
    );
    await h3.cancel();
    await h3.result().catch(() => undefined);
    await worker.stop();

    const read = (h: { workflowId: string }) => readRunStatus(own.client.workflow, h.workflowId);
    expect((await read(h1))?.stages.map((x) => x.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const failed = await read(h2);
    expect(failed?.status).toBe('failed');
    expect(failed?.stages.find((x) => x.id === 'b')).toMatchObject({
      state: 'failed',
      jobId: 'jr_7',
      error: { message: 'Glue job jr_7 ended FAILED', type: ERROR_TYPES.jobFailed },
    });
    const cancelled = await read(h3);
    expect(cancelled?.status).toBe('cancelled');
    expect(cancelled?.stages.map((x) => x.state)).toEqual(['cancelled', 'skipped', 'skipped', 'skipped']);
    expect(cancelled?.stops?.map((x) => x.stageId)).toEqual(['a']);
  } finally {
    await own.close();
  }
});

test('the run is visible by pipeline, date and status, with a summary', async () => {
  const p = diamond(uniqueName('visible'));
  const handle = await run(p, '2024-02-29');
  await handle.result();
  const desc = await handle.describe();
  expect(desc.typedSearchAttributes.get({ name: 'SluicePipeline', type: 'KEYWORD' } as never)).toBe(p.name);
  expect(desc.searchAttributes.SluiceStatus).toEqual(['Succeeded']);
  expect((desc.searchAttributes.SluiceDate?.[0] as Date).toISOString()).toBe('2024-02-29T00:00:00.000Z');
});
