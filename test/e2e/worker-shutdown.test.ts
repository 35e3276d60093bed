/**
 * Graceful shutdown as ECS does it: SIGTERM to a `sluice worker` process while its Glue stage is
 * running. The process exits within its grace time (SLUICE_SHUTDOWN_GRACE, matched by the ECS
 * stop timeout), the stage moves to another worker, which reattaches to the same job: the run
 * completes with exactly one StartJobRun.
 */
import { definePipeline } from '../../common/pipeline';
import { startRun, waitForRun } from '../../client/runs';
import { createGlueJob, glueRunStates, uniqueName } from '../support/aws';
import { spawnWorker } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, waitFor } from '../support/temporal';
import { fastDefaults } from '../support/timing';

const ctx = fileContext('e2e-sigterm');

const GRACE_MS = 2000;
const fast = fastDefaults({ retry: { initialInterval: '200ms' } });

test('SIGTERM during a running Glue stage: the worker exits within the grace time and another worker completes the run with one StartJobRun', async () => {
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 10_000, outcome: 'SUCCEEDED' });
  const pipeline = definePipeline({
    name: uniqueName('sigterm'),
    defaults: fast,
    stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
  });

  const first = await spawnWorker({
    SLUICE_TASK_QUEUE: ctx.settings.taskQueue,
    SLUICE_SHUTDOWN_GRACE: `${GRACE_MS}ms`,
  });
  let output = '';
  first.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  const started = await startRun(ctx.client, ctx.settings, pipeline, '2024-03-01', { generation: 0 });
  await waitFor(
    'the first worker to poll the job',
    async () => (await gateway.calls({ service: 'glue', operation: 'GetJobRun', resource: job })) >= 2,
  );
  await ctx.startWorker();

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    first.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const sentAt = Date.now();
  first.kill('SIGTERM');
  const { code, signal } = await exited;
  const tookMs = Date.now() - sentAt;
  // Exits by itself (not killed by the signal), cleanly, within the grace time plus a little for the process to end.
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  expect(tookMs).toBeLessThan(GRACE_MS + 3000);
  const states = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; state?: string })
    .filter((l) => l.msg === 'Worker state changed')
    .map((l) => l.state);
  // (RUNNING may come in the same chunk as the start line, read before this listener was attached.)
  expect(states.filter((st) => st !== 'RUNNING')).toEqual(['STOPPING', 'DRAINING', 'DRAINED', 'STOPPED']);
  expect(output).toContain('sluice worker stopped');

  const outcome = await waitForRun(started.handle);
  if (!outcome.ok) throw new Error(outcome.message);
  expect(outcome.status.stages[0]?.result?.reattached).toBe(true);
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(1);
  expect(await glueRunStates(job)).toEqual(['SUCCEEDED']);
});
