/**
 * runPipeline's stage retry policy on the time-skipping test server: a stage whose retry interval
 * is one hour is retried twice and succeeds, and the test finishes in seconds because the server
 * skips the backoff instead of waiting it out. The stage activity is mocked (this test is about
 * the retry policy the workflow gives its activity, not about AWS).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { ERROR_TYPES, WORKFLOW_TYPES } from '../../common/constants';
import { definePipeline } from '../../common/pipeline';
import type { RunStatus, StageInput, StageResult } from '../../common/run-types';
import { SA_DATE, SA_PIPELINE, SA_STATUS } from '../../common/search-attributes';
import type { runPipeline } from '../../workflows';
import { uniqueName } from '../support/aws';

/** Installed by infra/local/stack.sh; the SDK's own download does not work offline. */
const TEST_SERVER = path.resolve(__dirname, '..', '..', '.sluice', 'venv', 'bin', 'temporal-test-server');
const HOUR_MS = 3_600_000;

let env: TestWorkflowEnvironment;
let worker: Worker;
let workerDone: Promise<void>;
const taskQueue = uniqueName('retry-ts');

/** Every runStage call: which stage, which attempt, and the server's clock when it ran. */
const attempts: { stage: string; attempt: number; currentAttemptScheduledTime: number }[] = [];

beforeAll(async () => {
  if (!existsSync(TEST_SERVER)) throw new Error(`${TEST_SERVER} is missing: run \`bash infra/local/stack.sh up\``);
  const bundle = process.env.SLUICE_WORKFLOW_BUNDLE;
  if (!bundle || !existsSync(bundle)) throw new Error(`workflow bundle ${bundle ?? '(SLUICE_WORKFLOW_BUNDLE unset)'} is missing: jest's globalSetup builds it`);

  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER } } });
  // runPipeline upserts Sluice's custom search attributes; register them as the dev server's --search-attribute does.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: {
      [SA_PIPELINE.name]: 2 /* KEYWORD */,
      [SA_STATUS.name]: 2 /* KEYWORD */,
      [SA_DATE.name]: 5 /* DATETIME */,
    },
  });

  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: bundle },
    activities: {
      async runStage(input: StageInput): Promise<StageResult> {
        const info = Context.current().info;
        attempts.push({ stage: `${input.pipeline}:${input.stageId}`, attempt: info.attempt, currentAttemptScheduledTime: info.currentAttemptScheduledTimestampMs });
        if (info.attempt < 3) {
          throw ApplicationFailure.create({ message: `Rate exceeded (attempt ${info.attempt})`, type: ERROR_TYPES.awsTransient });
        }
        return { summary: `succeeded on attempt ${info.attempt}` };
      },
      async stopStageJob(): Promise<string> {
        return 'nothing to stop';
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
  expect(result.stages[0]).toMatchObject({ id: 'load', state: 'succeeded', result: { summary: 'succeeded on attempt 3' } });

  const mine = attempts.filter((a) => a.stage === `${pipeline.name}:load`);
  expect(mine.map((a) => a.attempt)).toEqual([1, 2, 3]);
  // Each retry was scheduled one backoff interval (1h) after the previous attempt, on the server's clock.
  const [a1, a2, a3] = mine as [(typeof mine)[0], (typeof mine)[0], (typeof mine)[0]];
  expect(a2.currentAttemptScheduledTime - a1.currentAttemptScheduledTime).toBeGreaterThanOrEqual(HOUR_MS);
  expect(a3.currentAttemptScheduledTime - a2.currentAttemptScheduledTime).toBeGreaterThanOrEqual(HOUR_MS);

  // The workflow's own clock moved at least two hours between start and close.
  const desc = await handle.describe();
  expect(desc.status.name).toBe('COMPLETED');
  expect(desc.closeTime).toBeInstanceOf(Date);
  expect((desc.closeTime as Date).getTime() - desc.startTime.getTime()).toBeGreaterThanOrEqual(2 * HOUR_MS);
  // The stage's own timestamps (workflow time) agree.
  const stage = result.stages[0] as RunStatus['stages'][number];
  expect(Date.parse(stage.endedAt as string) - Date.parse(stage.startedAt as string)).toBeGreaterThanOrEqual(2 * HOUR_MS);
});
