/**
 * End to end, per kind: glue.crawler, databrew.job, emr.step, emr-serverless.job through a real
 * worker on the real dev server, the AWS SDK over HTTP to the local endpoint (moto keeps crawlers,
 * DataBrew jobs, EMR clusters and EMR Serverless applications; the gateway runs their jobs).
 * Every test has its own crawler / job / cluster / application, and counts calls by that resource.
 */
import {
  CreateDatasetCommand,
  CreateProfileJobCommand,
  DescribeJobRunCommand,
  ListJobRunsCommand,
  StartJobRunCommand as StartBrewRunCommand,
} from '@aws-sdk/client-databrew';
import {
  AddJobFlowStepsCommand,
  DescribeStepCommand,
  ListStepsCommand,
  RunJobFlowCommand,
  type StepConfig,
} from '@aws-sdk/client-emr';
import {
  CreateApplicationCommand,
  GetJobRunCommand,
  ListJobRunsCommand as ListServerlessRunsCommand,
  StartJobRunCommand as StartServerlessRunCommand,
  type StartJobRunCommandInput,
} from '@aws-sdk/client-emr-serverless';
import { CreateCrawlerCommand, GetCrawlerCommand, ListCrawlsCommand, StartCrawlerCommand } from '@aws-sdk/client-glue';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type SluiceActivities } from '../../activities';
import { taggedStepName } from '../../kinds/emr-step/handler';
import { emrServerlessClientToken } from '../../kinds/emr-serverless-job/handler';
import { parseCrawlerJobId } from '../../kinds/glue-crawler/handler';
import { ERROR_TYPES } from '../../common/constants';
import { stageIdempotencyKey } from '../../common/naming';
import { definePipeline, type PipelineDefinition, type StageDefinition } from '../../common/pipeline';
import { startRun, waitForRun, type RunOutcome } from '../../client/runs';
import { awsClients, uniqueName } from '../support/aws';
import { gateway } from '../support/gateway';
import { fileContext, waitFor, type TestContext, temporalTestContext } from '../support/temporal';
import { cancelWhilePolled, runToEnd as runOn } from '../support/runs';
import { FAST } from '../support/timing';

const ctx = fileContext('e2e-emr-glue', { worker: {} });

const fast = FAST;
const DS = '2024-03-01';

// ---------------------------------------------------------------- fixtures

async function createCrawler(): Promise<string> {
  const name = uniqueName('crawler');
  await awsClients().glue.send(
    new CreateCrawlerCommand({
      Name: name,
      Role: 'arn:aws:iam::123456789012:role/glue',
      DatabaseName: 'raw',
      Targets: { S3Targets: [{ Path: `s3://lake/${name}/` }] },
    }),
  );
  return name;
}

async function crawlStates(name: string): Promise<{ id: string; state: string }[]> {
  const out = await awsClients().glue.send(new ListCrawlsCommand({ CrawlerName: name }));
  return (out.Crawls ?? []).map((c) => ({ id: c.CrawlId ?? '', state: c.State ?? 'UNKNOWN' }));
}

async function createBrewJob(): Promise<string> {
  const name = uniqueName('brew');
  await awsClients().databrew.send(
    new CreateDatasetCommand({
      Name: name,
      Input: { S3InputDefinition: { Bucket: 'lake', Key: `${name}/orders.csv` } },
    }),
  );
  await awsClients().databrew.send(
    new CreateProfileJobCommand({
      Name: name,
      DatasetName: name,
      RoleArn: 'arn:aws:iam::123456789012:role/brew',
      OutputLocation: { Bucket: 'lake', Key: 'profiles/' },
    }),
  );
  return name;
}

async function brewRunStates(name: string): Promise<string[]> {
  const out = await awsClients().databrew.send(new ListJobRunsCommand({ Name: name }));
  return (out.JobRuns ?? []).map((r) => r.State ?? 'UNKNOWN');
}

