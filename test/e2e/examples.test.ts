/**
 * The example pipelines of examples/ (written after public AWS Step Functions ETL samples), run
 * end to end through the CLI exactly as their READMEs say — `sluice run -p examples/<x>/pipeline.yaml
 * -d <date> --param ...` — against a real worker, the Temporal dev server and the local AWS
 * endpoint. The test creates the AWS resources each example names, with unique names passed as
 * --param, and asserts what happened in AWS: the Lambda invoked once per batch with its keys, the
 * crawler started once, every table's sub-run with its params, the EMR cluster always terminated.
 *
 * The examples' pipeline names are fixed (they are in the files), so the runs of one jest run use
 * dates of their own (a random base date, one day per run): no run of an earlier jest run is followed.
 */
import { randomInt } from 'node:crypto';
import { DescribeClusterCommand, ListClustersCommand, ListStepsCommand, type StepSummary } from '@aws-sdk/client-emr';
import { CreateCrawlerCommand, GetJobRunsCommand } from '@aws-sdk/client-glue';
import { ListStatementsCommand } from '@aws-sdk/client-redshift-data';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { readRunStatus } from '../../client/runs';
import { addDays } from '../../common/dates';
import type { RunStatus, StageStatus } from '../../common/run-types';
import { awsClients, createBucket, createLambdaFunction, createGlueJob, uniqueName } from '../support/aws';
import { sluice } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, cliEnv, waitFor } from '../support/temporal';

const ctx = fileContext('e2e-examples', { worker: {} });
const env = cliEnv(ctx);

/** A base date no earlier jest run used (one in ~9,000), and a day of its own for each run. */
const BASE = addDays('2000-01-01', randomInt(0, 9000));
let days = 0;
const nextDate = (): string => addDays(BASE, days++);

const params = (values: Record<string, string>): string[] =>
  Object.entries(values).flatMap(([k, v]) => ['--param', `${k}=${v}`]);

async function status(workflowId: string): Promise<RunStatus> {
  const s = await readRunStatus(ctx.client.workflow, workflowId);
  if (!s) throw new Error(`no run ${workflowId}`);
  return s;
}

function stage(run: RunStatus, id: string): StageStatus {
  const s = run.stages.find((x) => x.id === id);
  if (!s) throw new Error(`run ${run.pipeline} has no stage ${id}`);
  return s;
}

/** `sluice status <pipeline> <date> --json`: the run as users read it. */
async function cliStatus(pipeline: string, ds: string): Promise<RunStatus> {
  const res = await sluice(['status', pipeline, ds, '--json'], env);
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout) as RunStatus;
}

// ---------------------------------------------------------------- fixtures

async function createCrawler(name: string, database: string, target: string): Promise<string> {
  await awsClients().glue.send(
    new CreateCrawlerCommand({
      Name: name,
      Role: 'arn:aws:iam::123456789012:role/glue',
      DatabaseName: database,
      Targets: { S3Targets: [{ Path: target }] },
    }),
  );
  return name;
}

async function glueRuns(job: string): Promise<{ state: string; args: Record<string, string> }[]> {
  const out = await awsClients().glue.send(new GetJobRunsCommand({ JobName: job, MaxResults: 200 }));
  return (out.JobRuns ?? []).map((r) => ({ state: r.JobRunState ?? '', args: r.Arguments ?? {} }));
}

// ---------------------------------------------------------------- examples/s3-fanout-etl

