/**
 * End to end: real worker, real Temporal dev server, real AWS SDK clients over HTTP to the local
 * endpoint (moto behind the Sluice gateway). Each test uses its own bucket, Glue job and task queue.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { StartJobRunCommand } from '@aws-sdk/client-glue';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { CancelledFailure, WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ERROR_TYPES } from '../../common/constants';
import { definePipeline } from '../../common/pipeline';
import type { RunStatus } from '../../common/run-types';
import { startRun, waitForRun } from '../../client/runs';
import { awsClients, createBucket, createGlueJob, glueRunState, glueRunStates, uniqueName } from '../support/aws';
import { gateway } from '../support/gateway';
import { fileContext, waitFor } from '../support/temporal';
import { FAST } from '../support/timing';

const ctx = fileContext('e2e-stages', { worker: {} });

/** Fast polling and a short heartbeat timeout keep the tests quick; production defaults are in STAGE_DEFAULTS. */
const fast = FAST;

test('s3.put → s3.wait → glue.job → athena.query: every kind over HTTP, templated for the date', async () => {
  const bucket = await createBucket();
  const job = await createGlueJob();
  const table = uniqueName('sales');
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 1500, outcome: 'SUCCEEDED' });
  await gateway.setScenario({
    service: 'athena',
    match: table,
    durationMs: 500,
    outcome: 'SUCCEEDED',
    result: {
      columns: ['region', 'total'],
      rows: [
        ['eu', '12'],
        ['us', '30'],
        ['apac', '7'],
      ],
    },
  });
  const pipeline = definePipeline({
    name: uniqueName('kinds'),
    defaults: fast,
    stages: [
      {
        id: 'land',
        kind: 's3.put',
        params: {
          Bucket: bucket,
          Key: 'raw/{{ ds_nodash }}/sales.csv',
          Body: 'region,total\n{{ pipeline }},{{ ds }}\n',
        },
      },
      {
        id: 'arrived',
        kind: 's3.wait',
        dependsOn: ['land'],
        params: { Bucket: bucket, Prefix: 'raw/{{ ds_nodash }}/' },
        timeout: { total: '30s', heartbeat: '3s' },
      },
      {
        id: 'transform',
        kind: 'glue.job',
        dependsOn: ['arrived'],
        params: { JobName: job, Arguments: { '--day': '{{ ds }}', '--prev': '{{ prev_ds }}' } },
      },
      {
        id: 'report',
        kind: 'athena.query',
        dependsOn: ['transform'],
        params: {
          QueryString: `SELECT region, total FROM ${table} WHERE dt = '{{ ds }}'`,
          ResultConfiguration: { OutputLocation: `s3://${bucket}/athena/` },
        },
      },
    ],
  });
  const started = await startRun(ctx.client, ctx.settings, pipeline, '2024-03-01', { generation: 0 });
  expect(started.workflowId).toBe(`${pipeline.name}/2024-03-01`);
  expect(started.url).toContain(`/workflows/${encodeURIComponent(started.workflowId)}/${started.runId}`);
  const outcome = await waitForRun(started.handle);
  if (!outcome.ok) throw new Error(outcome.message);
  const byId = Object.fromEntries(outcome.status.stages.map((s) => [s.id, s]));

  const object = await awsClients().s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'raw/20240301/sales.csv' }));
  expect(await object.Body?.transformToString()).toBe(`region,total\n${pipeline.name},2024-03-01\n`);
  expect(byId.arrived?.result?.output).toEqual({ uri: `s3://${bucket}/raw/20240301/*` });

  const glueRun = byId.transform?.jobId as string;
  expect(glueRun).toMatch(/^jr_/);
  expect(await glueRunState(job, glueRun)).toBe('SUCCEEDED');
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(1);

  expect(byId.report?.result?.output).toMatchObject({
    columns: ['region', 'total'],
    rowCount: 3,
    rows: [
      { region: 'eu', total: '12' },
      { region: 'us', total: '30' },
      { region: 'apac', total: '7' },
    ],
    rowsComplete: true,
    firstRows: [
      ['eu', '12'],
      ['us', '30'],
      ['apac', '7'],
    ],
    firstValue: 'eu',
    resultLocation: expect.stringMatching(/^s3:\/\//) as unknown,
  });
  expect(byId.report?.result?.summary).toContain('3 rows');

  // The Temporal UI story: a static summary for the run, one activity per stage named by id and kind.
  const desc = await started.handle.describe();
  expect(await desc.staticSummary()).toBe(`Pipeline ${pipeline.name} for 2024-03-01 (4 stages)`);
  const history = await started.handle.fetchHistory();
  const summaries = (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => defaultPayloadConverter.fromPayload<string>(e.userMetadata?.summary as Payload));
  expect(summaries).toEqual(['land (s3.put)', 'arrived (s3.wait)', 'transform (glue.job)', 'report (athena.query)']);
  // Besides: the stage's ask of its pool (a local activity, which starts the pool if it is not running), named so too.
  const asks = (history.events ?? [])
    .filter((e) => e.markerRecordedEventAttributes && e.userMetadata?.summary)
    .map((e) => defaultPayloadConverter.fromPayload<string>(e.userMetadata?.summary as Payload));
  expect(asks).toContain(`ask pool glue:${job} for transform`);
});