async function createCluster(): Promise<string> {
  const out = await awsClients().emr.send(
    new RunJobFlowCommand({
      Name: uniqueName('cluster'),
      ReleaseLabel: 'emr-7.0.0',
      Instances: {
        MasterInstanceType: 'm5.xlarge',
        SlaveInstanceType: 'm5.xlarge',
        InstanceCount: 1,
        KeepJobFlowAliveWhenNoSteps: true,
      },
      JobFlowRole: 'EMR_EC2_DefaultRole',
      ServiceRole: 'EMR_DefaultRole',
    }),
  );
  return out.JobFlowId as string;
}

function sparkStep(name: string): StepConfig {
  return {
    Name: name,
    ActionOnFailure: 'CONTINUE',
    HadoopJarStep: {
      Jar: 'command-runner.jar',
      Args: ['spark-submit', 's3://lake/jobs/orders.py', '--day', '{{ ds }}'],
    },
  };
}

async function createApplication(): Promise<string> {
  const out = await awsClients().emrServerless.send(
    new CreateApplicationCommand({ name: uniqueName('app'), releaseLabel: 'emr-7.0.0', type: 'SPARK' }),
  );
  return out.applicationId as string;
}

function serverlessParams(applicationId: string, name: string): StartJobRunCommandInput & Record<string, unknown> {
  return {
    applicationId,
    name,
    executionRoleArn: 'arn:aws:iam::123456789012:role/emr-serverless',
    jobDriver: { sparkSubmit: { entryPoint: 's3://lake/jobs/orders.py', entryPointArguments: ['--day', '{{ ds }}'] } },
  };
}

// ---------------------------------------------------------------- helpers

function onePipeline(
  prefix: string,
  stage: Omit<StageDefinition, 'dependsOn'> & { dependsOn?: string[] },
  defaults: PipelineDefinition['defaults'] = fast,
): PipelineDefinition {
  return definePipeline({ name: uniqueName(prefix), defaults, stages: [stage] });
}

const runToEnd = (pipeline: PipelineDefinition, on: TestContext = ctx): Promise<RunOutcome> => runOn(on, pipeline, DS);

/** Runs a pipeline whose only stage must fail with a JobFailedError; returns the run's failure message. */
async function expectJobFailed(pipeline: PipelineDefinition): Promise<string> {
  const outcome = await runToEnd(pipeline);
  if (outcome.ok) throw new Error('the run should have failed');
  expect(outcome.stage).toBe(pipeline.stages[0]?.id);
  expect(outcome.status?.stages[0]?.error?.type).toBe(ERROR_TYPES.jobFailed);
  return outcome.message;
}

/** Starts the run, waits until `polled` says the job is being polled, cancels, and checks the run ended cancelled. */
async function cancelWhilePolling(pipeline: PipelineDefinition, polled: () => Promise<boolean>): Promise<void> {
  await cancelWhilePolled(ctx, pipeline, polled, DS);
}

/**
 * For kinds that adopt a run started after the stage was scheduled: runs the workflow on a worker
 * without activities until the stage's activity is scheduled, lets `between` start a job (what an
 * attempt that died right after its start call leaves behind), then starts a worker that runs stages.
 */
async function withJobStartedWhileScheduled(
  pipeline: PipelineDefinition,
  between: () => Promise<void>,
): Promise<RunOutcome> {
  const late = await temporalTestContext('e2e-emr-glue-late');
  try {
    await late.startWorker({ workerOptions: { activities: {} } });
    const started = await startRun(late.client, late.settings, pipeline, DS, { generation: 0 });
    await waitFor('the stage to be scheduled', async () =>
      ((await started.handle.describe()).raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'runStage'),
    );
    await between();
    await late.startWorker();
    return await waitForRun(started.handle);
  } finally {
    await late.close();
  }
}

// ---------------------------------------------------------------- glue.crawler

