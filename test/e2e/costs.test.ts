/**
 * What a date cost, through the CLI: each stage's usage from its job's own figures as the local
 * gateway's emulated Glue, Athena and EMR Serverless report them, priced by common/prices.ts, in
 * `sluice status` (text and --json), and the price table overridden by SLUICE_PRICES_FILE.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetQueryExecutionCommand } from '@aws-sdk/client-athena';
import { CreateApplicationCommand, GetJobRunCommand as GetServerlessRunCommand } from '@aws-sdk/client-emr-serverless';
import { GetJobRunCommand } from '@aws-sdk/client-glue';
import { DEFAULT_PRICES, formatUsd } from '../../common/prices';
import type { RunStatus } from '../../common/run-types';
import type { RunCost } from '../../client/costs';
import { awsClients, createGlueJob, createLambdaFunction, uniqueName } from '../support/aws';
import { pipelineDir, sluice } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, cliEnv } from '../support/temporal';

const ctx = fileContext('e2e-costs', { worker: {} });
const env = cliEnv(ctx);
const { dir, file: pipelineFile } = pipelineDir('sluice-costs-');
const DS = '2024-07-01';

test('sluice status gives each stage’s cost from its job’s own figures, the run’s total, and uses SLUICE_PRICES_FILE', async () => {
  const name = uniqueName('cost');
  const job = await createGlueJob();
  const table = uniqueName('t');
  const sparkName = uniqueName('spark');
  const app = (
    await awsClients().emrServerless.send(
      new CreateApplicationCommand({ name: uniqueName('app'), releaseLabel: 'emr-7.0.0', type: 'SPARK' }),
    )
  ).applicationId as string;
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 1200 });
  await gateway.setScenario({ service: 'athena', match: table, durationMs: 300, usage: { bytesScanned: 123_456_789 } });
  await gateway.setScenario({
    service: 'emr-serverless',
    match: sparkName,
    durationMs: 1500,
    usage: { vCPU: 8, memoryGB: 32, storageGB: 40 },
  });
  const file = pipelineFile(
    name,
    `name: ${name}
defaults:
  poll: { initial: 200ms, max: 500ms }
stages:
  - id: transform
    kind: glue.job
    params: { JobName: ${job}, WorkerType: G.2X, NumberOfWorkers: 5 }
  - id: check
    kind: athena.query
    dependsOn: [transform]
    params: { QueryString: "SELECT count(*) FROM ${table}" }
  - id: spark
    kind: emr-serverless.job
    dependsOn: [transform]
    params:
      applicationId: ${app}
      name: ${sparkName}
      executionRoleArn: arn:aws:iam::123456789012:role/emr-serverless
      jobDriver: { sparkSubmit: { entryPoint: "s3://lake/jobs/x.py" } }
  - id: note
    kind: s3.put
    dependsOn: [check]
    params: { Bucket: ${uniqueName('b')}, Key: k, Body: x }
`,
  );
  const ran = await sluice(['run', '-p', file, '-d', DS, '--wait'], env);
  // The s3.put fails (no such bucket): its cost is unknown, the others are known.
  expect(ran.code).toBe(1);

  const res = await sluice(['status', name, DS, '--json'], env);
  expect(res.code).toBe(0);
  const status = JSON.parse(res.stdout) as RunStatus & { cost: RunCost };
  const stage = (id: string) => status.stages.find((s) => s.id === id);

  // What the emulated jobs reported, read back with the AWS SDK.
  const glueRun = (
    await awsClients().glue.send(new GetJobRunCommand({ JobName: job, RunId: stage('transform')?.jobId }))
  ).JobRun;
  const query = (
    await awsClients().athena.send(new GetQueryExecutionCommand({ QueryExecutionId: stage('check')?.jobId }))
  ).QueryExecution;
  const spark = (
    await awsClients().emrServerless.send(
      new GetServerlessRunCommand({ applicationId: app, jobRunId: stage('spark')?.jobId }),
    )
  ).jobRun;
  expect(glueRun?.WorkerType).toBe('G.2X');
  expect(query?.Statistics?.DataScannedInBytes).toBe(123_456_789);

  const P = DEFAULT_PRICES;
  // Glue: ExecutionTime under a minute is billed a minute; G.2X × 5 = 10 DPU.
  const glueUsd = ((Math.max(60, glueRun?.ExecutionTime ?? NaN) * 10) / 3600) * P.glue.perDpuHour;
  // Athena: rounded up to the megabyte.
  const mb = 1024 * 1024;
  const athenaUsd = ((Math.ceil(123_456_789 / mb) * mb) / 1024 ** 4) * P.athena.perTerabyteScanned;
  const b = spark?.billedResourceUtilization;
  const sparkUsd =
    (b?.vCPUHour ?? NaN) * P.emrServerless.perVcpuHour +
    (b?.memoryGBHour ?? NaN) * P.emrServerless.perMemoryGbHour +
    (b?.storageGBHour ?? NaN) * P.emrServerless.perStorageGbHour;
  expect(b?.vCPUHour).toBeCloseTo((8 * 60) / 3600, 6);
  // Each stage adds its Temporal actions (one start and at least its first heartbeat).
  const actionsUsd = (id: string) => {
    const actions = stage(id)?.result?.temporalActions ?? NaN;
    expect(actions).toBeGreaterThanOrEqual(2);
    expect(status.cost.stages[id]?.temporal).toEqual({ actions, usd: actions * P.temporal.perAction });
    return actions * P.temporal.perAction;
  };
  const temporalUsd = actionsUsd('transform') + actionsUsd('check') + actionsUsd('spark');
  expect(status.cost.stages.transform?.usd).toBeCloseTo(glueUsd + actionsUsd('transform'), 12);
  expect(status.cost.stages.check?.usd).toBeCloseTo(athenaUsd + actionsUsd('check'), 12);
  expect(status.cost.stages.spark?.usd).toBeCloseTo(sparkUsd + actionsUsd('spark'), 12);
  expect(status.cost.stages.note?.usd).toBeUndefined();
  expect(status.cost.stages.note?.note).toContain('unknown');
  // The total says it is a lower bound: one stage's figure is unknown, not 0.
  expect(status.cost.total.usd).toBeCloseTo(glueUsd + athenaUsd + sparkUsd + temporalUsd, 12);
  expect(status.cost.total.note).toBe('at least: 1 of 4 stages report no usage figures');
  expect(status.cost.prices).toEqual({ asOf: P.asOf, region: P.region });

  const text = await sluice(['status', name, DS], env);
  expect(text.stdout).toContain('ExecutionTime');
  expect(text.stdout).toMatch(/cost of this run: \$[0-9.]+ \(at least: 1 of 4 stages/);

  // Another price table: Glue at twice the price.
  const prices = path.join(dir, 'prices.json');
  writeFileSync(prices, JSON.stringify({ asOf: '2027-01-01', glue: { perDpuHour: 0.88 } }));
  const over = JSON.parse(
    (await sluice(['status', name, DS, '--json'], { ...env, SLUICE_PRICES_FILE: prices })).stdout,
  ) as {
    cost: RunCost;
  };
  expect(over.cost.stages.transform?.usd).toBeCloseTo(2 * glueUsd + actionsUsd('transform'), 12);
  expect(over.cost.stages.check?.usd).toBeCloseTo(athenaUsd + actionsUsd('check'), 12);
  expect(over.cost.prices.asOf).toBe('2027-01-01');

  // A bad price file is refused with the fix.
  writeFileSync(prices, JSON.stringify({ gleu: {} }));
  const bad = await sluice(['status', name, DS], { ...env, SLUICE_PRICES_FILE: prices });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('unknown key "gleu"');
});

test('a Lambda stage’s cost from its billed duration and memory (the REPORT line), and each date’s cost in sluice runs', async () => {
  const name = uniqueName('costl');
  const fn = await createLambdaFunction();
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'lambda', match: fn, durationMs: 250 });
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 800 });
  const file = pipelineFile(
    name,
    `name: ${name}
defaults:
  poll: { initial: 200ms, max: 500ms }
stages:
  - id: notify
    kind: lambda.invoke
    params: { FunctionName: ${fn}, Payload: { day: "{{ ds }}" } }
  - id: transform
    kind: glue.job
    dependsOn: [notify]
    params: { JobName: ${job}, WorkerType: G.1X, NumberOfWorkers: 2 }
`,
  );
  // Two dates as a backfill: its report sums what they cost.
  const bf = await sluice(
    ['backfill', '--pipeline', file, '--from', '2024-07-02', '--to', '2024-07-03', '--wait', '--json'],
    env,
  );
  expect(bf.code).toBe(0);
  const backfillCost = (JSON.parse(bf.stdout) as { cost: { usd?: number; dates: number; partial: number } }).cost;
  expect(backfillCost).toMatchObject({ dates: 2, partial: 0 });
  const status = JSON.parse((await sluice(['status', name, '2024-07-02', '--json'], env)).stdout) as RunStatus & {
    cost: RunCost;
  };
  const notify = status.stages.find((s) => s.id === 'notify');
  // The gateway's function ran 250.37 ms: billed 251 ms at its configured 128 MB.
  expect(notify?.result?.usage?.lambda).toEqual({ billedMs: 251, memoryMB: 128 });
  const P = DEFAULT_PRICES;
  const lambdaUsd = (251 / 1000) * (128 / 1024) * P.lambda.perGbSecond + P.lambda.perRequest;
  const actions = notify?.result?.temporalActions ?? NaN;
  expect(status.cost.stages.notify?.usd).toBeCloseTo(lambdaUsd + actions * P.temporal.perAction, 15);
  // No log lines of the function in the result: only the REPORT line's figures.
  expect(JSON.stringify(notify?.result)).not.toMatch(/RequestId|START|END/);
  expect(status.cost.total.note).toBe('every stage from its own figures');

  // The run's summary in the Temporal UI (its current details) ends with what it cost.
  const meta = await ctx.client.workflow
    .getHandle(`${name}/2024-07-02`)
    .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  expect(meta.currentDetails).toContain('✔ notify (lambda.invoke): succeeded');
  expect(meta.currentDetails).toMatch(
    /\ncost: \$[0-9.]+ \(every stage from its own figures; us-east-1 list prices of 2026-12-01\)$/,
  );
  const runs = JSON.parse((await sluice(['runs', '--pipeline', name, '--json'], env)).stdout) as {
    ds: string;
    cost: { usd?: number; note: string };
  }[];
  expect(runs.map((r) => r.ds)).toEqual(['2024-07-02', '2024-07-03']);
  expect(runs[0]?.cost.usd).toBeCloseTo(status.cost.total.usd ?? NaN, 15);
  expect(runs[1]?.cost.usd).toBeGreaterThan(0);
  expect(backfillCost.usd).toBeCloseTo((runs[0]?.cost.usd ?? NaN) + (runs[1]?.cost.usd ?? NaN), 15);
  const text = await sluice(['runs', '--pipeline', name], env);
  expect(text.stdout).toMatch(/date\s+status\s+duration\s+cost/);
  expect(text.stdout).toContain(formatUsd(runs[0]?.cost.usd ?? NaN));
});
