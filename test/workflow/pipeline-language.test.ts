/**
 * The pipeline language in runPipeline, on the real dev server with a real worker: stage outputs
 * and run params rendered into later stages, conditions, and cleanup stages (trigger all_done /
 * one_failed) after a failure and after a cancel. The stage activity is mocked (workflow logic only).
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
const behaviour = new Map<string, (input: StageInput) => Promise<StageResult>>();
const stops: StopRunJobsInput[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  ctx = await temporalTestContext('wf-language');
  await ctx.startWorker({
    workerOptions: {
      activities: {
        ...testPoolActivities(),
        async runStage(input: StageInput): Promise<StageResult> {
          inputs.push(input);
          const fn = behaviour.get(`${input.pipeline}:${input.stageId}`);
          return fn ? fn(input) : { summary: `${input.stageId} ok` };
        },
        async stopStageJob(): Promise<string> {
          return 'nothing';
        },
        async stopRunJobs(input: StopRunJobsInput): Promise<StopOutcome[]> {
          stops.push(input);
          return input.stages.map((t) => ({
            stageId: t.stageId,
            result: 'stopped' as const,
            awsState: 'CANCELLED',
            message: `stopped ${t.idempotencyKey}`,
          }));
        },
      },
    },
  });
});

afterAll(async () => {
  await ctx?.close();
});

async function start(pipeline: PipelineDefinition, params?: Record<string, unknown>) {
  return ctx.client.workflow.start<typeof runPipeline>(WORKFLOW_TYPES.runPipeline, {
    workflowId: `${pipeline.name}/2024-03-01`,
    taskQueue: ctx.settings.taskQueue,
    args: [{ pipeline, ds: '2024-03-01', ...(params ? { params } : {}) }],
  });
}

const inputOf = (pipeline: string, stage: string): StageInput | undefined =>
  inputs.find((i) => i.pipeline === pipeline && i.stageId === stage);

/** cluster → step → terminate (all_done): the EMR shape. */
function clusterPipeline(name: string): PipelineDefinition {
  return definePipeline({
    name,
    defaults: { retry: { maximumAttempts: 1 }, timeout: { heartbeat: '10s' } },
    stages: [
      { id: 'cluster', kind: 'emr-serverless.job', params: startParams() },
      {
        id: 'step',
        kind: 'glue.job',
        dependsOn: ['cluster'],
        params: { JobName: 'step', Arguments: { '--cluster': '{{ stages.cluster.output.jobRunId }}' } },
      },
      {
        id: 'terminate',
        kind: 'lambda.invoke',
        dependsOn: ['step'],
        trigger: 'all_done',
        params: { FunctionName: 'terminate', Payload: { cluster: '{{ stages.cluster.output.jobRunId }}' } },
      },
    ],
  });
}
function startParams() {
  return { applicationId: 'app', executionRoleArn: 'arn:aws:iam::1:role/r', jobDriver: {} };
}

test('outputs and params are rendered into later stages: one template yields the value itself', async () => {
  const name = uniqueName('outputs');
  const p = definePipeline({
    name,
    params: {
      tables: { type: 'array', default: ['orders', 'customers'] },
      region: { type: 'string', default: 'us-east-1' },
    },
    stages: [
      { id: 'list', kind: 'athena.query', params: { QueryString: 'SELECT 1' } },
      {
        id: 'use',
        kind: 'lambda.invoke',
        dependsOn: ['list'],
        params: {
          FunctionName: 'fn-{{ params.region }}',
          Payload: {
            rows: '{{ stages.list.output.rows }}',
            n: '{{ stages.list.output.rowCount }}',
            tables: '{{ params.tables }}',
            day: '{{ ds_nodash }}',
          },
        },
      },
    ],
  });
  behaviour.set(`${name}:list`, async () => ({
    summary: '2 rows',
    output: { rowCount: 2, rows: [{ t: 'orders' }, { t: 'items' }] },
  }));
  const result: RunStatus = await (await start(p, { region: 'eu-west-1' })).result();
  expect(result.status).toBe('succeeded');
  expect(result.params).toEqual({ tables: ['orders', 'customers'], region: 'eu-west-1' });
  expect(inputOf(name, 'use')).toMatchObject({
    rendered: true,
    params: {
      FunctionName: 'fn-eu-west-1',
      Payload: { rows: [{ t: 'orders' }, { t: 'items' }], n: 2, tables: ['orders', 'customers'], day: '20240301' },
    },
  });
});