describe('glue.crawler', () => {
  test('a crawl that completes: the result names the crawl AWS lists as COMPLETED, after one StartCrawler', async () => {
    const crawler = await createCrawler();
    await gateway.setScenario({ service: 'glue-crawler', match: crawler, durationMs: 1200, outcome: 'SUCCEEDED' });
    const outcome = await runToEnd(
      onePipeline('crawl', { id: 'catalog', kind: 'glue.crawler', params: { Name: crawler } }),
    );
    if (!outcome.ok) throw new Error(outcome.message);
    const stage = outcome.status.stages[0];
    const { name, crawlId } = parseCrawlerJobId(stage?.jobId as string);
    expect(name).toBe(crawler);
    expect(await crawlStates(crawler)).toEqual([{ id: crawlId, state: 'COMPLETED' }]);
    expect(stage?.result?.output).toMatchObject({ crawlerName: crawler, crawlId });
    expect(stage?.result?.summary).toMatch(new RegExp(`^Glue crawler ${crawler} crawl ${crawlId} completed in \\d+s$`));
    const got = await awsClients().glue.send(new GetCrawlerCommand({ Name: crawler }));
    expect([got.Crawler?.State, got.Crawler?.LastCrawl?.Status, got.Crawler?.LastCrawl?.MessagePrefix]).toEqual([
      'READY',
      'SUCCEEDED',
      crawlId,
    ]);
    expect(await gateway.calls({ service: 'glue', operation: 'StartCrawler', resource: crawler })).toBe(1);
  });

  test('a FAILED crawl fails the run naming the stage with AWS’s message, without retrying', async () => {
    const crawler = await createCrawler();
    await gateway.setScenario({
      service: 'glue-crawler',
      match: crawler,
      durationMs: 600,
      outcome: 'FAILED',
      message: 'Insufficient Lake Formation permission(s) on raw',
    });
    const message = await expectJobFailed(
      onePipeline(
        'crawlfail',
        { id: 'catalog', kind: 'glue.crawler', params: { Name: crawler } },
        { ...fast, retry: { initialInterval: '200ms', maximumAttempts: 5 } },
      ),
    );
    expect(message).toMatch(
      new RegExp(
        `^Stage "catalog" \\(glue\\.crawler\\) failed: Glue crawler job ${crawler}@[0-9a-f-]{36} ended FAILED: Insufficient Lake Formation permission\\(s\\) on raw$`,
      ),
    );
    expect(await gateway.calls({ service: 'glue', operation: 'StartCrawler', resource: crawler })).toBe(1);
  });

  test('cancelling a running crawl calls StopCrawler exactly once and the crawl ends STOPPED', async () => {
    const crawler = await createCrawler();
    await gateway.setScenario({ service: 'glue-crawler', match: crawler, outcome: 'HANG' });
    await cancelWhilePolling(
      onePipeline('crawlcancel', { id: 'catalog', kind: 'glue.crawler', params: { Name: crawler } }),
      async () => (await gateway.calls({ service: 'glue', operation: 'ListCrawls', resource: crawler })) >= 4,
    );
    expect(await gateway.calls({ service: 'glue', operation: 'StartCrawler', resource: crawler })).toBe(1);
    expect(await gateway.calls({ service: 'glue', operation: 'StopCrawler', resource: crawler })).toBe(1);
    expect((await crawlStates(crawler)).map((c) => c.state)).toEqual(['STOPPED']);
    const got = await awsClients().glue.send(new GetCrawlerCommand({ Name: crawler }));
    expect([got.Crawler?.State, got.Crawler?.LastCrawl?.Status]).toEqual(['READY', 'CANCELLED']);
  });

  test('a crawl started after the stage was scheduled (an attempt that died after StartCrawler) is adopted: no second StartCrawler', async () => {
    const crawler = await createCrawler();
    await gateway.setScenario({ service: 'glue-crawler', match: crawler, durationMs: 1500, outcome: 'SUCCEEDED' });
    // No pool: the worker without activities could not ask the crawler's pool, and the window under
    // test (scheduled, not yet attempted) is that of the stage's own activity.
    const pipeline = onePipeline('crawlfind', {
      id: 'catalog',
      kind: 'glue.crawler',
      params: { Name: crawler },
      pool: 'none',
    });
    const outcome = await withJobStartedWhileScheduled(pipeline, async () => {
      await awsClients().glue.send(new StartCrawlerCommand({ Name: crawler }));
    });
    if (!outcome.ok) throw new Error(outcome.message);
    const [orphan] = await crawlStates(crawler);
    expect(outcome.status.stages[0]?.jobId).toBe(`${crawler}@${orphan?.id}`);
    expect(outcome.status.stages[0]?.result?.reattached).toBe(true);
    expect(await gateway.calls({ service: 'glue', operation: 'StartCrawler', resource: crawler })).toBe(1);
  });

  test('a crawl started before the stage was scheduled is not adopted: the stage waits for the crawler and runs its own crawl', async () => {
    const crawler = await createCrawler();
    await gateway.setScenario({ service: 'glue-crawler', match: crawler, durationMs: 1500, outcome: 'SUCCEEDED' });
    await awsClients().glue.send(new StartCrawlerCommand({ Name: crawler }));
    const [earlier] = await crawlStates(crawler);
    const outcome = await runToEnd(
      onePipeline(
        'crawlbusy',
        { id: 'catalog', kind: 'glue.crawler', params: { Name: crawler } },
        { ...fast, retry: { initialInterval: '300ms', backoffCoefficient: 1, maximumAttempts: 30 } },
      ),
    );
    if (!outcome.ok) throw new Error(outcome.message);
    const ours = parseCrawlerJobId(outcome.status.stages[0]?.jobId as string).crawlId;
    expect(ours).not.toBe(earlier?.id);
    expect(outcome.status.stages[0]?.result?.reattached).toBe(false);
    expect(await crawlStates(crawler)).toEqual([
      { id: ours, state: 'COMPLETED' },
      { id: earlier?.id, state: 'COMPLETED' },
    ]);
  });
});