describe('examples/s3-fanout-etl (the storm events Distributed Map sample)', () => {
  const FILE = 'examples/s3-fanout-etl/pipeline.yaml';

  async function fixtures() {
    const bucket = await createBucket(uniqueName('storm'));
    const fn = await createLambdaFunction(uniqueName('decompress'), 'python3.12');
    const database = uniqueName('storm_db').replace(/-/g, '_');
    const crawler = await createCrawler(uniqueName('storm-crawler'), database, `s3://${bucket}/curated/`);
    await gateway.setScenario({ service: 'glue-crawler', match: crawler, durationMs: 600, outcome: 'SUCCEEDED' });
    await gateway.setScenario({
      service: 'athena',
      match: `"${database}"."details"`,
      durationMs: 300,
      result: {
        columns: ['year', 'state', 'event_type', 'number_of_occurrences'],
        rows: [
          ['1993', 'TEXAS', 'Hail', '1412'],
          ['1993', 'TEXAS', 'Tornado', '231'],
        ],
      },
    });
    const cli = ['--param', `bucket=${bucket}`, ...params({ function: fn, crawler, database })];
    return { bucket, fn, crawler, database, cli };
  }

  test('12 files: the Lambda invoked once per batch of 5 keys, one crawl, the query’s rows; exit 0', async () => {
    const ds = nextDate();
    const { bucket, fn, crawler, cli } = await fixtures();
    const keys = Array.from(
      { length: 12 },
      (_, i) => `raw/${ds}/StormEvents_details-ftp_v1.0_d${1990 + i}_c20220425.csv.gz`,
    );
    // Another day's file and a "folder" marker are not the day's files.
    for (const Key of [...keys, `raw/${addDays(ds, 1)}/StormEvents_details-ftp_v1.0_d2002_c20220425.csv.gz`])
      await awsClients().s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'gz' }));

    const res = await sluice(['run', '-p', FILE, '-d', ds, '--wait', ...cli], env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`Started s3-fanout-etl/${ds}`);
    expect(res.stdout).toMatch(/✔ decompress \(lambda\.invoke\) succeeded: 3 of 3 items succeeded/);
    expect(res.stdout).toMatch(/✔ crawl \(glue\.crawler\) succeeded: Glue crawler .* completed/);
    expect(res.stdout).toMatch(/✔ report \(athena\.query\) succeeded: .*2 rows/);
    expect(res.stdout).toContain(`Run s3-fanout-etl/${ds} succeeded.`);

    // One Invoke per batch, each with its keys in order (moto's function echoes its payload).
    expect(await gateway.calls({ service: 'lambda', operation: 'Invoke', resource: fn })).toBe(3);
    const run = await cliStatus('s3-fanout-etl', ds);
    const decompress = stage(run, 'decompress').result?.output as { outputs: { payload: unknown }[] };
    expect(decompress).toMatchObject({ items: 3, succeeded: 3, failed: 0, outputsComplete: true });
    // The item outputs, in item order: what each invocation was sent.
    expect(decompress.outputs.map((o) => o.payload)).toEqual([
      { Bucket: bucket, Items: keys.slice(0, 5), Batch: 0, Destination: `curated/${ds}/` },
      { Bucket: bucket, Items: keys.slice(5, 10), Batch: 1, Destination: `curated/${ds}/` },
      { Bucket: bucket, Items: keys.slice(10), Batch: 2, Destination: `curated/${ds}/` },
    ]);
    expect(await gateway.calls({ service: 'glue', operation: 'StartCrawler', resource: crawler })).toBe(1);
    expect(stage(run, 'crawl').result?.output).toMatchObject({ crawlerName: crawler });
    expect(stage(run, 'report').result?.output).toMatchObject({ rowCount: 2, firstValue: '1993' });
    expect(run.params).toMatchObject({ bucket, function: fn, crawler, prefix: 'raw', workgroup: 'primary' });
  });

  test('a day with no files: nothing invoked, the crawl and the query skipped by the condition; exit 0', async () => {
    const ds = nextDate();
    const { fn, crawler, cli } = await fixtures();
    const res = await sluice(['run', '-p', FILE, '-d', ds, '--wait', ...cli], env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/✔ decompress \(lambda\.invoke\) succeeded: 0 of 0 items/);
    expect(res.stdout).toContain(
      '– crawl (glue.crawler) skipped: condition false: {{ stages.decompress.output.succeeded }} > 0 (value 0)',
    );
    expect(res.stdout).toMatch(/– report \(athena\.query\) skipped: upstream crawl skipped/);
    expect(await gateway.calls({ service: 'lambda', operation: 'Invoke', resource: fn })).toBe(0);
    expect(await gateway.calls({ service: 'glue', operation: 'StartCrawler', resource: crawler })).toBe(0);
  });
});

