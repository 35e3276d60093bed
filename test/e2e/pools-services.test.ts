/**
 * Limits of Athena and Lambda, end to end (the real worker and server, the SDK over HTTP to the
 * local gateway, which refuses past them as AWS does): a Lambda function's reserved concurrency
 * learned as its pool's slots; Athena's account quota of active queries, which no API tells, met
 * by starts that wait when refused instead of failing. The worker runs in a Region of its own so
 * that the quotas set here bind nobody else's tests.
 */
import { PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { startBackfill, backfillProgress, waitForBackfill } from '../../client/backfills';
import { describePool } from '../../client/pools';
import { createAwsClients } from '../../activities/aws-clients';
import { definePipeline } from '../../common/pipeline';
import { createLambdaFunction, uniqueName } from '../support/aws';
import { gateway } from '../support/gateway';
import { fileContext } from '../support/temporal';
import { FAST_POOLED, SIX_DATES } from '../support/pools';

const REGION = 'eu-west-3';
const ctx = fileContext('e2e-pool-svc', { worker: { aws: { region: REGION } } });

afterAll(async () => {
  await gateway.setLimits({ region: REGION, athena: { activeQueries: null } });
});

const fast = FAST_POOLED;
const range = SIX_DATES;

test('a Lambda function with reserved concurrency 2: its pool learns 2, every date succeeds, never more than 2 in flight', async () => {
  const aws = createAwsClients({ region: REGION });
  const fn = await createLambdaFunction(undefined, 'nodejs20.x', aws);
  await aws.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: fn, ReservedConcurrentExecutions: 2 }));
  await gateway.setScenario({ service: 'lambda', match: fn, durationMs: 1500 });
  const pipeline = definePipeline({
    name: uniqueName('pool-lambda'),
    defaults: fast,
    stages: [{ id: 'notify', kind: 'lambda.invoke', params: { FunctionName: fn, Payload: { ds: '{{ ds }}' } } }],
  });
  const started = await startBackfill(ctx.client, ctx.settings, pipeline, range);
  expect((await waitForBackfill(started.handle)).status).toBe('succeeded');
  expect((await backfillProgress(started.handle)).counts).toMatchObject({ succeeded: 6, failed: 0 });
  const view = await describePool(ctx.client, ctx.settings, `lambda:${fn}`);
  expect(view).toMatchObject({ slots: 2, source: 'Lambda GetFunctionConcurrency ReservedConcurrentExecutions' });
  const c = (await gateway.capacity()).lambda?.[fn];
  expect(c?.peak).toBeLessThanOrEqual(2);
  expect(c?.accepted).toBe(6);
  expect(c?.refused ?? 0).toBeLessThanOrEqual(1);
  aws.destroy();
}, 120_000);

test("Athena's quota of active queries (2 here, which no API tells): refused starts wait, every date succeeds, none spends a retry", async () => {
  await gateway.setLimits({ region: REGION, athena: { activeQueries: 2 } });
  const token = uniqueName('pool-athena');
  await gateway.setScenario({ service: 'athena', match: token, durationMs: 1500 });
  const pipeline = definePipeline({
    name: token,
    defaults: fast,
    stages: [{ id: 'q', kind: 'athena.query', params: { QueryString: `SELECT '${token} {{ ds }}'` } }],
  });
  const started = await startBackfill(ctx.client, ctx.settings, pipeline, range);
  expect((await waitForBackfill(started.handle)).status).toBe('succeeded');
  const c = (await gateway.capacity()).athena?.[`DML/${REGION}`];
  expect(c?.peak).toBeLessThanOrEqual(2);
  expect(c?.refused).toBeGreaterThan(0);
  // Each date's stage: one attempt, its refusals counted apart from its running time.
  let refused = 0;
  for (const ds of ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-06']) {
    const handle = ctx.client.workflow.getHandle(`${pipeline.name}/${ds}`);
    const status = (await handle.result()) as { stages: { result?: { refusedStarts?: number } }[] };
    refused += status.stages[0]?.result?.refusedStarts ?? 0;
    const attempts = ((await handle.fetchHistory()).events ?? [])
      .map((e) => e.activityTaskStartedEventAttributes?.attempt)
      .filter((a): a is number => a !== undefined && a !== null);
    expect(Math.max(...attempts)).toBe(1);
  }
  expect(refused).toBeGreaterThan(0);
}, 120_000);
