/** The `sluice` CLI as users run it (bin/sluice.js), against the local stack. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createBucket, createGlueJob, uniqueName } from '../support/aws';
import { addDays, localDate } from '../../common/dates';
import { pipelineDir, sluice } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, cliEnv, waitFor } from '../support/temporal';

const ctx = fileContext('e2e-cli', { worker: {} });
const env = cliEnv(ctx);
const { dir, file: pipelineFile } = pipelineDir('sluice-cli-');

async function runsOf(workflowId: string): Promise<number> {
  return (await ctx.client.workflow.count(`WorkflowId = "${workflowId}"`)).count;
}

function glueAthenaPipeline(name: string, bucket: string, job: string, table: string): string {
  return `name: ${name}
defaults:
  poll: { initial: 200ms, max: 1s }
  timeout: { heartbeat: 3s }
stages:
  - id: land
    kind: s3.put
    params: { Bucket: ${bucket}, Key: "raw/{{ ds }}/orders.csv", Body: "id,amount\\n1,10\\n" }
  - id: transform
    kind: glue.job
    dependsOn: [land]
    params:
      JobName: ${job}
      Arguments: { "--ds": "{{ ds }}" }
  - id: check
    kind: athena.query
    dependsOn: [transform]
    params: { QueryString: "SELECT count(*) FROM ${table}" }
`;
}

test('run --wait: prints the workflow ID, the UI link and each stage, exits 0', async () => {
  const name = uniqueName('cli-ok');
  const [bucket, job] = [await createBucket(), await createGlueJob()];
  const table = uniqueName('orders');
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 1000 });
  await gateway.setScenario({
    service: 'athena',
    match: table,
    durationMs: 300,
    result: { columns: ['n'], rows: [['1']] },
  });
  const res = await sluice(
    [
      'run',
      '--pipeline',
      pipelineFile(name, glueAthenaPipeline(name, bucket, job, table)),
      '--date',
      '2024-03-01',
      '--wait',
    ],
    env,
  );
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  expect(res.stdout).toContain(`Started ${name}/2024-03-01`);
  expect(res.stdout).toMatch(
    new RegExp(
      `Temporal UI: http://127\\.0\\.0\\.1:8233/namespaces/default/workflows/${encodeURIComponent(`${name}/2024-03-01`)}/[0-9a-f-]+/history`,
    ),
  );
  expect(res.stdout).toMatch(/✔ land \(s3\.put\) succeeded: wrote \d+ bytes/);
  expect(res.stdout).toMatch(/✔ transform \(glue\.job\) succeeded/);
  expect(res.stdout).toMatch(/✔ check \(athena\.query\) succeeded: .*1 row/);
  expect(res.stdout).toContain(`Run ${name}/2024-03-01 succeeded.`);
});

test('run --wait on a failing pipeline exits 1 naming the stage and AWS’s message', async () => {
  const name = uniqueName('cli-fail');
  const [bucket, job] = [await createBucket(), await createGlueJob()];
  await gateway.setScenario({
    service: 'glue',
    match: job,
    durationMs: 500,
    outcome: 'FAILED',
    message: 'Py4JJavaError: column amount does not exist',
  });
  const res = await sluice(
    [
      'run',
      '--pipeline',
      pipelineFile(name, glueAthenaPipeline(name, bucket, job, 't')),
      '--date',
      '2024-03-01',
      '--wait',
    ],
    env,
  );
  expect(res.code).toBe(1);
  expect(res.stdout).toMatch(
    /✘ transform \(glue\.job\) failed: Glue job jr_\w+ ended FAILED: Py4JJavaError: column amount does not exist/,
  );
  expect(res.stderr).toMatch(
    new RegExp(
      `Run ${name}/2024-03-01 failed: Stage "transform" \\(glue\\.job\\) failed: .*Py4JJavaError: column amount does not exist`,
    ),
  );
  expect(res.stdout).toContain('– check (athena.query) skipped');
});

describe('bad input exits 2 with a clear message and starts nothing', () => {
  test('an impossible date', async () => {
    const name = uniqueName('cli-bad');
    const file = pipelineFile(name, glueAthenaPipeline(name, 'b', 'j', 't'));
    const res = await sluice(['run', '--pipeline', file, '--date', '2024-02-30'], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--date: 2024-02-30 is not a day of the calendar');
    expect(res.stderr).toContain('(received "2024-02-30")');
    expect(res.stderr).toContain('Fix:');
    expect(await runsOf(`${name}/2024-02-30`)).toBe(0);
  });

  test('an invalid pipeline file names the file, the stage and the field', async () => {
    const name = uniqueName('cli-kind');
    const file = pipelineFile(
      name,
      `name: ${name}\nstages:\n  - id: transform\n    kind: glue.jobb\n    params: { JobName: j }\n`,
    );
    const res = await sluice(['run', '--pipeline', file, '--date', '2024-03-01'], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${file} is not a valid pipeline`);
    expect(res.stderr).toContain('stage "transform", kind: unknown stage kind (received "glue.jobb")');
    expect(await runsOf(`${name}/2024-03-01`)).toBe(0);
  });

  test('a pipeline file that does not exist', async () => {
    const res = await sluice(['run', '--pipeline', path.join(dir, 'nope.yaml'), '--date', '2024-03-01'], env);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cannot read the pipeline file .*nope\.yaml/);
  });

  test('a missing option and an unknown command', async () => {
    const missing = await sluice(['run', '--date', '2024-03-01'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '-p, --pipeline <file>' not specified");
    const unknown = await sluice(['runn'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'runn'");
  });

  test('--help works on every command', async () => {
    for (const cmd of [[], ['run'], ['worker'], ['validate']]) {
      const res = await sluice([...cmd, '--help'], env);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain('Usage: sluice');
    }
  });
});

describe('connection settings: one validated module for the CLI and the worker, reported as the CLI’s own', () => {
  test('a bad TEMPORAL_ variable exits 2 naming the variable, the value and the fix, and starts nothing', async () => {
    const name = uniqueName('cli-env');
    const file = pipelineFile(name, glueAthenaPipeline(name, 'b', 'j', 't'));
    const res = await sluice(['run', '--pipeline', file, '--date', '2024-03-01'], {
      ...env,
      TEMPORAL_ADDRESS: 'http://127.0.0.1:7233',
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      "error: sluice's Temporal connection configuration in the environment is invalid (1 problem)",
    );
    expect(res.stderr).toContain('TEMPORAL_ADDRESS: expected host:port (received "http://127.0.0.1:7233")');
    expect(res.stderr).toMatch(/Fix: set the frontend address, e\.g\. 127\.0\.0\.1:7233/);
    expect(res.stderr).not.toMatch(/worker/i);
    expect(await runsOf(`${name}/2024-03-01`)).toBe(0);
  });

  test('the worker’s own settings are not the CLI’s concern: a bad SLUICE_HTTP_PORT does not stop `sluice runs`', async () => {
    const name = uniqueName('cli-workerenv');
    const res = await sluice(['runs', '--pipeline', name], {
      ...env,
      SLUICE_HTTP_PORT: 'nope',
      SLUICE_LOG_LEVEL: 'loud',
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`No runs of ${name} found.`);
  });

  test('sluice validate does not load the worker', async () => {
    const preload = path.join(dir, 'record-modules.js');
    const out = path.join(dir, 'modules.txt');
    writeFileSync(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, Object.keys(require.cache).join('\\n')));\n`,
    );
    const name = uniqueName('cli-validate');
    const res = await sluice(['validate', '--pipeline', pipelineFile(name, glueAthenaPipeline(name, 'b', 'j', 't'))], {
      ...env,
      NODE_OPTIONS: `--require ${preload}`,
    });
    expect(res.code).toBe(0);
    const loaded = readFileSync(out, 'utf8').split('\n');
    expect(loaded.some((m) => m.endsWith(path.join('dist', 'client', 'cli.js')))).toBe(true);
    expect(
      loaded.filter(
        (m) => m.includes(`${path.sep}workers${path.sep}`) || m.includes(`@temporalio${path.sep}worker${path.sep}`),
      ),
    ).toEqual([]);
  });

  test('an unreachable server: exit 1 naming the address and the fix, as `sluice worker` does', async () => {
    const name = uniqueName('cli-down');
    const file = pipelineFile(name, glueAthenaPipeline(name, 'b', 'j', 't'));
    const res = await sluice(['run', '--pipeline', file, '--date', '2024-03-01'], {
      ...env,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('error: cannot reach the Temporal server at 127.0.0.1:1 (namespace default)');
    expect(res.stderr).toMatch(/Fix: start it .*TEMPORAL_ADDRESS/);
  });
});

test('schedules as operators see them: create twice says how to update, trigger names the date and run, describe shows both clocks and the date runs', async () => {
  const name = uniqueName('cli-sched-ops');
  const bucket = await createBucket();
  const file = pipelineFile(
    name,
    `name: ${name}\nstages:\n  - id: land\n    kind: s3.put\n    params: { Bucket: ${bucket}, Key: "raw/{{ ds }}.csv", Body: "a\\n" }\n`,
  );
  const id = `${name}/daily`;
  // UTC+14, no daylight saving: 02:00 there is 12:00 UTC the day before, so the two clocks differ visibly.
  const zone = 'Pacific/Kiritimati';
  const create = ['schedule', 'create', '--pipeline', file, '--at', '02:00', '--timezone', zone, '--id', id];
  const created = await sluice(create, env);
  expect(created.code).toBe(0);
  try {
    const again = await sluice(create, env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`schedule ${id} already exists; create does not change it.`);
    expect(again.stderr).toContain(
      `Fix: to change it, run \`sluice schedule update ${id} --pipeline ${file} --at 02:00 --timezone ${zone}\``,
    );

    const expected = new Set([addDays(localDate(Date.now(), zone), -1)]);
    const trigger = await sluice(['schedule', 'trigger', id], env);
    expected.add(addDays(localDate(Date.now(), zone), -1)); // in case midnight passed in between
    expect(trigger.code).toBe(0);
    const m = new RegExp(
      `^${id}: triggered: logical date (\\d{4}-\\d{2}-\\d{2}), run ${name}/(\\d{4}-\\d{2}-\\d{2}) \\(launcher ${name}/scheduled-`,
      'm',
    ).exec(trigger.stdout);
    expect(m).not.toBeNull();
    const ds = m?.[1] as string;
    expect(m?.[2]).toBe(ds);
    expect(expected.has(ds)).toBe(true);
    // The printed ID is the real run of that date.
    await waitFor(
      `run ${name}/${ds} to succeed`,
      async () =>
        (
          await ctx.client.workflow
            .getHandle(`${name}/${ds}`)
            .describe()
            .catch(() => undefined)
        )?.status.name === 'COMPLETED',
    );

    const described = await sluice(['schedule', 'describe', id], env);
    expect(described.code).toBe(0);
    const next = /^ {4}(\d{4}-\d{2}-\d{2}) 02:00 Pacific\/Kiritimati \((\d{4}-\d{2}-\d{2})T12:00:00\.000Z\)$/m.exec(
      described.stdout,
    );
    expect(next).not.toBeNull();
    expect(next?.[2]).toBe(addDays(next?.[1] as string, -1));
    expect(described.stdout).toMatch(
      new RegExp(`recent runs:\\n {4}${name}/${ds} \\(scheduled \\S+Z, launcher ${name}/scheduled-`),
    );
    const json = JSON.parse((await sluice(['schedule', 'describe', id, '--json'], env)).stdout) as {
      timezone: string;
      recentRuns: { ds: string; run: string }[];
    };
    expect(json.timezone).toBe(zone);
    expect(json.recentRuns).toMatchObject([{ ds, run: `${name}/${ds}` }]);
  } finally {
    await ctx.client.schedule.getHandle(id).delete();
  }
});

describe('bad schedule input exits 2 and creates nothing', () => {
  test.each([
    [
      ['--at', '25:00', '--timezone', 'UTC'],
      /--at must be a time of day HH:MM on the 24-hour clock \(received "25:00"\)/,
    ],
    [['--at', '02:00', '--timezone', 'Mars/Base'], /--timezone must be an IANA time zone \(received "Mars\/Base"\)/],
    [
      ['--at', '02:00', '--overlap', 'sometimes'],
      /--overlap must be one of allow-all, skip, buffer-one, buffer-all, cancel-other, terminate-other \(received "sometimes"\)/,
    ],
  ])('%j', async (args, message) => {
    const name = uniqueName('cli-sched');
    const id = `${name}/daily`;
    const res = await sluice(
      [
        'schedule',
        'create',
        '--pipeline',
        pipelineFile(name, glueAthenaPipeline(name, 'b', 'j', 't')),
        '--id',
        id,
        ...args,
      ],
      env,
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    await expect(ctx.client.schedule.getHandle(id).describe()).rejects.toThrow();
  });
});