// ---------------------------------------------------------------- databrew.job

describe('databrew.job', () => {
  test('a run that succeeds: the result names the run AWS reports SUCCEEDED, after one StartJobRun', async () => {
    const job = await createBrewJob();
    await gateway.setScenario({ service: 'databrew', match: job, durationMs: 1200, outcome: 'SUCCEEDED' });
    const outcome = await runToEnd(onePipeline('brew', { id: 'profile', kind: 'databrew.job', params: { Name: job } }));
    if (!outcome.ok) throw new Error(outcome.message);
    const stage = outcome.status.stages[0];
    expect(stage?.jobId).toMatch(/^db_[0-9a-f]{64}$/);
    const run = await awsClients().databrew.send(new DescribeJobRunCommand({ Name: job, RunId: stage?.jobId }));
    expect(run.State).toBe('SUCCEEDED');
    expect(stage?.result?.output).toMatchObject({ jobName: job, runId: stage?.jobId, datasetName: job });
    expect(await gateway.calls({ service: 'databrew', operation: 'StartJobRun', resource: job })).toBe(1);
  });

  test('a FAILED run fails the run naming the stage with AWS’s message, with one StartJobRun', async () => {
    const job = await createBrewJob();
    await gateway.setScenario({
      service: 'databrew',
      match: job,
      durationMs: 600,
      outcome: 'FAILED',
      message: 'Dataset s3://lake/orders.csv could not be read',
    });
    const message = await expectJobFailed(
      onePipeline(
        'brewfail',
        { id: 'profile', kind: 'databrew.job', params: { Name: job } },
        { ...fast, retry: { initialInterval: '200ms', maximumAttempts: 5 } },
      ),
    );
    expect(message).toMatch(
      /^Stage "profile" \(databrew\.job\) failed: DataBrew job db_[0-9a-f]{64} ended FAILED: Dataset s3:\/\/lake\/orders\.csv could not be read$/,
    );
    expect(await gateway.calls({ service: 'databrew', operation: 'StartJobRun', resource: job })).toBe(1);
  });

  test('cancelling a running job calls StopJobRun exactly once and the run ends STOPPED', async () => {
    const job = await createBrewJob();
    await gateway.setScenario({ service: 'databrew', match: job, outcome: 'HANG' });
    await cancelWhilePolling(
      onePipeline('brewcancel', { id: 'profile', kind: 'databrew.job', params: { Name: job } }),
      async () => (await gateway.calls({ service: 'databrew', operation: 'DescribeJobRun', resource: job })) >= 2,
    );
    expect(await gateway.calls({ service: 'databrew', operation: 'StartJobRun', resource: job })).toBe(1);
    expect(await gateway.calls({ service: 'databrew', operation: 'StopJobRun', resource: job })).toBe(1);
    expect(await brewRunStates(job)).toEqual(['STOPPED']);
  });

  test('a run started after the stage was scheduled (an attempt that died after StartJobRun) is adopted: no second StartJobRun', async () => {
    const job = await createBrewJob();
    await gateway.setScenario({ service: 'databrew', match: job, durationMs: 1500, outcome: 'SUCCEEDED' });
    let orphan: string | undefined;
    const outcome = await withJobStartedWhileScheduled(
      onePipeline('brewfind', { id: 'profile', kind: 'databrew.job', params: { Name: job } }),
      async () => {
        orphan = (await awsClients().databrew.send(new StartBrewRunCommand({ Name: job }))).RunId;
      },
    );
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.status.stages[0]?.jobId).toBe(orphan);
    expect(outcome.status.stages[0]?.result?.reattached).toBe(true);
    expect(await gateway.calls({ service: 'databrew', operation: 'StartJobRun', resource: job })).toBe(1);
    expect(await brewRunStates(job)).toEqual(['SUCCEEDED']);
  });
});

