/**
 * Worker Versioning on the dev server: two real Sluice workers of one Worker Deployment, build A
 * and build B, on a task queue of the test's own (in the first test B is `sluice worker` configured
 * by its environment, as on ECS). Build B is made current with the same
 * `temporal worker deployment set-current-version` command as the rollout guide (docs/deploying.md).
 *
 * - A date run (PINNED) started on A finishes on A, every workflow task of it completed by A,
 *   while runs started after the switch run on B.
 * - A backfill (AUTO_UPGRADE) started on A moves to B: its tasks after the switch are B's, its
 *   first date run stays on A and the date run it starts after the switch is on B.
 *
 * A run is held by an `s3.wait` stage until the test writes the object it waits for.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startBackfill, waitForBackfill } from '../../client/backfills';
import { startRun, waitForRun } from '../../client/runs';
import { runWorkflowId } from '../../common/naming';
import { definePipeline, type PipelineDefinition } from '../../common/pipeline';
import { awsClients, createBucket, uniqueName } from '../support/aws';
import { spawnWorker } from '../support/cli';
import { TEMPORAL_BIN } from '../support/codec';
import { temporalTestContext, waitFor, type RunningWorker, type TestContext } from '../support/temporal';

const run = promisify(execFile);
const EventType = temporal.api.enums.v1.EventType;
const Behavior = temporal.api.enums.v1.VersioningBehavior;

/** The repo's CLI (infra/local/stack.sh installs it), else the main checkout's (a git worktree has none). */
const temporalBin = existsSync(TEMPORAL_BIN)
  ? TEMPORAL_BIN
  : path.resolve(__dirname, '..', '..', '..', 'main', '.sluice', 'venv', 'bin', 'temporal');

let ctx: TestContext;
let bucket: string;
const workers: RunningWorker[] = [];
const processes: ChildProcess[] = [];

beforeAll(async () => {
  ctx = await temporalTestContext('e2e-versioning');
  bucket = await createBucket();
});

afterAll(async () => {
  await Promise.all(
    processes.map(
      (p) =>
        new Promise((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve(undefined);
          p.once('exit', resolve);
          p.kill('SIGTERM');
        }),
    ),
  );
  await Promise.all(workers.map((w) => w.stop()));
  await ctx?.close();
});

async function cli(args: string[]): Promise<string> {
  const { stdout } = await run(
    temporalBin,
    [...args, '--address', ctx.settings.address, '--namespace', ctx.settings.namespace],
    {
      timeout: 30_000,
    },
  );
  return stdout;
}

/** The rollout guide's command; retried until the server has seen the version's pollers. */
async function setCurrent(deploymentName: string, buildId: string): Promise<void> {
  let last = '';
  await waitFor(
    `${deploymentName}.${buildId} to become current (${last})`,
    async () => {
      try {
        await cli([
          'worker',
          'deployment',
          'set-current-version',
          '--deployment-name',
          deploymentName,
          '--build-id',
          buildId,
          '--yes',
        ]);
        return true;
      } catch (err) {
        last = String((err as { stderr?: string }).stderr ?? err);
        return false;
      }
    },
    60_000,
    500,
  );
  const described = JSON.parse(
    await cli(['worker', 'deployment', 'describe', '--name', deploymentName, '-o', 'json']),
  ) as {
    routingConfig?: { currentVersionBuildID?: string; currentVersion?: { buildId?: string } };
  };
  const current = described.routingConfig?.currentVersion?.buildId ?? described.routingConfig?.currentVersionBuildID;
  expect(current).toBe(buildId);
}

async function startVersionedWorker(deploymentName: string, buildId: string): Promise<RunningWorker> {
  const w = await ctx.startWorker({ deployment: { deploymentName, buildId } });
  workers.push(w);
  return w;
}

/** The build ID of the worker that completed each workflow task of a run, in order. */
async function taskBuildIds(client: Client, workflowId: string, runId?: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    .map((e) => e.workflowTaskCompletedEventAttributes?.deploymentVersion?.buildId ?? '(unversioned)');
}

async function versioningInfo(client: Client, workflowId: string, runId?: string) {
  const d = await client.workflow.getHandle(workflowId, runId).describe();
  const info = d.raw.workflowExecutionInfo?.versioningInfo;
  return { buildId: info?.deploymentVersion?.buildId, behavior: info?.behavior };
}

const heldBy = (name: string, prefix: string): PipelineDefinition =>
  definePipeline({
    name,
    defaults: { poll: { initial: '300ms', max: '1s' }, timeout: { heartbeat: '3s' } },
    stages: [
      {
        id: 'arrived',
        kind: 's3.wait',
        params: { Bucket: bucket, Prefix: `${prefix}/{{ ds_nodash }}/` },
        timeout: { total: '5m', heartbeat: '3s' },
      },
    ],
  });

