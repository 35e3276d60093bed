/**
 * Push completion for the other kinds with state-change events: glue.crawler, emr.step,
 * emr-serverless.job, sfn.execution and redshift.sql (Glue jobs and Athena queries are in
 * push-completion.test.ts). One pipeline runs the five stages side by side on a worker with push
 * completion on; the gateway emits each job's event to moto's EventBridge, the local rule forwards
 * it to SQS, the worker's consumer signals the job's watch and the stage ends from it, having made
 * one status call while the job ran (4–5 s: polling from 2 s would have made several). Real
 * worker, real dev server, the AWS SDK over HTTP to the local endpoint.
 */
import { RunJobFlowCommand } from '@aws-sdk/client-emr';
import { CreateApplicationCommand } from '@aws-sdk/client-emr-serverless';
import { CreateCrawlerCommand } from '@aws-sdk/client-glue';
import { CreateStateMachineCommand } from '@aws-sdk/client-sfn';
import { parseCrawlerJobId } from '../../kinds/glue-crawler/handler';
import { definePipeline } from '../../common/pipeline';
import { watchWorkflowId } from '../../common/stage-events';
import { startRun, waitForRun } from '../../client/runs';
import { awsClients, uniqueName } from '../support/aws';
import { LOCAL_EVENTS_QUEUE_URL } from '../support/env';
import { gateway } from '../support/gateway';
import { fileContext } from '../support/temporal';

const push = fileContext('e2e-push-kinds', {
  worker: { stageEvents: { queueUrl: LOCAL_EVENTS_QUEUE_URL, fallbackPollMs: 600_000 } },
});
const ACCOUNT = '123456789012';