// ---------------------------------------------------------------- emr.step

describe('emr.step', () => {
  test('a step that completes: templated args, the key in the step name, one AddJobFlowSteps', async () => {
    const cluster = await createCluster();
    const name = uniqueName('orders');
    await gateway.setScenario({ service: 'emr', match: name, durationMs: 1200, outcome: 'SUCCEEDED' });
    const pipeline = onePipeline('emr', {
      id: 'spark',
      kind: 'emr.step',
      params: { JobFlowId: cluster, Steps: [sparkStep(name)] },
    });
    const outcome = await runToEnd(pipeline);
    if (!outcome.ok) throw new Error(outcome.message);
    const stage = outcome.status.stages[0];
    const step = (await awsClients().emr.send(new DescribeStepCommand({ ClusterId: cluster, StepId: stage?.jobId })))
      .Step;
    expect(step?.Status?.State).toBe('COMPLETED');
    expect(step?.Name).toBe(taggedStepName(name, stageIdempotencyKey(pipeline.name, DS, 'spark', 0)));
    expect(step?.Config?.Args).toEqual(['spark-submit', 's3://lake/jobs/orders.py', '--day', DS]);
    expect(stage?.result?.output).toMatchObject({ clusterId: cluster, stepId: stage?.jobId, stepName: step?.Name });
    expect(await gateway.calls({ service: 'emr', operation: 'AddJobFlowSteps', resource: cluster })).toBe(1);
  });

  test('a FAILED step fails the run naming the stage with AWS’s failure reason, with one AddJobFlowSteps', async () => {
    const cluster = await createCluster();
    const name = uniqueName('orders');
    await gateway.setScenario({
      service: 'emr',
      match: name,
      durationMs: 600,
      outcome: 'FAILED',
      message: 'Exception in thread "main" java.io.FileNotFoundException: s3://lake/jobs/orders.py',
    });
    const message = await expectJobFailed(
      onePipeline(
        'emrfail',
        { id: 'spark', kind: 'emr.step', params: { JobFlowId: cluster, Steps: [sparkStep(name)] } },
        { ...fast, retry: { initialInterval: '200ms', maximumAttempts: 5 } },
      ),
    );
    expect(message).toMatch(
      /^Stage "spark" \(emr\.step\) failed: EMR job s-[A-Z0-9]{13} ended FAILED: Exception in thread "main" java\.io\.FileNotFoundException: s3:\/\/lake\/jobs\/orders\.py$/,
    );
    expect(await gateway.calls({ service: 'emr', operation: 'AddJobFlowSteps', resource: cluster })).toBe(1);
  });

  test('cancelling a running step calls CancelSteps exactly once and the step ends CANCELLED', async () => {
    const cluster = await createCluster();
    const name = uniqueName('orders');
    await gateway.setScenario({ service: 'emr', match: name, outcome: 'HANG' });
    await cancelWhilePolling(
      onePipeline('emrcancel', {
        id: 'spark',
        kind: 'emr.step',
        params: { JobFlowId: cluster, Steps: [sparkStep(name)] },
      }),
      async () => (await gateway.calls({ service: 'emr', operation: 'DescribeStep', resource: cluster })) >= 2,
    );
    expect(await gateway.calls({ service: 'emr', operation: 'AddJobFlowSteps', resource: cluster })).toBe(1);
    expect(await gateway.calls({ service: 'emr', operation: 'CancelSteps', resource: cluster })).toBe(1);
    const steps = await awsClients().emr.send(new ListStepsCommand({ ClusterId: cluster }));
    expect((steps.Steps ?? []).map((s) => s.Status?.State)).toEqual(['CANCELLED']);
  });

  test('a step already carrying the stage’s key (an attempt that died after AddJobFlowSteps) is adopted: no second step', async () => {
    const cluster = await createCluster();
    const name = uniqueName('orders');
    await gateway.setScenario({ service: 'emr', match: name, durationMs: 1500, outcome: 'SUCCEEDED' });
    const pipeline = onePipeline('emrfind', {
      id: 'spark',
      kind: 'emr.step',
      params: { JobFlowId: cluster, Steps: [sparkStep(name)] },
    });
    // Someone else's step on the same cluster, with the same user-given name, is not ours.
    await awsClients().emr.send(new AddJobFlowStepsCommand({ JobFlowId: cluster, Steps: [sparkStep(name)] }));
    const orphan = await awsClients().emr.send(
      new AddJobFlowStepsCommand({
        JobFlowId: cluster,
        Steps: [{ ...sparkStep(name), Name: taggedStepName(name, stageIdempotencyKey(pipeline.name, DS, 'spark', 0)) }],
      }),
    );
    const outcome = await runToEnd(pipeline);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.status.stages[0]?.jobId).toBe(orphan.StepIds?.[0]);
    expect(outcome.status.stages[0]?.result?.reattached).toBe(true);
    expect(await gateway.calls({ service: 'emr', operation: 'AddJobFlowSteps', resource: cluster })).toBe(2);
    expect((await awsClients().emr.send(new ListStepsCommand({ ClusterId: cluster }))).Steps).toHaveLength(2);
  });
});

