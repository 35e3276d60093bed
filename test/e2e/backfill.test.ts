/**
 * Backfills end to end: the real CLI, a real worker, Glue jobs over HTTP on the local endpoint.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backfillProgress, backfillWorkflowId, startBackfill, steer, waitForBackfill } from '../../client/backfills';
import { definePipeline } from '../../common/pipeline';
import { createGlueJob, glueRunStates, uniqueName } from '../support/aws';
import { sluice } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, cliEnv, waitFor } from '../support/temporal';

const ctx = fileContext('e2e-backfill', { worker: {} });
const env = cliEnv(ctx);
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-backfill-'));

function glueFile(name: string, job: string): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
defaults:
  poll: { initial: 200ms, max: 1s }
  timeout: { heartbeat: 2s }
stages:
  - id: transform
    kind: glue.job
    params: { JobName: ${job}, Arguments: { "--ds": "{{ ds }}" } }
`,
  );
  return file;
}

test('cancelling a backfill stops the AWS jobs of the running dates and leaves nothing queued', async () => {
  const job = await createGlueJob(undefined, 10);
  await gateway.setScenario({ service: 'glue', match: job, outcome: 'HANG' });
  const pipeline = definePipeline({
    name: uniqueName('bf-cancel'),
    defaults: { poll: { initial: '200ms', max: '1s' }, timeout: { heartbeat: '2s' } },
    stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
  });
  const started = await startBackfill(ctx.client, ctx.settings, pipeline, {
    from: '2024-03-01',
    to: '2024-03-05',
    concurrency: 2,
    only: 'all',
    order: 'oldest',
  });
  await waitFor(
    'two dates to start their Glue jobs',
    async () => (await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })) === 2,
  );
  await waitFor(
    'both jobs to be polled',
    async () => (await gateway.calls({ service: 'glue', operation: 'GetJobRun', resource: job })) >= 4,
  );
  await steer.cancel(started.handle);
  const outcome = await waitForBackfill(started.handle);
  expect(outcome.status).toBe('cancelled');
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(2);
  expect(await gateway.calls({ service: 'glue', operation: 'BatchStopJobRun', resource: job })).toBe(2);
  expect(await glueRunStates(job)).toEqual(['STOPPED', 'STOPPED']);
  const last = await backfillProgress(started.handle);
  expect(last.counts).toMatchObject({ running: 0, pending: 0, succeeded: 0, cancelled: 5 });
});

test('sluice backfill cancel <id> ends the backfill CANCELLED, stops its jobs, and --wait prints the report of what was cancelled', async () => {
  const name = uniqueName('bf-cli-cancel');
  const job = await createGlueJob(undefined, 10);
  await gateway.setScenario({ service: 'glue', match: job, outcome: 'HANG' });
  const file = glueFile(name, job);
  const id = backfillWorkflowId(name, '2024-04-01', '2024-04-05');
  const waiting = sluice(
    ['backfill', '--pipeline', file, '--from', '2024-04-01', '--to', '2024-04-05', '--concurrency', '2', '--wait'],
    env,
  );
  await waitFor(
    'two dates to start their Glue jobs',
    async () => (await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })) === 2,
  );
  const cancel = await sluice(['backfill', 'cancel', id], env);
  expect(cancel.code).toBe(0);
  expect(cancel.stdout).toContain(`${id}: cancelling`);
  const waited = await waiting;
  expect(waited.code).toBe(1);
  expect(waited.stdout).toContain(`Backfill of ${name} 2024-04-01 → 2024-04-05: cancelled`);
  expect(waited.stdout).toContain('succeeded 0, failed 0, skipped 0, cancelled 5');
  expect(waited.stdout).toContain('■ cancelled: 2024-04-0');
  expect((await ctx.client.workflow.getHandle(id).describe()).status.name).toBe('CANCELLED');
  expect(await gateway.calls({ service: 'glue', operation: 'BatchStopJobRun', resource: job })).toBe(2);
  expect(await glueRunStates(job)).toEqual(['STOPPED', 'STOPPED']);
});

test('sluice backfill --wait shows the progress and the report, and exits 1 when a date failed', async () => {
  const name = uniqueName('bf-cli');
  const job = await createGlueJob(undefined, 5);
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 300 });
  const file = glueFile(name, job);
  const ok = await sluice(
    ['backfill', '--pipeline', file, '--from', '2024-02-28', '--to', '2024-03-02', '--concurrency', '3', '--wait'],
    env,
  );
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain(`Started backfill ${backfillWorkflowId(name, '2024-02-28', '2024-03-02')}`);
  expect(ok.stdout).toContain('Temporal UI: http://127.0.0.1:8233/namespaces/default/workflows/');
  expect(ok.stdout).toContain(`Backfill of ${name} 2024-02-28 → 2024-03-02: succeeded`);
  expect(ok.stdout).toContain('succeeded 4, failed 0, skipped 0, cancelled 0');
  expect(ok.stderr).toMatch(/dates .* 4\/4 \| running 0 \| succeeded 4 \| failed 0/);

  const status = await sluice(
    ['backfill', 'status', backfillWorkflowId(name, '2024-02-28', '2024-03-02'), '--json'],
    env,
  );
  expect(JSON.parse(status.stdout)).toMatchObject({ pipeline: name, total: 4, counts: { succeeded: 4 } });

  await gateway.setScenario({
    service: 'glue',
    match: job,
    durationMs: 300,
    outcome: 'FAILED',
    message: 'ParseException: bad input',
  });
  const failed = await sluice(
    ['backfill', '--pipeline', file, '--from', '2024-03-03', '--to', '2024-03-04', '--wait'],
    env,
  );
  expect(failed.code).toBe(1);
  expect(failed.stdout).toMatch(
    /✘ 2024-03-03 stage transform: Stage "transform" \(glue\.job\) failed: Glue job jr_\w+ ended FAILED: ParseException: bad input/,
  );
  expect(failed.stdout).toContain('Next: rerun the failed dates with --only failed.');

  const runs = await sluice(['runs', '--pipeline', name, '--json'], env);
  const rows = JSON.parse(runs.stdout) as { ds: string; status: string }[];
  expect(rows.map((r) => [r.ds, r.status])).toEqual([
    ['2024-02-28', 'Succeeded'],
    ['2024-02-29', 'Succeeded'],
    ['2024-03-01', 'Succeeded'],
    ['2024-03-02', 'Succeeded'],
    ['2024-03-03', 'Failed'],
    ['2024-03-04', 'Failed'],
  ]);
  // --to is the last date, included.
  const range = await sluice(['runs', '--pipeline', name, '--from', '2024-03-01', '--to', '2024-03-03', '--json'], env);
  expect((JSON.parse(range.stdout) as { ds: string; status: string }[]).map((r) => [r.ds, r.status])).toEqual([
    ['2024-03-01', 'Succeeded'],
    ['2024-03-02', 'Succeeded'],
    ['2024-03-03', 'Failed'],
  ]);
  const one = await sluice(['status', name, '2024-03-03'], env);
  expect(one.stdout).toMatch(
    /✘ transform \(glue\.job\) failed: Glue job jr_\w+ ended FAILED: ParseException: bad input/,
  );
});

describe('bad backfill input exits 2 and starts nothing', () => {
  const cases: [string, string[], RegExp][] = [
    ['from after to', ['--from', '2024-03-05', '--to', '2024-03-01'], /--from 2024-03-05 is after --to 2024-03-01/],
    [
      'an impossible date',
      ['--from', '2024-02-30', '--to', '2024-03-01'],
      /--from: 2024-02-30 is not a day of the calendar/,
    ],
    [
      'a range over the maximum without --force',
      ['--from', '2020-01-01', '--to', '2024-01-01'],
      /has 1462 dates, more than 400 .*add --force/s,
    ],
    [
      'a concurrency of 0',
      ['--from', '2024-03-01', '--to', '2024-03-02', '--concurrency', '0'],
      /--concurrency must be a whole number >= 1 \(received "0"\)/,
    ],
    [
      'an unknown --only',
      ['--from', '2024-03-01', '--to', '2024-03-02', '--only', 'some'],
      /--only must be missing, failed or all \(received "some"\)/,
    ],
  ];
  test.each(cases)('%s', async (_name, args, message) => {
    const name = uniqueName('bf-bad');
    const file = glueFile(name, 'j');
    const res = await sluice(['backfill', '--pipeline', file, ...args], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect((await ctx.client.workflow.count(`WorkflowId STARTS_WITH "${name}/"`)).count).toBe(0);
  });

  test('an unknown pipeline file', async () => {
    const res = await sluice(
      ['backfill', '--pipeline', path.join(dir, 'missing.yaml'), '--from', '2024-03-01', '--to', '2024-03-02'],
      env,
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cannot read the pipeline file .*missing\.yaml/);
  });
});