async function createCrawler(): Promise<string> {
  const name = uniqueName('crawler');
  await awsClients().glue.send(
    new CreateCrawlerCommand({
      Name: name,
      Role: `arn:aws:iam::${ACCOUNT}:role/glue`,
      DatabaseName: 'raw',
      Targets: { S3Targets: [{ Path: `s3://lake/${name}/` }] },
    }),
  );
  return name;
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

async function createApplication(): Promise<string> {
  const out = await awsClients().emrServerless.send(
    new CreateApplicationCommand({ name: uniqueName('app'), releaseLabel: 'emr-7.0.0', type: 'SPARK' }),
  );
  return out.applicationId as string;
}

async function createStateMachine(): Promise<string> {
  const out = await awsClients().sfn.send(
    new CreateStateMachineCommand({
      name: uniqueName('sm'),
      definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
      roleArn: `arn:aws:iam::${ACCOUNT}:role/sfn`,
    }),
  );
  return out.stateMachineArn as string;
}

test('a crawl, an EMR step, an EMR Serverless run, an execution and a Redshift statement complete from their events, with one status call while they run', async () => {
  const [crawler, cluster, app, machine] = await Promise.all([
    createCrawler(),
    createCluster(),
    createApplication(),
    createStateMachine(),
  ]);
  const step = uniqueName('orders');
  const serverless = uniqueName('orders');
  const table = uniqueName('orders');
  const warehouse = uniqueName('cluster');
  await Promise.all([
    gateway.setScenario({ service: 'glue-crawler', match: crawler, durationMs: 4_500 }),
    gateway.setScenario({ service: 'emr', match: step, durationMs: 4_500 }),
    gateway.setScenario({ service: 'emr-serverless', match: serverless, durationMs: 4_500 }),
    gateway.setScenario({ service: 'sfn', match: machine, durationMs: 4_500 }),
    gateway.setScenario({ service: 'redshift-data', match: table, durationMs: 4_500 }),
  ]);
  const pipeline = definePipeline({
    name: uniqueName('push-kinds'),
    stages: [
      { id: 'catalog', kind: 'glue.crawler', params: { Name: crawler } },
      {
        id: 'spark',
        kind: 'emr.step',
        params: {
          JobFlowId: cluster,
          Steps: [
            {
              Name: step,
              ActionOnFailure: 'CONTINUE',
              HadoopJarStep: { Jar: 'command-runner.jar', Args: ['spark-submit', 's3://lake/jobs/orders.py'] },
            },
          ],
        },
      },
      {
        id: 'serverless',
        kind: 'emr-serverless.job',
        params: {
          applicationId: app,
          name: serverless,
          executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/emr-serverless`,
          jobDriver: { sparkSubmit: { entryPoint: 's3://lake/jobs/orders.py' } },
        },
      },
      { id: 'orchestrate', kind: 'sfn.execution', params: { stateMachineArn: machine, input: { ds: '{{ ds }}' } } },
      {
        id: 'load',
        kind: 'redshift.sql',
        params: {
          ClusterIdentifier: warehouse,
          Database: 'dev',
          DbUser: 'etl',
          Sql: `INSERT INTO ${table} SELECT * FROM staging WHERE dt = '{{ ds }}'`,
          // Sluice runs its statements WithEvent whatever the params say: without the event the
          // stage would wait for its fallback poll (10 min here).
          WithEvent: false,
        },
      },
    ],
  });

  const started = await startRun(push.client, push.settings, pipeline, '2024-06-01', { generation: 0 });
  const outcome = await waitForRun(started.handle);
  if (!outcome.ok) throw new Error(outcome.message);
  const byId = Object.fromEntries(outcome.status.stages.map((s) => [s.id, s]));
  const jobId = (stage: string): string => byId[stage]?.jobId as string;

  // Per stage: the watch key, what the gateway's event detail names the job by, and the status
  // call (service, operation, call-log resource) its handler makes.
  const cases = [
    {
      stage: 'catalog',
      key: `glue.crawler/${crawler}`,
      eventOf: crawler,
      call: ['glue', 'ListCrawls', crawler],
    },
    {
      stage: 'spark',
      key: `emr.step/${cluster}/${jobId('spark')}`,
      eventOf: jobId('spark'),
      call: ['emr', 'DescribeStep', cluster],
    },
    {
      stage: 'serverless',
      key: `emr-serverless.job/${app}/${jobId('serverless')}`,
      eventOf: jobId('serverless'),
      call: ['emr-serverless', 'GetJobRun', app],
    },
    {
      stage: 'orchestrate',
      key: `sfn.execution/${jobId('orchestrate')}`,
      eventOf: jobId('orchestrate'),
      call: ['sfn', 'DescribeExecution', machine],
    },
    {
      stage: 'load',
      key: `redshift.sql/${jobId('load')}`,
      eventOf: jobId('load'),
      call: ['redshift-data', 'DescribeStatement', warehouse],
    },
  ] as const;
  expect(parseCrawlerJobId(jobId('catalog')).name).toBe(crawler);

  const seen: Record<string, unknown> = {};
  for (const { stage, key, eventOf, call } of cases) {
    const [service, operation, resource] = call;
    const result = byId[stage]?.result;
    const events = await gateway.events(eventOf);
    const event = events[0];
    const watch = await push.client.workflow.getHandle(watchWorkflowId(key)).describe();
    const armedAt = watch.startTime.getTime();
    const calls = (await gateway.callLog({ service, operation, resource })).map((c) => Date.parse(c.at));
    const emittedAt = event?.emittedAt ?? Infinity;
    seen[stage] = {
      noticedBy: result?.noticedBy,
      events: events.length,
      dropped: event?.dropped,
      eventId: event?.eventId !== undefined,
      watch: watch.status.name,
      // Status calls from the arming of the watch to the event: the one made once it is armed.
      callsWhileWatched: calls.filter((t) => t >= armedAt && t < emittedAt).length,
      // And the confirmation after the event.
      callsAfterEvent: calls.filter((t) => t >= emittedAt).length >= 1,
    };
  }
  const expected = { noticedBy: 'event', events: 1, dropped: false, eventId: true, watch: 'COMPLETED' };
  expect(seen).toEqual(
    Object.fromEntries(cases.map(({ stage }) => [stage, { ...expected, callsWhileWatched: 1, callsAfterEvent: true }])),
  );
  // Where the describe operation is the handler's alone (no find or start reads it), that one call
  // is the only status call before the event. The crawler's find and start also list crawls.
  for (const { stage, eventOf, call } of cases.filter((c) => c.stage !== 'catalog')) {
    const [service, operation, resource] = call;
    const [event] = await gateway.events(eventOf);
    const before = (await gateway.callLog({ service, operation, resource })).filter(
      (c) => Date.parse(c.at) < event!.emittedAt,
    );
    expect({ stage, before: before.length }).toEqual({ stage, before: 1 });
  }
});