// ---------------------------------------------------------------- emr-serverless.job

describe('emr-serverless.job', () => {
  test('a job run that succeeds: templated arguments, the hashed key as clientToken, one StartJobRun', async () => {
    const app = await createApplication();
    const name = uniqueName('orders');
    await gateway.setScenario({ service: 'emr-serverless', match: name, durationMs: 1200, outcome: 'SUCCEEDED' });
    const outcome = await runToEnd(
      onePipeline('emrs', { id: 'spark', kind: 'emr-serverless.job', params: serverlessParams(app, name) }),
    );
    if (!outcome.ok) throw new Error(outcome.message);
    const stage = outcome.status.stages[0];
    const run = (
      await awsClients().emrServerless.send(new GetJobRunCommand({ applicationId: app, jobRunId: stage?.jobId }))
    ).jobRun;
    expect(run?.state).toBe('SUCCESS');
    expect(run?.jobDriver?.sparkSubmit?.entryPointArguments).toEqual(['--day', DS]);
    expect(stage?.result?.output).toMatchObject({ applicationId: app, jobRunId: stage?.jobId, name });
    expect(await gateway.calls({ service: 'emr-serverless', operation: 'StartJobRun', resource: app })).toBe(1);
  });

  test('a FAILED job run fails the run naming the stage with AWS’s stateDetails, with one StartJobRun', async () => {
    const app = await createApplication();
    const name = uniqueName('orders');
    await gateway.setScenario({
      service: 'emr-serverless',
      match: name,
      durationMs: 600,
      outcome: 'FAILED',
      message: 'Job failed, please check complete logs in configured logging destination. ExitCode: 1.',
    });
    const message = await expectJobFailed(
      onePipeline(
        'emrsfail',
        { id: 'spark', kind: 'emr-serverless.job', params: serverlessParams(app, name) },
        { ...fast, retry: { initialInterval: '200ms', maximumAttempts: 5 } },
      ),
    );
    expect(message).toMatch(
      /^Stage "spark" \(emr-serverless\.job\) failed: EMR Serverless job [a-z0-9]{16} ended FAILED: Job failed, please check complete logs in configured logging destination\. ExitCode: 1\.$/,
    );
    expect(await gateway.calls({ service: 'emr-serverless', operation: 'StartJobRun', resource: app })).toBe(1);
  });

  test('cancelling a running job calls CancelJobRun exactly once and the run ends CANCELLED', async () => {
    const app = await createApplication();
    const name = uniqueName('orders');
    await gateway.setScenario({ service: 'emr-serverless', match: name, outcome: 'HANG' });
    await cancelWhilePolling(
      onePipeline('emrscancel', { id: 'spark', kind: 'emr-serverless.job', params: serverlessParams(app, name) }),
      async () => (await gateway.calls({ service: 'emr-serverless', operation: 'GetJobRun', resource: app })) >= 2,
    );
    expect(await gateway.calls({ service: 'emr-serverless', operation: 'StartJobRun', resource: app })).toBe(1);
    expect(await gateway.calls({ service: 'emr-serverless', operation: 'CancelJobRun', resource: app })).toBe(1);
    const runs = await awsClients().emrServerless.send(new ListServerlessRunsCommand({ applicationId: app }));
    expect((runs.jobRuns ?? []).map((r) => r.state)).toEqual(['CANCELLED']);
  });

  test('a job run started with the stage’s token (an attempt that died after StartJobRun) is the one the stage gets: one job run', async () => {
    const app = await createApplication();
    const name = uniqueName('orders');
    await gateway.setScenario({ service: 'emr-serverless', match: name, durationMs: 1500, outcome: 'SUCCEEDED' });
    const pipeline = onePipeline('emrstoken', {
      id: 'spark',
      kind: 'emr-serverless.job',
      params: serverlessParams(app, name),
    });
    const orphan = await awsClients().emrServerless.send(
      new StartServerlessRunCommand({
        ...serverlessParams(app, name),
        clientToken: emrServerlessClientToken(stageIdempotencyKey(pipeline.name, DS, 'spark', 0)),
      }),
    );
    const outcome = await runToEnd(pipeline);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.status.stages[0]?.jobId).toBe(orphan.jobRunId);
    const runs = await awsClients().emrServerless.send(new ListServerlessRunsCommand({ applicationId: app }));
    expect((runs.jobRuns ?? []).map((r) => [r.id, r.state])).toEqual([[orphan.jobRunId, 'SUCCESS']]);
  });
});