test('a Glue job that ends FAILED fails the run with AWS’s message, without retrying', async () => {
  const job = await createGlueJob();
  await gateway.setScenario({
    service: 'glue',
    match: job,
    durationMs: 800,
    outcome: 'FAILED',
    message: 'AnalysisException: Table or view not found: sales.raw',
  });
  const pipeline = definePipeline({
    name: uniqueName('gluefail'),
    defaults: { ...fast, retry: { initialInterval: '200ms', maximumAttempts: 5 } },
    stages: [
      { id: 'transform', kind: 'glue.job', params: { JobName: job } },
      { id: 'report', kind: 'athena.query', dependsOn: ['transform'], params: { QueryString: 'SELECT 1' } },
    ],
  });
  const started = await startRun(ctx.client, ctx.settings, pipeline, '2024-03-02', { generation: 0 });
  const err: unknown = await started.handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe(ERROR_TYPES.stageFailed);
  expect(failure.message).toMatch(
    /^Stage "transform" \(glue\.job\) failed: Glue job jr_\w+ ended FAILED: AnalysisException: Table or view not found: sales\.raw$/,
  );
  const status = await started.handle.query<RunStatus>('status');
  expect(status.stages.map((s) => [s.id, s.state])).toEqual([
    ['transform', 'failed'],
    ['report', 'skipped'],
  ]);
  expect(status.stages[0]?.error?.type).toBe(ERROR_TYPES.jobFailed);
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(1);
  expect((await started.handle.describe()).searchAttributes.SluiceStatus).toEqual(['Failed']);
});

test('cancelling a run with a running Glue stage calls BatchStopJobRun exactly once and the job ends STOPPED', async () => {
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, outcome: 'HANG' });
  const pipeline = definePipeline({
    name: uniqueName('cancel'),
    defaults: { ...fast, timeout: { heartbeat: '2s' } },
    stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
  });
  const started = await startRun(ctx.client, ctx.settings, pipeline, '2024-03-03', { generation: 0 });
  await waitFor(
    'the Glue job to be polled',
    async () => (await gateway.calls({ service: 'glue', operation: 'GetJobRun', resource: job })) >= 2,
  );
  await started.handle.cancel();
  const err: unknown = await started.handle.result().catch((e: unknown) => e);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(1);
  expect(await gateway.calls({ service: 'glue', operation: 'BatchStopJobRun', resource: job })).toBe(1);
  const status = await started.handle.query<RunStatus>('status');
  expect(status.stages[0]?.state).toBe('cancelled');
  expect(status.stages[0]?.jobId).toMatch(/^jr_/);
  expect(status.stages[0]?.error?.message).toBe(
    `Glue job ${status.stages[0]?.jobId} stopped on cancellation (STOPPED)`,
  );
  expect(await glueRunStates(job)).toEqual(['STOPPED']);
  expect((await started.handle.describe()).searchAttributes.SluiceStatus).toEqual(['Cancelled']);
});

test('throttled AWS calls are retried until they succeed', async () => {
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 500, outcome: 'SUCCEEDED' });
  // More throttles than the SDK's own three attempts: the stage's retry policy takes over.
  await gateway.addFault({ service: 'glue', operation: 'StartJobRun', resource: job, kind: 'throttle', times: 4 });
  const pipeline = definePipeline({
    name: uniqueName('throttle'),
    defaults: { ...fast, retry: { initialInterval: '200ms', maximumInterval: '500ms', maximumAttempts: 6 } },
    stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
  });
  const started = await startRun(ctx.client, ctx.settings, pipeline, '2024-03-04', { generation: 0 });
  const outcome = await waitForRun(started.handle);
  expect(outcome.ok).toBe(true);
  // Only one job exists for the stage, whatever the number of attempts.
  expect(await glueRunStates(job)).toEqual(['SUCCEEDED']);
});

