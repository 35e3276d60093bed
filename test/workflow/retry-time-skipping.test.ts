/**
 * The retry and timeout policy runPipeline gives a stage's activity, on the time-skipping test
 * server: a one-hour retry backoff and a two-hour attempt timeout take milliseconds of real time
 * because the server skips its clock instead of waiting. The stage activity is mocked (these tests
 * are about workflow logic, not AWS); everything else is real: the built workflow bundle, a real
 * Worker, and the Java test server installed by the local stack.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { ERROR_TYPES, WORKFLOW_TYPES } from '../../common/constants';
import { definePipeline } from '../../common/pipeline';
import type { RunStatus, StageInput, StageResult, StopOutcome, StopRunJobsInput } from '../../common/run-types';
import { SA_DATE, SA_PIPELINE, SA_STATUS } from '../../common/search-attributes';
import type { runPipeline } from '../../workflows';
import { uniqueName } from '../support/aws';
import { testPoolActivities } from '../support/pools';

/** Installed by infra/local/stack.sh; the SDK's own download does not work offline. */
const TEST_SERVER = path.resolve(__dirname, '..', '..', '.sluice', 'venv', 'bin', 'temporal-test-server');
const HOUR_MS = 3_600_000;
/** Wire values of temporal.api.enums.v1.IndexedValueType. */
const INDEXED_VALUE_TYPE = { KEYWORD: 2, DATETIME: 6 } as const;

let env: TestWorkflowEnvironment;
let worker: Worker;
let workerDone: Promise<void>;
const taskQueue = uniqueName('retry-ts');

/** Every runStage call: which stage, which attempt, and the test server's (skipped) clock when it ran. */
const attempts: { stage: string; attempt: number; serverTimeMs: number }[] = [];

/** One entry per attempt of a `stuck` stage: its pipeline's name. */
const stuckAttempts: string[] = [];

beforeAll(async () => {
  if (!existsSync(TEST_SERVER)) throw new Error(`${TEST_SERVER} is missing: run \`bash infra/local/stack.sh up\``);
  const bundle = process.env.SLUICE_WORKFLOW_BUNDLE;
  if (!bundle || !existsSync(bundle))
    throw new Error(
      `workflow bundle ${bundle ?? '(SLUICE_WORKFLOW_BUNDLE unset)'} is missing: jest's globalSetup builds it`,
    );

  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: TEST_SERVER } },
  });
  // runPipeline upserts Sluice's custom search attributes; register them as the dev server's --search-attribute does.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: {
      [SA_PIPELINE.name]: INDEXED_VALUE_TYPE.KEYWORD,
      [SA_STATUS.name]: INDEXED_VALUE_TYPE.KEYWORD,
      [SA_DATE.name]: INDEXED_VALUE_TYPE.DATETIME,
    },
  });

  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: bundle },
    activities: {
      ...testPoolActivities(),
      async runStage(input: StageInput): Promise<StageResult> {
        const info = Context.current().info;
        if (input.stageId === 'stuck') {
          stuckAttempts.push(input.pipeline);
          // The test server does not skip time on its own while an activity runs, so this attempt moves
          // the server clock by its 2h limit itself (no further: a longer skip would also time out the
          // workflow task that handles the timeout), then never finishes (cancelled at worker shutdown).
          await env.sleep('2h');
          await Context.current().cancelled;
        }
        attempts.push({
          stage: `${input.pipeline}:${input.stageId}`,
          attempt: info.attempt,
          serverTimeMs: await env.currentTimeMs(),
        });
        if (info.attempt < 3) {
          throw ApplicationFailure.create({
            message: `Rate exceeded (attempt ${info.attempt})`,
            type: ERROR_TYPES.awsTransient,
          });
        }
        return { summary: `succeeded on attempt ${info.attempt}` };
      },
      async stopStageJob(): Promise<string> {
        return 'nothing to stop';
      },
      async stopRunJobs(input: StopRunJobsInput): Promise<StopOutcome[]> {
        return input.stages.map((t) => ({
          stageId: t.stageId,
          result: 'none' as const,
          message: 'no job had been started',
        }));
      },
    },
  });
  workerDone = worker.run();
});

afterAll(async () => {
  if (worker && worker.getState() === 'RUNNING') worker.shutdown();
  await workerDone;
  await env?.teardown();
});

