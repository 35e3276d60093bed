/**
 * EMR Serverless's limits, end to end (the real worker and server, the SDK over HTTP to the local
 * gateway, which enforces them as AWS does): the default pool `emr-serverless:<application>`
 * learns its slots from the account's vCPU quota (Service Quotas L-D05C8A75) divided by the vCPUs
 * one run takes, or from the application's schedulerConfiguration.maxConcurrentRuns. The worker
 * runs in a Region of its own so that the quota set here binds nobody else's tests.
 */
import {
  CreateApplicationCommand,
  GetApplicationCommand,
  GetJobRunCommand,
  StartJobRunCommand,
  type CreateApplicationCommandInput,
} from '@aws-sdk/client-emr-serverless';
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import { createAwsClients, type AwsClients } from '../../activities/aws-clients';
import { backfillProgress, startBackfill, waitForBackfill } from '../../client/backfills';
import { describePool } from '../../client/pools';
import { definePipeline } from '../../common/pipeline';
import { uniqueName } from '../support/aws';
import { sluice } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext } from '../support/temporal';
import { FAST_POOLED, SIX_DATES } from '../support/pools';

const REGION = 'ap-northeast-3';
const ROLE = 'arn:aws:iam::123456789012:role/emr-serverless';
/** 1 driver core + 1 executor × 1 core: 2 vCPUs a run. */
const SMALL = '--conf spark.driver.cores=1 --conf spark.executor.cores=1 --conf spark.executor.instances=1';
const ctx = fileContext('e2e-pool-emrs', { worker: { aws: { region: REGION } } });
let aws: AwsClients;

beforeAll(() => {
  aws = createAwsClients({ region: REGION });
});

afterEach(async () => {
  await gateway.setLimits({ region: REGION, emrServerless: { maxConcurrentVcpus: null } });
});

afterAll(() => {
  aws?.destroy();
});

const fast = FAST_POOLED;
const range = SIX_DATES;

async function createApplication(extra: Partial<CreateApplicationCommandInput> = {}): Promise<string> {
  const out = await aws.emrServerless.send(
    new CreateApplicationCommand({ name: uniqueName('app'), releaseLabel: 'emr-7.0.0', type: 'SPARK', ...extra }),
  );
  return out.applicationId as string;
}

function serverlessPipeline(name: string, applicationId: string, sparkSubmitParameters?: string) {
  return definePipeline({
    name,
    defaults: fast,
    stages: [
      {
        id: 'spark',
        kind: 'emr-serverless.job',
        params: {
          applicationId,
          name: `${name}-{{ ds }}`,
          executionRoleArn: ROLE,
          jobDriver: {
            sparkSubmit: {
              entryPoint: 's3://lake/jobs/orders.py',
              ...(sparkSubmitParameters ? { sparkSubmitParameters } : {}),
            },
          },
        },
      },
    ],
  });
}