test('AccessDenied from AWS fails the stage at once, without retries: AwsRequestError with AWS’s message', async () => {
  const job = await createGlueJob();
  // Every StartJobRun of this job is refused, as IAM would: a retried stage would call it again.
  await gateway.addFault({
    service: 'glue',
    operation: 'StartJobRun',
    resource: job,
    kind: 'access-denied',
    times: -1,
  });
  const pipeline = definePipeline({
    name: uniqueName('denied'),
    defaults: { ...fast, retry: { initialInterval: '200ms', maximumInterval: '500ms', maximumAttempts: 5 } },
    stages: [{ id: 'transform', kind: 'glue.job', params: { JobName: job } }],
  });
  const started = await startRun(ctx.client, ctx.settings, pipeline, '2024-03-05', { generation: 0 });
  const outcome = await waitForRun(started.handle);
  expect(outcome.ok).toBe(false);
  const awsMessage = `User: arn:aws:sts::123456789012:assumed-role/sluice-worker/local is not authorized to perform: glue:StartJobRun on resource: ${job} because no identity-based policy allows the glue:StartJobRun action`;
  if (outcome.ok) return;
  expect(outcome.message).toBe(
    `Stage "transform" (glue.job) failed: Glue start failed: AccessDeniedException: ${awsMessage}`,
  );
  expect(outcome.status?.stages[0]?.state).toBe('failed');
  expect(outcome.status?.stages[0]?.error).toMatchObject({
    type: ERROR_TYPES.awsRequest,
    message: `Glue start failed: AccessDeniedException: ${awsMessage}`,
  });
  // One call, one attempt: neither the SDK nor the stage's retry policy tried again.
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(1);
  const attempts: number[] = [];
  const stageActivities = new Set<string>();
  for (const e of (await started.handle.fetchHistory()).events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'runStage')
      stageActivities.add(String(e.eventId));
    const s = e.activityTaskStartedEventAttributes;
    if (s && stageActivities.has(String(s.scheduledEventId))) attempts.push(s.attempt ?? 0);
  }
  expect(attempts).toEqual([1]);
  expect(await glueRunStates(job)).toEqual([]);
});

test('stopping a Glue job that has already ended is not an error (the run finished before the stop reached it)', async () => {
  const job = await createGlueJob();
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 200, outcome: 'SUCCEEDED' });
  const { JobRunId } = await awsClients().glue.send(new StartJobRunCommand({ JobName: job }));
  await waitFor('the run to end', async () => (await glueRunState(job, JobRunId as string)) === 'SUCCEEDED');
  const activities = createActivities({ clients: awsClients() });
  const outcome = await new MockActivityEnvironment().run(activities.stopStageJob, {
    kind: 'glue.job' as const,
    params: { JobName: job },
    pipeline: 'p',
    ds: '2024-03-01',
    jobId: JobRunId as string,
  });
  expect(outcome).toBe(`Glue job ${JobRunId} SUCCEEDED`);
  expect(await gateway.calls({ service: 'glue', operation: 'BatchStopJobRun', resource: job })).toBe(1);
});

test('a quality check on an Athena result stops the pipeline before downstream stages', async () => {
  const table = uniqueName('empty');
  await gateway.setScenario({
    service: 'athena',
    match: table,
    durationMs: 200,
    result: { columns: ['n'], rows: [['0']] },
  });
  const pipeline = definePipeline({
    name: uniqueName('gate'),
    defaults: fast,
    stages: [
      {
        id: 'check',
        kind: 'athena.query',
        params: { QueryString: `SELECT count(*) AS n FROM ${table}` },
        expect: { rows: '>0', firstValue: '> 0' },
      },
      { id: 'publish', kind: 'athena.query', dependsOn: ['check'], params: { QueryString: 'SELECT 1' } },
    ],
  });
  const outcome = await waitForRun(
    (await startRun(ctx.client, ctx.settings, pipeline, '2024-03-05', { generation: 0 })).handle,
  );
  if (outcome.ok) throw new Error('the check should have failed the run');
  expect(outcome.stage).toBe('check');
  expect(outcome.message).toMatch(
    /^Stage "check" \(athena\.query\) failed: quality check failed on Athena job [\w-]+: expected firstValue > 0 \(got 0\)$/,
  );
  expect(outcome.status?.stages.map((s) => s.state)).toEqual(['failed', 'skipped']);
  expect(outcome.status?.stages[0]?.error?.type).toBe(ERROR_TYPES.qualityCheck);
});
