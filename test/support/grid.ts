/**
 * A pipeline whose grid has every state (issue #22), seeded through the real CLI, worker and
 * local gateway: 03-01 succeeded, 03-02 failed (its Athena check), 03-03 never ran, 03-04
 * running (its check hangs), 03-05 cancelled (while its check ran). Three stages: land (s3.put),
 * transform (glue.job), check (athena.query).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createBucket, createGlueJob, uniqueName } from './aws';
import { pipelineDir, ROOT, SLUICE_BIN, sluice } from './cli';
import { gateway } from './gateway';
import { readRunStatus } from '../../client/runs';
import type { Client } from '@temporalio/client';
import { waitFor } from './temporal';

export const GRID_DATES = {
  succeeded: '2024-03-01',
  failed: '2024-03-02',
  never: '2024-03-03',
  running: '2024-03-04',
  cancelled: '2024-03-05',
} as const;
export const GRID_FROM = GRID_DATES.succeeded;
export const GRID_TO = GRID_DATES.cancelled;
export const FAILED_MESSAGE = 'COLUMN_NOT_FOUND: line 1:8: Column dt cannot be resolved';

export interface SeededGrid {
  name: string;
  file: string;
  table: string;
}

const checkOf = (table: string, ds: string) => `${table} WHERE dt = '${ds}'`;

/** Seeds the grid of a new pipeline; `env` points the CLI at the test's worker. */
export async function seedGrid(client: Client, env: NodeJS.ProcessEnv, prefix: string): Promise<SeededGrid> {
  const name = uniqueName(prefix);
  const [bucket, job] = [await createBucket(), await createGlueJob(undefined, 10)];
  const table = uniqueName('orders').replace(/-/g, '_');
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 300 });
  await gateway.setScenario({
    service: 'athena',
    match: table,
    durationMs: 200,
    result: { columns: ['n'], rows: [['3']] },
    usage: { bytesScanned: 50 * 1024 * 1024 },
  });
  await gateway.setScenario({
    service: 'athena',
    match: checkOf(table, GRID_DATES.failed),
    durationMs: 200,
    outcome: 'FAILED',
    message: FAILED_MESSAGE,
  });
  for (const ds of [GRID_DATES.running, GRID_DATES.cancelled])
    await gateway.setScenario({ service: 'athena', match: checkOf(table, ds), outcome: 'HANG' });
  const file = pipelineDir(`sluice-${prefix}-`).file(
    name,
    `name: ${name}
defaults:
  poll: { initial: 200ms, max: 1s }
stages:
  - id: land
    kind: s3.put
    params: { Bucket: ${bucket}, Key: "raw/{{ ds }}/orders.csv", Body: "id,amount\\n1,10\\n" }
  - id: transform
    kind: glue.job
    dependsOn: [land]
    params: { JobName: ${job}, Arguments: { "--ds": "{{ ds }}" } }
  - id: check
    kind: athena.query
    dependsOn: [transform]
    params: { QueryString: "SELECT count(*) FROM ${checkOf(table, '{{ ds }}')}" }
`,
  );
  const run = (ds: string, wait: boolean) =>
    sluice(['run', '--pipeline', file, '--date', ds, ...(wait ? ['--wait'] : [])], env);
  const [ok, failed] = await Promise.all([run(GRID_DATES.succeeded, true), run(GRID_DATES.failed, true)]);
  if (ok.code !== 0 || failed.code !== 1)
    throw new Error(`seeding runs: ${ok.stdout}${ok.stderr}${failed.stdout}${failed.stderr}`);
  for (const ds of [GRID_DATES.running, GRID_DATES.cancelled]) {
    const started = await run(ds, false);
    if (started.code !== 0) throw new Error(`seeding ${ds}: ${started.stdout}${started.stderr}`);
  }
  // Both hanging runs are in their check stage before one is cancelled.
  for (const ds of [GRID_DATES.running, GRID_DATES.cancelled])
    await waitFor(
      `${name}/${ds} to run its check`,
      async () => {
        const s = await readRunStatus(client.workflow, `${name}/${ds}`);
        return s?.stages.find((st) => st.id === 'check')?.state === 'running';
      },
      60_000,
    );
  const cancelled = await sluice(['cancel', name, GRID_DATES.cancelled], env);
  if (cancelled.code !== 0) throw new Error(`seeding the cancel: ${cancelled.stdout}${cancelled.stderr}`);
  // Visibility lags its writes a little: every run shows its final state before the grid is read.
  await waitFor('visibility to show the seeded states', async () => {
    const { count } = await client.workflow.count(
      `SluicePipeline = "${name}" AND ((SluiceStatus = "Succeeded") OR (SluiceStatus = "Failed") OR (SluiceStatus = "Cancelled"))`,
    );
    return count === 3;
  });
  return { name, file, table };
}

/** The running date's hanging check ends (so the test leaves nothing running). */
export async function finishRunning(client: Client, name: string): Promise<void> {
  await client.workflow
    .getHandle(`${name}/${GRID_DATES.running}`)
    .cancel()
    .catch(() => undefined);
}

/**
 * Starts `sluice ui --port 0` with `env` and waits for the URL it listens on. If it exits or never
 * listens, it is stopped and the error says what it printed.
 */
export async function startSluiceUi(env: NodeJS.ProcessEnv): Promise<{ ui: ChildProcess; url: string }> {
  let out = '';
  const ui = spawn(process.execPath, [SLUICE_BIN, 'ui', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  ui.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  ui.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const url = await waitFor('sluice ui to listen', async () => {
      if (ui.exitCode !== null) throw new Error(`sluice ui exited: ${out}`);
      return /listening on (\S+)/.exec(out)?.[1];
    });
    return { ui, url };
  } catch (err) {
    ui.kill('SIGTERM');
    throw err;
  }
}