const release = (prefix: string, ds: string) =>
  awsClients().s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${ds.replaceAll('-', '')}/data.csv`, Body: 'x' }),
  );

/** Whether the run's s3.wait stage is running (its activity is scheduled): its first tasks are done. */
async function stageRunning(client: Client, workflowId: string): Promise<boolean> {
  const d = await client.workflow.getHandle(workflowId).describe();
  return (d.raw.pendingActivities ?? []).length > 0;
}

test('a date run started on build A finishes on A while runs started after B is made current run on B', async () => {
  const deployment = uniqueName('sluice-ver');
  await startVersionedWorker(deployment, 'build-a');
  await setCurrent(deployment, 'build-a');

  const pipeline = heldBy(uniqueName('pinned'), 'pinned');
  const first = await startRun(ctx.client, ctx.settings, pipeline, '2024-03-01', { generation: 0 });
  await waitFor('the run on A to start its stage', () => stageRunning(ctx.client, first.workflowId), 60_000);

  // Build B is `sluice worker` as deployed: the version comes from SLUICE_DEPLOYMENT_NAME + SLUICE_BUILD_ID.
  processes.push(
    await spawnWorker({
      SLUICE_TASK_QUEUE: ctx.settings.taskQueue,
      SLUICE_DEPLOYMENT_NAME: deployment,
      SLUICE_BUILD_ID: 'build-b',
    }),
  );
  await setCurrent(deployment, 'build-b');
  await release('pinned', '2024-03-02');
  const second = await startRun(ctx.client, ctx.settings, pipeline, '2024-03-02', { generation: 0 });
  const secondOutcome = await waitForRun(second.handle);
  if (!secondOutcome.ok) throw new Error(secondOutcome.message);

  // The first run was still waiting for its object all along: it is released only now.
  expect((await first.handle.describe()).status.name).toBe('RUNNING');
  await release('pinned', '2024-03-01');
  const firstOutcome = await waitForRun(first.handle);
  if (!firstOutcome.ok) throw new Error(firstOutcome.message);

  const firstTasks = await taskBuildIds(ctx.client, first.workflowId);
  expect(firstTasks.length).toBeGreaterThanOrEqual(2);
  expect(new Set(firstTasks)).toEqual(new Set(['build-a']));
  expect(await versioningInfo(ctx.client, first.workflowId)).toEqual({
    buildId: 'build-a',
    behavior: Behavior.VERSIONING_BEHAVIOR_PINNED,
  });

  const secondTasks = await taskBuildIds(ctx.client, second.workflowId);
  expect(new Set(secondTasks)).toEqual(new Set(['build-b']));
  expect(await versioningInfo(ctx.client, second.workflowId)).toEqual({
    buildId: 'build-b',
    behavior: Behavior.VERSIONING_BEHAVIOR_PINNED,
  });
});

test('a backfill (AUTO_UPGRADE) started on build A moves to B; its date runs stay on the build they started on', async () => {
  const deployment = uniqueName('sluice-ver');
  await startVersionedWorker(deployment, 'build-a');
  await setCurrent(deployment, 'build-a');

  const pipeline = heldBy(uniqueName('upgrade'), 'upgrade');
  const started = await startBackfill(ctx.client, ctx.settings, pipeline, {
    from: '2024-03-01',
    to: '2024-03-02',
    concurrency: 1,
    only: 'all',
    order: 'oldest',
  });
  const firstDate = runWorkflowId(pipeline.name, '2024-03-01');
  await waitFor(
    'the first date run to start its stage on A',
    async () => {
      try {
        return await stageRunning(ctx.client, firstDate);
      } catch {
        return false;
      }
    },
    60_000,
  );

  await startVersionedWorker(deployment, 'build-b');
  await setCurrent(deployment, 'build-b');
  await release('upgrade', '2024-03-01');
  await release('upgrade', '2024-03-02');
  const outcome = await waitForBackfill(started.handle);
  expect(outcome.status).toBe('succeeded');
  expect(outcome.report?.succeeded).toEqual(['2024-03-01', '2024-03-02']);

  const backfillTasks = await taskBuildIds(ctx.client, started.workflowId);
  expect(backfillTasks[0]).toBe('build-a');
  expect(backfillTasks.at(-1)).toBe('build-b');
  expect(await versioningInfo(ctx.client, started.workflowId)).toEqual({
    buildId: 'build-b',
    behavior: Behavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE,
  });
  expect(new Set(await taskBuildIds(ctx.client, firstDate))).toEqual(new Set(['build-a']));
  expect(new Set(await taskBuildIds(ctx.client, runWorkflowId(pipeline.name, '2024-03-02')))).toEqual(
    new Set(['build-b']),
  );
});