test('a transient failure is retried after a 1h backoff twice, and time is skipped rather than waited', async () => {
  const pipeline = definePipeline({
    name: uniqueName('hourly-retry'),
    stages: [
      {
        id: 'load',
        kind: 'glue.job',
        params: { JobName: 'load' },
        retry: { initialInterval: '1h', maximumInterval: '1h', maximumAttempts: 3 },
        timeout: { heartbeat: '10m' },
      },
    ],
  });
  const ds = '2024-03-01';
  const handle = await env.client.workflow.start<typeof runPipeline>(WORKFLOW_TYPES.runPipeline, {
    workflowId: `${pipeline.name}/${ds}`,
    taskQueue,
    args: [{ pipeline, ds }],
  });

  const result: RunStatus = await handle.result();

  expect(result.status).toBe('succeeded');
  expect(result.stages).toHaveLength(1);
  expect(result.stages[0]).toMatchObject({
    id: 'load',
    state: 'succeeded',
    result: { summary: 'succeeded on attempt 3' },
  });

  const mine = attempts.filter((a) => a.stage === `${pipeline.name}:load`);
  expect(mine.map((a) => a.attempt)).toEqual([1, 2, 3]);
  // Each retry ran one backoff interval (1h, capped by maximumInterval) after the previous attempt, on the server's clock.
  const [a1, a2, a3] = mine.map((a) => a.serverTimeMs) as [number, number, number];
  expect(a2 - a1).toBeGreaterThanOrEqual(HOUR_MS);
  expect(a3 - a2).toBeGreaterThanOrEqual(HOUR_MS);
  // Without the 1h maximumInterval the default backoffCoefficient (2) would make the second wait 2h.
  expect(a3 - a2).toBeLessThan(2 * HOUR_MS);

  // The workflow's own clock moved at least two hours between start and close.
  const desc = await handle.describe();
  expect(desc.status.name).toBe('COMPLETED');
  expect(desc.closeTime).toBeInstanceOf(Date);
  const workflowElapsedMs = (desc.closeTime as Date).getTime() - desc.startTime.getTime();
  expect(workflowElapsedMs).toBeGreaterThanOrEqual(2 * HOUR_MS);
  expect(workflowElapsedMs).toBeLessThan(3 * HOUR_MS);
  // The stage's own timestamps (workflow time) agree.
  const stage = result.stages[0] as RunStatus['stages'][number];
  expect(Date.parse(stage.endedAt as string) - Date.parse(stage.startedAt as string)).toBeGreaterThanOrEqual(
    2 * HOUR_MS,
  );
});

test('a stage attempt that never returns fails the run with its 2h attempt timeout, on the skipped clock', async () => {
  const pipeline = definePipeline({
    name: uniqueName('stuck'),
    stages: [
      {
        id: 'stuck',
        kind: 'glue.job',
        params: { JobName: 'stuck' },
        retry: { maximumAttempts: 1 },
        // A heartbeat timeout longer than the attempt, so the attempt timeout is what fires.
        timeout: { attempt: '2h', heartbeat: '3h' },
      },
      { id: 'after', kind: 'glue.job', dependsOn: ['stuck'], params: { JobName: 'after' } },
    ],
  });
  const handle = await env.client.workflow.start<typeof runPipeline>(WORKFLOW_TYPES.runPipeline, {
    workflowId: `${pipeline.name}/2024-03-02`,
    taskQueue,
    args: [{ pipeline, ds: '2024-03-02' }],
  });

  const err: unknown = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );

  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect(cause.type).toBe(ERROR_TYPES.stageFailed);
  // START_TO_CLOSE is the stage's `timeout.attempt`; not the heartbeat timeout, not a retry.
  expect(cause.message).toBe('Stage "stuck" (glue.job) failed: timed out (START_TO_CLOSE)');
  expect(stuckAttempts.filter((p) => p === pipeline.name)).toHaveLength(1);

  const status = await handle.query<RunStatus>('status');
  expect(Object.fromEntries(status.stages.map((s) => [s.id, s.state]))).toEqual({ stuck: 'failed', after: 'skipped' });
  expect(status.stages[0]?.error?.type).toBe('TimeoutError');

  const desc = await handle.describe();
  expect(desc.status.name).toBe('FAILED');
  const workflowElapsedMs = (desc.closeTime as Date).getTime() - desc.startTime.getTime();
  expect(workflowElapsedMs).toBeGreaterThanOrEqual(2 * HOUR_MS);
  expect(workflowElapsedMs).toBeLessThan(3 * HOUR_MS);
});