test('the gateway as AWS: Service Quotas tells the vCPU limit, a start past it is ServiceQuotaExceededException (402), runs past maxConcurrentRuns wait QUEUED', async () => {
  const quota = () =>
    aws.serviceQuotas.send(new GetServiceQuotaCommand({ ServiceCode: 'emr-serverless', QuotaCode: 'L-D05C8A75' }));
  expect((await quota()).Quota).toMatchObject({ QuotaName: 'Max concurrent vCPUs', Value: 16 });
  await gateway.setLimits({ region: REGION, emrServerless: { maxConcurrentVcpus: 4 } });
  expect((await quota()).Quota?.Value).toBe(4);

  // moto drops schedulerConfiguration; the gateway keeps it.
  const app = await createApplication({ schedulerConfiguration: { maxConcurrentRuns: 1 } });
  const got = await aws.emrServerless.send(new GetApplicationCommand({ applicationId: app }));
  expect(got.application?.schedulerConfiguration).toEqual({ maxConcurrentRuns: 1, queueTimeoutMinutes: 360 });

  const token = uniqueName('direct');
  await gateway.setScenario({ service: 'emr-serverless', match: token, durationMs: 1200 });
  const start = (i: number) =>
    aws.emrServerless.send(
      new StartJobRunCommand({
        applicationId: app,
        name: `${token}-${i}`,
        clientToken: `${token}-${i}`,
        executionRoleArn: ROLE,
        jobDriver: { sparkSubmit: { entryPoint: 's3://lake/jobs/x.py', sparkSubmitParameters: SMALL } },
      }),
    );
  const first = await start(1);
  const second = await start(2);
  // 2 + 2 vCPUs held (the queued run counts): a third is refused.
  await expect(start(3)).rejects.toMatchObject({
    name: 'ServiceQuotaExceededException',
    $metadata: { httpStatusCode: 402 },
  });
  const state = async (id: string | undefined) =>
    (await aws.emrServerless.send(new GetJobRunCommand({ applicationId: app, jobRunId: id })))?.jobRun?.state;
  expect(await state(second.jobRunId)).toBe('QUEUED');
  for (let i = 0; i < 40 && (await state(first.jobRunId)) !== 'SUCCESS'; i++)
    await new Promise((r) => setTimeout(r, 100));
  expect(await state(first.jobRunId)).toBe('SUCCESS');
  expect(['PENDING', 'RUNNING']).toContain(await state(second.jobRunId));
  const c = (await gateway.capacity())['emr-serverless']?.[app];
  expect(c).toMatchObject({ accepted: 2, refused: 1, limit: 4 });
}, 60_000);

test('an application without schedulerConfiguration, a vCPU quota that fits 2 runs: the pool learns 2, every date succeeds, never more than 2 at once', async () => {
  await gateway.setLimits({ region: REGION, emrServerless: { maxConcurrentVcpus: 4 } });
  const app = await createApplication();
  const name = uniqueName('pool-emrs');
  await gateway.setScenario({ service: 'emr-serverless', match: name, durationMs: 1500 });
  const pipeline = serverlessPipeline(name, app, SMALL);
  const started = await startBackfill(ctx.client, ctx.settings, pipeline, range);
  expect((await waitForBackfill(started.handle)).status).toBe('succeeded');
  expect((await backfillProgress(started.handle)).counts).toMatchObject({ succeeded: 6, failed: 0 });

  const source = 'EMR Serverless account vCPU quota 4 (L-D05C8A75) ÷ 2 vCPU per run (driver 1 + 1 × 1 executor)';
  const cli = await sluice(['pool', 'describe', `emr-serverless:${app}`, '--json'], {
    SLUICE_TASK_QUEUE: ctx.settings.taskQueue,
  });
  expect(cli.code).toBe(0);
  expect(JSON.parse(cli.stdout)).toMatchObject({ slots: 2, source });
  const c = (await gateway.capacity())['emr-serverless']?.[app];
  expect(c?.peak).toBeLessThanOrEqual(2);
  expect(c?.accepted).toBe(6);
  expect(c?.refused ?? 0).toBeLessThanOrEqual(1);
}, 120_000);

test('an application with schedulerConfiguration.maxConcurrentRuns 3: the pool learns 3 from GetApplication', async () => {
  const app = await createApplication({ schedulerConfiguration: { maxConcurrentRuns: 3 } });
  const name = uniqueName('pool-emrs-sched');
  await gateway.setScenario({ service: 'emr-serverless', match: name, durationMs: 1500 });
  const started = await startBackfill(ctx.client, ctx.settings, serverlessPipeline(name, app), range);
  expect((await waitForBackfill(started.handle)).status).toBe('succeeded');
  expect((await backfillProgress(started.handle)).counts).toMatchObject({ succeeded: 6, failed: 0 });
  const view = await describePool(ctx.client, ctx.settings, `emr-serverless:${app}`);
  expect(view).toMatchObject({
    slots: 3,
    source: 'EMR Serverless GetApplication schedulerConfiguration.maxConcurrentRuns',
  });
  const c = (await gateway.capacity())['emr-serverless']?.[app];
  expect(c?.peak).toBeLessThanOrEqual(3);
  expect(c?.accepted).toBe(6);
}, 120_000);