test('a false condition skips the stage (not failed); all_success downstream is skipped, none_failed runs', async () => {
  const name = uniqueName('cond');
  const p = definePipeline({
    name,
    params: { full_refresh: { type: 'boolean', default: false } },
    stages: [
      { id: 'check', kind: 'athena.query', params: { QueryString: 'SELECT 1' } },
      {
        id: 'load',
        kind: 'glue.job',
        dependsOn: ['check'],
        if: '{{ stages.check.output.firstValue }} > 0',
        params: { JobName: 'load' },
      },
      { id: 'publish', kind: 'glue.job', dependsOn: ['load'], params: { JobName: 'publish' } },
      { id: 'notify', kind: 'glue.job', dependsOn: ['load'], trigger: 'none_failed', params: { JobName: 'n' } },
      { id: 'rebuild', kind: 'glue.job', if: '{{ params.full_refresh }} == true', params: { JobName: 'r' } },
    ],
  });
  behaviour.set(`${name}:check`, async () => ({ summary: '0', output: { firstValue: '0' } }));
  const handle = await start(p);
  const result: RunStatus = await handle.result();
  expect(result.status).toBe('succeeded');
  expect(Object.fromEntries(result.stages.map((s) => [s.id, [s.state, s.reason]]))).toEqual({
    check: ['succeeded', undefined],
    load: ['skipped', 'condition false: {{ stages.check.output.firstValue }} > 0 (value "0")'],
    publish: ['skipped', 'upstream load skipped'],
    notify: ['succeeded', undefined],
    rebuild: ['skipped', 'condition false: {{ params.full_refresh }} == true (value false)'],
  });
  expect(inputOf(name, 'load')).toBeUndefined();
  expect(inputOf(name, 'publish')).toBeUndefined();
});

test('a failed step still runs the all_done cleanup, and the run still fails with the step’s error', async () => {
  const name = uniqueName('fail-cleanup');
  const p = clusterPipeline(name);
  behaviour.set(`${name}:cluster`, async () => ({ summary: 'up', output: { jobRunId: 'j-42' } }));
  behaviour.set(`${name}:step`, async () => {
    throw ApplicationFailure.create({ message: 'step ended FAILED', type: ERROR_TYPES.jobFailed, nonRetryable: true });
  });
  const handle = await start(p);
  const err: unknown = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause?.message).toBe('Stage "step" (glue.job) failed: step ended FAILED');
  const status = await readRunStatus(ctx.client.workflow, handle.workflowId);
  expect(status?.stages.map((s) => [s.id, s.state])).toEqual([
    ['cluster', 'succeeded'],
    ['step', 'failed'],
    ['terminate', 'succeeded'],
  ]);
  expect(inputOf(name, 'terminate')?.params).toEqual({ FunctionName: 'terminate', Payload: { cluster: 'j-42' } });
});

test('cancel during the step: its job is stopped, then the cleanup runs; the run reports cancelled', async () => {
  const name = uniqueName('cancel-cleanup');
  const p = clusterPipeline(name);
  let terminated = false;
  behaviour.set(`${name}:cluster`, async () => ({ summary: 'up', output: { jobRunId: 'j-7' } }));
  behaviour.set(`${name}:step`, async () => {
    await Context.current().sleep(60_000); // held running until the cancel (or the worker's shutdown)
    return { summary: 'never' };
  });
  behaviour.set(`${name}:terminate`, async () => {
    await sleep(300);
    terminated = true;
    return { summary: 'terminated' };
  });
  const handle = await start(p);
  await waitFor('the step to start', async () => inputOf(name, 'step') !== undefined);
  await handle.cancel();
  const err: unknown = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause?.name).toBe('CancelledFailure');
  expect(terminated).toBe(true);
  const sweep = stops.find((s) => s.workflowId === handle.workflowId);
  expect(sweep?.stages.map((s) => s.stageId)).toEqual(['step']);
  // The step's stop target carries its rendered params (the cluster id), so any worker can find its job.
  expect(sweep?.stages[0]).toMatchObject({ rendered: true, params: { Arguments: { '--cluster': 'j-7' } } });
  const status = await readRunStatus(ctx.client.workflow, handle.workflowId);
  expect(status?.status).toBe('cancelled');
  expect(status?.stages.map((s) => [s.id, s.state])).toEqual([
    ['cluster', 'succeeded'],
    ['step', 'cancelled'],
    ['terminate', 'succeeded'],
  ]);
});

test('a cancel while a cleanup stage runs does not stop it', async () => {
  const name = uniqueName('cancel-during-cleanup');
  const p = clusterPipeline(name);
  behaviour.set(`${name}:cluster`, async () => ({ summary: 'up', output: { jobRunId: 'j-9' } }));
  behaviour.set(`${name}:step`, async () => {
    throw ApplicationFailure.create({ message: 'boom', type: ERROR_TYPES.jobFailed, nonRetryable: true });
  });
  behaviour.set(`${name}:terminate`, async () => (await sleep(2000), { summary: 'terminated' }));
  const handle = await start(p);
  await waitFor('the cleanup to start', async () => inputOf(name, 'terminate') !== undefined);
  await handle.cancel();
  await handle.result().catch(() => undefined);
  const status = await readRunStatus(ctx.client.workflow, handle.workflowId);
  expect(status?.stages.map((s) => [s.id, s.state])).toEqual([
    ['cluster', 'succeeded'],
    ['step', 'failed'],
    ['terminate', 'succeeded'],
  ]);
  expect(
    stops.filter((s) => s.workflowId === handle.workflowId).flatMap((s) => s.stages.map((t) => t.stageId)),
  ).not.toContain('terminate');
});