// ---------------------------------------------------------------- examples/per-table

describe('examples/per-table (a sub-run per table, after workflow-within-a-workflow)', () => {
  const FILE = 'examples/per-table/pipeline.yaml';

  async function fixtures() {
    const job = await createGlueJob(uniqueName('load-table'), 10);
    const workgroup = uniqueName('wg');
    await gateway.setScenario({ service: 'glue', match: job, durationMs: 400, outcome: 'SUCCEEDED' });
    return { job, workgroup, cli: params({ load_job: job, workgroup }) };
  }

  /** The sub-runs of one parent run: their workflow IDs, params and stages. */
  async function subRuns(ds: string, n: number): Promise<RunStatus[]> {
    return Promise.all(Array.from({ length: n }, (_, i) => status(`per-table/${ds}/tables[${i}]`)));
  }

  test('the default tables, no full refresh: one sub-run per table with its table, truncate skipped, one load each', async () => {
    const ds = nextDate();
    const { job, workgroup, cli } = await fixtures();
    const res = await sluice(['run', '-p', FILE, '-d', ds, '--wait', ...cli], env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/✔ tables \(pipeline\.run\) succeeded: 3 of 3 items succeeded/);

    const parent = await status(`per-table/${ds}`);
    expect(parent.params).toMatchObject({ tables: ['orders', 'customers', 'payments'], full_refresh: false });
    // The parent's stage output: each item's sub-run, by workflow ID.
    const items = (stage(parent, 'tables').result?.output as { outputs: { workflowId: string; status: string }[] })
      .outputs;
    expect(items.map((o) => [o.workflowId, o.status])).toEqual(
      [0, 1, 2].map((i) => [`per-table/${ds}/tables[${i}]`, 'succeeded']),
    );
    const subs = await subRuns(ds, 3);
    expect(subs.map((s) => [s.pipeline, s.status, s.params?.table, s.params?.full_refresh])).toEqual([
      ['load-table', 'succeeded', 'orders', false],
      ['load-table', 'succeeded', 'customers', false],
      ['load-table', 'succeeded', 'payments', false],
    ]);
    for (const sub of subs) {
      expect(stage(sub, 'truncate')).toMatchObject({
        state: 'skipped',
        reason: 'condition false: {{ params.full_refresh }} == true (value false)',
      });
      expect(stage(sub, 'load').state).toBe('succeeded');
      expect(sub.params).toMatchObject({ load_job: job, workgroup, schema: 'public' });
    }
    const runs = await glueRuns(job);
    expect(runs.map((r) => r.args['--table']).sort()).toEqual(['customers', 'orders', 'payments']);
    expect(runs.every((r) => r.state === 'SUCCEEDED' && r.args['--day'] === ds)).toBe(true);
    expect(runs.find((r) => r.args['--table'] === 'orders')?.args['--source']).toBe(
      `s3://my-data-lake/curated/orders/dt=${ds}/`,
    );
    expect(await gateway.calls({ service: 'redshift-data', resource: workgroup })).toBe(0);
  });

  test('--param tables=… full_refresh=true: each sub-run truncates its table in Redshift, then loads it', async () => {
    const ds = nextDate();
    const { job, workgroup, cli } = await fixtures();
    const res = await sluice(
      ['run', '-p', FILE, '-d', ds, '--wait', ...params({ tables: 'orders,refunds', full_refresh: 'true' }), ...cli],
      env,
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/✔ tables \(pipeline\.run\) succeeded: 2 of 2 items succeeded/);

    const subs = await subRuns(ds, 2);
    expect(subs.map((s) => [s.params?.table, s.params?.full_refresh])).toEqual([
      ['orders', true],
      ['refunds', true],
    ]);
    for (const sub of subs) {
      const truncate = stage(sub, 'truncate');
      const load = stage(sub, 'load');
      expect([truncate.state, load.state]).toEqual(['succeeded', 'succeeded']);
      // The load started once the truncate had ended.
      expect(Date.parse(load.startedAt as string)).toBeGreaterThanOrEqual(Date.parse(truncate.endedAt as string));
    }
    const statements = await awsClients().redshiftData.send(
      new ListStatementsCommand({ WorkgroupName: workgroup, RoleLevel: false }),
    );
    expect((statements.Statements ?? []).map((s) => [s.QueryString, s.Status]).sort()).toEqual([
      ['TRUNCATE TABLE public.orders', 'FINISHED'],
      ['TRUNCATE TABLE public.refunds', 'FINISHED'],
    ]);
    expect((await glueRuns(job)).map((r) => r.args['--table']).sort()).toEqual(['orders', 'refunds']);
  });
});