// ---------------------------------------------------------------- stop after the end

describe('stopping a job that has already ended is not an error (judged by the job’s state)', () => {
  const stopStageJob = (input: Parameters<SluiceActivities['stopStageJob']>[0]): Promise<string> =>
    new MockActivityEnvironment().run(createActivities({ clients: awsClients() }).stopStageJob, input);
  const common = { pipeline: 'p', ds: DS };

  test('glue.crawler: a crawl that ended is not stopped, so another crawl of the crawler is never hit', async () => {
    const crawler = await createCrawler();
    await gateway.setScenario({ service: 'glue-crawler', match: crawler, durationMs: 200, outcome: 'SUCCEEDED' });
    await awsClients().glue.send(new StartCrawlerCommand({ Name: crawler }));
    const crawl = await waitFor('the crawl to end', async () =>
      (await crawlStates(crawler)).find((c) => c.state === 'COMPLETED'),
    );
    expect(
      await stopStageJob({
        ...common,
        kind: 'glue.crawler',
        params: { Name: crawler },
        jobId: `${crawler}@${crawl.id}`,
      }),
    ).toBe(`Glue crawler job ${crawler}@${crawl.id} COMPLETED`);
    expect(await gateway.calls({ service: 'glue', operation: 'StopCrawler', resource: crawler })).toBe(0);
  });

  test('databrew.job: StopJobRun refused on a SUCCEEDED run', async () => {
    const job = await createBrewJob();
    await gateway.setScenario({ service: 'databrew', match: job, durationMs: 200, outcome: 'SUCCEEDED' });
    const { RunId } = await awsClients().databrew.send(new StartBrewRunCommand({ Name: job }));
    await waitFor('the run to end', async () => (await brewRunStates(job))[0] === 'SUCCEEDED');
    expect(await stopStageJob({ ...common, kind: 'databrew.job', params: { Name: job }, jobId: RunId as string })).toBe(
      `DataBrew job ${RunId} SUCCEEDED`,
    );
    expect(await gateway.calls({ service: 'databrew', operation: 'StopJobRun', resource: job })).toBe(1);
  });

  test('emr.step: CancelSteps refused on a COMPLETED step', async () => {
    const cluster = await createCluster();
    const name = uniqueName('orders');
    await gateway.setScenario({ service: 'emr', match: name, durationMs: 200, outcome: 'SUCCEEDED' });
    const stepId = (
      await awsClients().emr.send(new AddJobFlowStepsCommand({ JobFlowId: cluster, Steps: [sparkStep(name)] }))
    ).StepIds?.[0] as string;
    await waitFor(
      'the step to end',
      async () =>
        (await awsClients().emr.send(new DescribeStepCommand({ ClusterId: cluster, StepId: stepId }))).Step?.Status
          ?.State === 'COMPLETED',
    );
    expect(
      await stopStageJob({
        ...common,
        kind: 'emr.step',
        params: { JobFlowId: cluster, Steps: [sparkStep(name)] },
        jobId: stepId,
      }),
    ).toBe(`EMR job ${stepId} COMPLETED`);
    expect(await gateway.calls({ service: 'emr', operation: 'CancelSteps', resource: cluster })).toBe(1);
  });

  test('emr-serverless.job: CancelJobRun refused on a SUCCESS run', async () => {
    const app = await createApplication();
    const name = uniqueName('orders');
    await gateway.setScenario({ service: 'emr-serverless', match: name, durationMs: 200, outcome: 'SUCCEEDED' });
    const { jobRunId } = await awsClients().emrServerless.send(
      new StartServerlessRunCommand({ ...serverlessParams(app, name), clientToken: uniqueName('token') }),
    );
    await waitFor(
      'the run to end',
      async () =>
        (await awsClients().emrServerless.send(new GetJobRunCommand({ applicationId: app, jobRunId }))).jobRun
          ?.state === 'SUCCESS',
    );
    expect(
      await stopStageJob({
        ...common,
        kind: 'emr-serverless.job',
        params: serverlessParams(app, name),
        jobId: jobRunId as string,
      }),
    ).toBe(`EMR Serverless job ${jobRunId} SUCCESS`);
    expect(await gateway.calls({ service: 'emr-serverless', operation: 'CancelJobRun', resource: app })).toBe(1);
  });
});