test('a template the run cannot fill fails its stage before any call, naming the missing field', async () => {
  const name = uniqueName('missing-field');
  const p = definePipeline({
    name,
    defaults: { retry: { maximumAttempts: 1 } },
    stages: [
      { id: 'invoke', kind: 'lambda.invoke', params: { FunctionName: 'f' } },
      {
        id: 'use',
        kind: 'glue.job',
        dependsOn: ['invoke'],
        params: { JobName: 'j', Arguments: { '--n': '{{ stages.invoke.output.payload.count }}' } },
      },
    ],
  });
  behaviour.set(`${name}:invoke`, async () => ({ summary: 'ok', output: { payload: { total: 3 } } }));
  const err: unknown = await (await start(p)).result().catch((e: unknown) => e);
  expect((err as WorkflowFailedError).cause?.message).toBe(
    'Stage "use" (glue.job) failed: params: stages.invoke.output.payload has no field "count" (it has total)',
  );
  expect(inputOf(name, 'use')).toBeUndefined();
});

test('a run started without the CLI with a wrong param is refused with the CLI’s message', async () => {
  const name = uniqueName('bad-param');
  const p = definePipeline({
    name,
    params: { days: { type: 'integer', default: 1 } },
    stages: [{ id: 'a', kind: 'glue.job', params: { JobName: 'a' } }],
  });
  const err: unknown = await (await start(p, { days: 'seven' })).result().catch((e: unknown) => e);
  expect((err as WorkflowFailedError).cause?.message).toContain('--param days: expected an integer, got a string');
  expect(inputOf(name, 'a')).toBeUndefined();
});

describe('sub-pipelines (pipeline.run)', () => {
  const sub = (name: string) =>
    definePipeline({
      name,
      params: { table: { type: 'string' }, full_refresh: { type: 'boolean', default: false } },
      stages: [
        { id: 'truncate', kind: 'glue.job', if: '{{ params.full_refresh }} == true', params: { JobName: 'truncate' } },
        {
          id: 'load',
          kind: 'glue.job',
          dependsOn: ['truncate'],
          trigger: 'none_failed',
          params: { JobName: 'load', Arguments: { '--table': '{{ params.table }}', '--day': '{{ ds }}' } },
        },
      ],
    });

  test('one sub-run per item, each its own child run with its own keys; the parent reads their outputs', async () => {
    const name = uniqueName('parent');
    const child = uniqueName('loadtable');
    const p = definePipeline({
      name,
      params: {
        tables: { type: 'array', default: ['orders', 'customers'] },
        full_refresh: { type: 'boolean', default: true },
      },
      stages: [
        {
          id: 'tables',
          kind: 'pipeline.run',
          forEach: { items: '{{ params.tables }}', concurrency: 2 },
          params: { pipeline: sub(child), params: { table: '{{ item }}', full_refresh: '{{ params.full_refresh }}' } },
        },
        {
          id: 'one',
          kind: 'pipeline.run',
          dependsOn: ['tables'],
          params: { pipeline: sub(child), params: { table: 'items' } },
        },
      ],
    });
    const result: RunStatus = await (await start(p)).result();
    expect(result.status).toBe('succeeded');
    const loads = inputs.filter((i) => i.pipeline === child && i.stageId === 'load');
    expect(loads.map((i) => i.idempotencyKey).sort()).toEqual(
      [
        `${name}/2024-03-01/one/load/g0`,
        `${name}/2024-03-01/tables[0]/load/g0`,
        `${name}/2024-03-01/tables[1]/load/g0`,
      ].sort(),
    );
    expect(loads.map((i) => (i.params.Arguments as Record<string, string>)['--table']).sort()).toEqual([
      'customers',
      'items',
      'orders',
    ]);
    // full_refresh passed down to the fanned-out runs; the single one keeps the sub-pipeline's default (false).
    const truncates = inputs.filter((i) => i.pipeline === child && i.stageId === 'truncate');
    expect(truncates).toHaveLength(2);
    const one = result.stages.find((s) => s.id === 'one');
    expect(one?.result?.output).toMatchObject({
      workflowId: `${name}/2024-03-01/one`,
      status: 'succeeded',
      stages: { truncate: { state: 'skipped' }, load: { state: 'succeeded' } },
    });
    const subRun = await ctx.client.workflow.getHandle(`${name}/2024-03-01/tables[1]`).result();
    expect((subRun as RunStatus).params).toEqual({ table: 'customers', full_refresh: true });
  });

  test('a failed sub-run fails the parent stage with the sub-run’s message', async () => {
    const name = uniqueName('parent-fail');
    const child = uniqueName('loadfail');
    behaviour.set(`${child}:load`, async () => {
      throw ApplicationFailure.create({ message: 'table missing', type: ERROR_TYPES.jobFailed, nonRetryable: true });
    });
    const p = definePipeline({
      name,
      defaults: { retry: { maximumAttempts: 1 } },
      stages: [{ id: 'one', kind: 'pipeline.run', params: { pipeline: sub(child), params: { table: 'x' } } }],
    });
    const err: unknown = await (await start(p)).result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause?.message).toBe(
      'Stage "one" (pipeline.run) failed: Stage "load" (glue.job) failed: table missing',
    );
  });
});