// ---------------------------------------------------------------- examples/emr-cluster

describe('examples/emr-cluster (the Manage an Amazon EMR Job sample, with its cleanup)', () => {
  const FILE = 'examples/emr-cluster/pipeline.yaml';

  async function fixtures(steps: { transform?: object; aggregate?: object } = {}) {
    const name = uniqueName('nightly');
    await gateway.setScenario({ service: 'emr-cluster', match: name, durationMs: 800, outcome: 'SUCCEEDED' });
    for (const step of ['transform', 'aggregate'] as const)
      await gateway.setScenario({
        service: 'emr',
        match: `${name}-${step}`,
        durationMs: 400,
        outcome: 'SUCCEEDED',
        ...steps[step],
      });
    return { name, cli: params({ cluster_name: name, bucket: 'lake' }) };
  }

  async function clusterNamed(name: string): Promise<string | undefined> {
    const out = await awsClients().emr.send(new ListClustersCommand({}));
    return out.Clusters?.find((c) => c.Name === name)?.Id;
  }

  async function clusterState(id: string): Promise<string | undefined> {
    return (await awsClients().emr.send(new DescribeClusterCommand({ ClusterId: id }))).Cluster?.Status?.State;
  }

  /** The cluster's steps, oldest first: [which step of the pipeline, its state]. */
  async function stepsOf(id: string): Promise<[string, string][]> {
    const steps: StepSummary[] = (await awsClients().emr.send(new ListStepsCommand({ ClusterId: id }))).Steps ?? [];
    return steps
      .reverse()
      .map((s) => [/-(transform|aggregate)\b/.exec(s.Name ?? '')?.[1] ?? s.Name ?? '', s.Status?.State ?? '']);
  }

  const calls = (operation: string, resource: string) => gateway.calls({ service: 'emr', operation, resource });

  test('cluster → transform → aggregate → terminate: both steps on the cluster, one RunJobFlow, TERMINATED', async () => {
    const ds = nextDate();
    const { name, cli } = await fixtures();
    const res = await sluice(['run', '-p', FILE, '-d', ds, '--wait', ...cli], env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    for (const line of [
      '✔ cluster (emr.cluster) succeeded',
      '✔ transform (emr.step) succeeded',
      '✔ aggregate (emr.step) succeeded',
      '✔ terminate (emr.terminate) succeeded',
    ])
      expect(res.stdout).toContain(line);

    const run = await status(`emr-cluster/${ds}`);
    const id = stage(run, 'cluster').result?.output?.clusterId as string;
    expect(id).toMatch(/^j-[A-Z0-9]+$/);
    expect(stage(run, 'transform').result?.output).toMatchObject({ clusterId: id });
    expect(stage(run, 'aggregate').result?.output).toMatchObject({ clusterId: id });
    expect(stage(run, 'terminate').result?.output).toMatchObject({ clusterId: id, state: 'TERMINATED' });
    expect(await clusterState(id)).toBe('TERMINATED');
    expect(await stepsOf(id)).toEqual([
      ['transform', 'COMPLETED'],
      ['aggregate', 'COMPLETED'],
    ]);
    const cluster = (await awsClients().emr.send(new DescribeClusterCommand({ ClusterId: id }))).Cluster;
    expect(cluster?.ReleaseLabel).toBe('emr-7.0.0');
    expect(cluster?.Applications?.map((a) => a.Name).sort()).toEqual(['Hive', 'Spark']);
    expect(await calls('RunJobFlow', name)).toBe(1);
    expect(await calls('AddJobFlowSteps', id)).toBe(2);
    expect(await calls('TerminateJobFlows', id)).toBe(1);
  });

  test('sluice cancel while a step runs: the step is cancelled, terminate still runs, the cluster ends TERMINATED', async () => {
    const ds = nextDate();
    const { name, cli } = await fixtures({ transform: { durationMs: 600_000 } });
    const res = await sluice(['run', '-p', FILE, '-d', ds, ...cli], env);
    expect(res.code).toBe(0);
    const id = await waitFor('the cluster to be started', () => clusterNamed(name));
    await waitFor('the transform step to run', async () =>
      (await stepsOf(id)).some(([step, state]) => step === 'transform' && state === 'RUNNING'),
    );

    const cancel = await sluice(['cancel', 'emr-cluster', ds], env, 60_000);
    expect(cancel.stderr).toBe('');
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toContain(`Run emr-cluster/${ds} cancelled;`);
    expect(cancel.stdout).toContain('✔ terminate (emr.terminate) succeeded');

    const run = await status(`emr-cluster/${ds}`);
    expect(run.status).toBe('cancelled');
    expect(run.stages.map((s) => [s.id, s.state])).toEqual([
      ['cluster', 'succeeded'],
      ['transform', 'cancelled'],
      ['aggregate', 'skipped'],
      ['terminate', 'succeeded'],
    ]);
    expect(await clusterState(id)).toBe('TERMINATED');
    expect(await stepsOf(id)).toEqual([['transform', 'CANCELLED']]);
    expect(await calls('RunJobFlow', name)).toBe(1);
    expect(await calls('TerminateJobFlows', id)).toBe(1);
  });

  test('a step that fails: the cleanup terminates the cluster, then the run fails (exit 1) naming the step', async () => {
    const ds = nextDate();
    const message = 'Exception in thread "main" org.apache.spark.SparkException: Job aborted';
    const { name, cli } = await fixtures({ aggregate: { outcome: 'FAILED', message } });
    const res = await sluice(['run', '-p', FILE, '-d', ds, '--wait', ...cli], env);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('✔ transform (emr.step) succeeded');
    expect(res.stdout).toMatch(/✘ aggregate \(emr\.step\) failed: .*SparkException: Job aborted/);
    expect(res.stdout).toContain('✔ terminate (emr.terminate) succeeded');
    expect(res.stderr).toMatch(
      new RegExp(`Run emr-cluster/${ds} failed: Stage "aggregate" \\(emr\\.step\\) failed: .*SparkException`),
    );

    // A failed run keeps its stages' job ids (not their outputs): the cluster is the terminate stage's job.
    const run = await status(`emr-cluster/${ds}`);
    expect(run.status).toBe('failed');
    const id = stage(run, 'terminate').jobId as string;
    expect(id).toBe(await clusterNamed(name));
    expect(stage(run, 'cluster').jobId).toBe(id);
    expect(await clusterState(id)).toBe('TERMINATED');
    expect(await stepsOf(id)).toEqual([
      ['transform', 'COMPLETED'],
      ['aggregate', 'FAILED'],
    ]);
    expect(await calls('RunJobFlow', name)).toBe(1);
    expect(await calls('TerminateJobFlows', id)).toBe(1);
  });
});
