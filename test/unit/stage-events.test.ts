/**
 * Push completion's event side (common/stage-events.ts): parseStageEvent on the events AWS
 * documents for each detail type the rule forwards (the EventBridge event reference and each
 * service's guide: Glue, Athena, EMR, EMR Serverless, Step Functions, Redshift Data API), and the
 * contract with the stage side: the watch key a handler arms (kinds/<kind>/handler.ts `watchKey`)
 * is the key parseStageEvent derives from that job's event.
 */
import { STAGE_HANDLERS } from '../../kinds/handlers';
import { crawlerJobId } from '../../kinds/glue-crawler/handler';
import type { JobHandler, StageContext } from '../../activities/stage-handler';
import type { StageKind } from '../../common/constants';
import { parseStageEvent, STAGE_EVENT_PATTERN, watchWorkflowId } from '../../common/stage-events';

const ACCOUNT = '123456789012';

/** An EventBridge event as the rule delivers it to SQS (the message body). */
function event(source: string, detailType: string, detail: Record<string, unknown>, resources: string[] = []) {
  return {
    version: '0',
    id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
    'detail-type': detailType,
    source,
    account: ACCOUNT,
    time: '2024-06-01T10:15:30Z',
    region: 'us-east-1',
    resources,
    detail,
  };
}

// ------------------------------------------------------------ AWS's documented shapes

const GLUE_RUN = 'jr_3c9c24f19d1d2d5f8d1e8b7a6f5c4d3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d';
const glueJob = (state: string) =>
  event('aws.glue', 'Glue Job State Change', {
    jobName: 'orders_daily',
    severity: state === 'SUCCEEDED' ? 'INFO' : 'ERROR',
    state,
    jobRunId: GLUE_RUN,
    message: state === 'SUCCEEDED' ? 'Job run succeeded' : 'Command failed with exit code 1',
  });

const CRAWLER = 'raw_orders';
const glueCrawler = (state: 'Started' | 'Succeeded' | 'Failed', name = CRAWLER) =>
  event(
    'aws.glue',
    'Glue Crawler State Change',
    state === 'Started'
      ? { accountId: ACCOUNT, crawlerName: name, startTime: '2024-06-01T10:14:00Z', state, message: 'Crawler Started' }
      : state === 'Succeeded'
        ? {
            tablesCreated: '0',
            warningMessage: 'N/A',
            partitionsUpdated: '0',
            tablesUpdated: '1',
            message: 'Crawler Succeeded',
            partitionsDeleted: '0',
            accountId: ACCOUNT,
            'runningTime (sec)': '42',
            tablesDeleted: '0',
            crawlerName: name,
            completionDate: '2024-06-01T10:15:29Z',
            state,
            partitionsCreated: '3',
            cloudWatchLogLink: `https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws-glue/crawlers;stream=${name}`,
          }
        : {
            crawlerName: name,
            errorMessage: 'Internal Service Exception',
            accountId: ACCOUNT,
            cloudWatchLogLink: `https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:group=/aws-glue/crawlers;stream=${name}`,
            state,
            message: 'Crawler Failed',
          },
  );

const QUERY = '56e2ee01-3b8c-4ac3-9e5e-6e2ab8f1d1a4';
const athena = (currentState: string, previousState?: string) =>
  event('aws.athena', 'Athena Query State Change', {
    currentState,
    ...(previousState ? { previousState } : {}),
    queryExecutionId: QUERY,
    sequenceNumber: '3',
    statementType: 'DML',
    versionId: '0',
    workgroupName: 'primary',
  });

const CLUSTER = 'j-1YONHTCP3YZKC';
const STEP = 's-1234ABCDEFGHI';
const emrStep = (state: string) =>
  event('aws.emr', 'EMR Step Status Change', {
    severity: state === 'COMPLETED' || state === 'RUNNING' ? 'INFO' : 'ERROR',
    actionOnFailure: 'CONTINUE',
    stepId: STEP,
    name: 'orders [sluice:0123456789abcdef]',
    clusterId: CLUSTER,
    state,
    message: `Step ${STEP} (orders) in Amazon EMR cluster ${CLUSTER} (etl) ${state.toLowerCase()} at 2024-06-01 10:15 UTC.`,
  });

const APP = '00f1cbn5g4bb0c01';
const JOB_RUN = '00f1cbsc6anuij25';
const JOB_RUN_ARN = `arn:aws:emr-serverless:us-east-1:${ACCOUNT}:/applications/${APP}/jobruns/${JOB_RUN}`;
const emrServerless = (state: string, previousState = 'RUNNING') =>
  event(
    'aws.emr-serverless',
    'EMR Serverless Job Run State Change',
    {
      jobRunId: JOB_RUN,
      jobRunName: 'orders',
      applicationId: APP,
      arn: JOB_RUN_ARN,
      releaseLabel: 'emr-7.0.0',
      state,
      previousState,
      createdBy: `arn:aws:sts::${ACCOUNT}:assumed-role/sluice-worker/session`,
      updatedAt: '2024-06-01T10:15:29.299487Z',
      createdAt: '2024-06-01T10:10:25.325900Z',
    },
    [JOB_RUN_ARN],
  );

const STATE_MACHINE = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:orders`;
const EXECUTION = `arn:aws:states:us-east-1:${ACCOUNT}:execution:orders:orders_2024-06-01_load_g0-0123456789abcdef`;
const sfn = (status: string) =>
  event(
    'aws.states',
    'Step Functions Execution Status Change',
    {
      executionArn: EXECUTION,
      stateMachineArn: STATE_MACHINE,
      name: 'orders_2024-06-01_load_g0-0123456789abcdef',
      status,
      startDate: 1717236630000,
      stopDate: status === 'RUNNING' ? null : 1717236930000,
      input: '{"ds":"2024-06-01"}',
      inputDetails: { included: true },
      output: status === 'SUCCEEDED' ? '{"rows":3}' : null,
      outputDetails: status === 'SUCCEEDED' ? { included: true } : null,
      ...(status === 'FAILED' ? { error: 'States.TaskFailed', cause: 'boom' } : {}),
    },
    [EXECUTION],
  );

const STATEMENT = 'dd2e1ec9-2ee3-49a0-819f-905fa7d75a4a';
const redshift = (state: string) =>
  event(
    'aws.redshift-data',
    'Redshift Data Statement Status Change',
    {
      principal: `arn:aws:iam::${ACCOUNT}:user/etl`,
      statementName: 'load.orders',
      statementId: STATEMENT,
      redshiftQueryId: -1,
      state,
      rows: 1,
      expireAt: 1717323330,
    },
    [`arn:aws:redshift:us-east-1:${ACCOUNT}:cluster:warehouse`],
  );

// ------------------------------------------------------------ terminal events

describe('terminal events give the watch key and the state, with the event id and time', () => {
  test.each([
    ['Glue job SUCCEEDED', glueJob('SUCCEEDED'), `glue.job/${GLUE_RUN}`, 'SUCCEEDED'],
    ['Glue job FAILED', glueJob('FAILED'), `glue.job/${GLUE_RUN}`, 'FAILED'],
    ['Glue job TIMEOUT', glueJob('TIMEOUT'), `glue.job/${GLUE_RUN}`, 'TIMEOUT'],
    ['Glue job STOPPED', glueJob('STOPPED'), `glue.job/${GLUE_RUN}`, 'STOPPED'],
    ['Glue crawler Succeeded', glueCrawler('Succeeded'), `glue.crawler/${CRAWLER}`, 'Succeeded'],
    ['Glue crawler Failed', glueCrawler('Failed'), `glue.crawler/${CRAWLER}`, 'Failed'],
    ['Athena SUCCEEDED', athena('SUCCEEDED', 'RUNNING'), `athena.query/${QUERY}`, 'SUCCEEDED'],
    ['Athena FAILED', athena('FAILED', 'RUNNING'), `athena.query/${QUERY}`, 'FAILED'],
    ['Athena CANCELLED', athena('CANCELLED', 'RUNNING'), `athena.query/${QUERY}`, 'CANCELLED'],
    ['EMR step COMPLETED', emrStep('COMPLETED'), `emr.step/${CLUSTER}/${STEP}`, 'COMPLETED'],
    ['EMR step FAILED', emrStep('FAILED'), `emr.step/${CLUSTER}/${STEP}`, 'FAILED'],
    ['EMR step CANCELLED', emrStep('CANCELLED'), `emr.step/${CLUSTER}/${STEP}`, 'CANCELLED'],
    ['EMR step INTERRUPTED', emrStep('INTERRUPTED'), `emr.step/${CLUSTER}/${STEP}`, 'INTERRUPTED'],
    ['EMR Serverless SUCCESS', emrServerless('SUCCESS'), `emr-serverless.job/${APP}/${JOB_RUN}`, 'SUCCESS'],
    ['EMR Serverless FAILED', emrServerless('FAILED'), `emr-serverless.job/${APP}/${JOB_RUN}`, 'FAILED'],
    [
      'EMR Serverless CANCELLED',
      emrServerless('CANCELLED', 'CANCELLING'),
      `emr-serverless.job/${APP}/${JOB_RUN}`,
      'CANCELLED',
    ],
    ['Step Functions SUCCEEDED', sfn('SUCCEEDED'), `sfn.execution/${EXECUTION}`, 'SUCCEEDED'],
    ['Step Functions FAILED', sfn('FAILED'), `sfn.execution/${EXECUTION}`, 'FAILED'],
    ['Step Functions TIMED_OUT', sfn('TIMED_OUT'), `sfn.execution/${EXECUTION}`, 'TIMED_OUT'],
    ['Step Functions ABORTED', sfn('ABORTED'), `sfn.execution/${EXECUTION}`, 'ABORTED'],
    ['Redshift FINISHED', redshift('FINISHED'), `redshift.sql/${STATEMENT}`, 'FINISHED'],
    ['Redshift FAILED', redshift('FAILED'), `redshift.sql/${STATEMENT}`, 'FAILED'],
    ['Redshift ABORTED', redshift('ABORTED'), `redshift.sql/${STATEMENT}`, 'ABORTED'],
  ])('%s', (_name, body, key, state) => {
    expect(parseStageEvent(body)).toEqual({
      kind: 'terminal',
      notice: { key, state, eventId: '6a7e8feb-b491-4cf7-a9f1-bf3703467718', time: '2024-06-01T10:15:30Z' },
    });
  });

  test('an event without id or time still ends the wait (the notice just lacks them)', () => {
    const { id: _id, time: _time, ...bare } = redshift('FINISHED');
    expect(parseStageEvent(bare)).toEqual({
      kind: 'terminal',
      notice: { key: `redshift.sql/${STATEMENT}`, state: 'FINISHED' },
    });
  });
});

// ------------------------------------------------------------ events that do not end the job

describe('events of a known type that do not end the job are progress, not signalled', () => {
  test.each([
    ['Glue crawler Started', glueCrawler('Started'), `glue.crawler/${CRAWLER}`, 'Started'],
    ['Athena QUEUED', athena('QUEUED'), `athena.query/${QUERY}`, 'QUEUED'],
    ['Athena RUNNING', athena('RUNNING', 'QUEUED'), `athena.query/${QUERY}`, 'RUNNING'],
    // Athena retries some transient errors: RUNNING → QUEUED again.
    ['Athena back to QUEUED', athena('QUEUED', 'RUNNING'), `athena.query/${QUERY}`, 'QUEUED'],
    ['EMR step PENDING', emrStep('PENDING'), `emr.step/${CLUSTER}/${STEP}`, 'PENDING'],
    ['EMR step RUNNING', emrStep('RUNNING'), `emr.step/${CLUSTER}/${STEP}`, 'RUNNING'],
    ['EMR step CANCEL_PENDING', emrStep('CANCEL_PENDING'), `emr.step/${CLUSTER}/${STEP}`, 'CANCEL_PENDING'],
    ['EMR Serverless SUBMITTED', emrServerless('SUBMITTED', ''), `emr-serverless.job/${APP}/${JOB_RUN}`, 'SUBMITTED'],
    [
      'EMR Serverless SCHEDULED',
      emrServerless('SCHEDULED', 'PENDING'),
      `emr-serverless.job/${APP}/${JOB_RUN}`,
      'SCHEDULED',
    ],
    [
      'EMR Serverless RUNNING',
      emrServerless('RUNNING', 'SCHEDULED'),
      `emr-serverless.job/${APP}/${JOB_RUN}`,
      'RUNNING',
    ],
    [
      'EMR Serverless CANCELLING',
      emrServerless('CANCELLING', 'RUNNING'),
      `emr-serverless.job/${APP}/${JOB_RUN}`,
      'CANCELLING',
    ],
    ['Step Functions RUNNING', sfn('RUNNING'), `sfn.execution/${EXECUTION}`, 'RUNNING'],
    // A failed execution being redriven is not over.
    ['Step Functions PENDING_REDRIVE', sfn('PENDING_REDRIVE'), `sfn.execution/${EXECUTION}`, 'PENDING_REDRIVE'],
  ])('%s', (_name, body, key, state) => {
    expect(parseStageEvent(body)).toEqual({ kind: 'progress', key, state });
  });
});

// ------------------------------------------------------------ not Sluice's

describe('other events are not read', () => {
  test.each([
    ['null', null],
    ['a string', 'Glue Job State Change'],
    ['a number', 42],
    ['an array', [glueJob('SUCCEEDED')]],
    ['an empty object', {}],
  ])('%s', (_name, body) => {
    expect(parseStageEvent(body).kind).toBe('other');
  });

  test.each([
    [
      'another source',
      event('aws.ec2', 'EC2 Instance State-change Notification', { 'instance-id': 'i-1', state: 'stopped' }),
    ],
    [
      'a source of ours with another detail type (Glue Job Run Status: a slow run, not its end)',
      event('aws.glue', 'Glue Job Run Status', { jobName: 'orders_daily', jobRunId: GLUE_RUN, state: 'RUNNING' }),
    ],
    ['a detail type of one source sent from another', { ...glueJob('SUCCEEDED'), source: 'aws.athena' }],
    [
      'an EMR Serverless application event',
      event('aws.emr-serverless', 'EMR Serverless Application State Change', {
        applicationId: APP,
        applicationName: 'etl',
        arn: `arn:aws:emr-serverless:us-east-1:${ACCOUNT}:/applications/${APP}`,
        releaseLabel: 'emr-7.0.0',
        state: 'STOPPED',
        type: 'Spark',
      }),
    ],
    [
      'a CloudTrail API call from a source of ours',
      event('aws.states', 'AWS API Call via CloudTrail', {
        eventSource: 'states.amazonaws.com',
        eventName: 'StartExecution',
      }),
    ],
  ])('%s', (_name, body) => {
    const parsed = parseStageEvent(body);
    expect(parsed.kind).toBe('other');
    expect(parsed).toMatchObject({ reason: expect.stringContaining('not a stage event') });
  });

  test.each([
    ['a Glue job event without jobRunId', glueJob('SUCCEEDED'), (d: Record<string, unknown>) => delete d.jobRunId],
    [
      'a crawler event with an empty crawlerName',
      glueCrawler('Succeeded'),
      (d: Record<string, unknown>) => (d.crawlerName = ''),
    ],
    [
      'an Athena event without queryExecutionId',
      athena('SUCCEEDED'),
      (d: Record<string, unknown>) => delete d.queryExecutionId,
    ],
    ['an EMR step event without clusterId', emrStep('COMPLETED'), (d: Record<string, unknown>) => delete d.clusterId],
    ['an EMR step event without stepId', emrStep('COMPLETED'), (d: Record<string, unknown>) => delete d.stepId],
    [
      'an EMR Serverless event without applicationId',
      emrServerless('SUCCESS'),
      (d: Record<string, unknown>) => delete d.applicationId,
    ],
    [
      'an EMR Serverless event with a numeric jobRunId',
      emrServerless('SUCCESS'),
      (d: Record<string, unknown>) => (d.jobRunId = 7),
    ],
    [
      'a Step Functions event without executionArn',
      sfn('SUCCEEDED'),
      (d: Record<string, unknown>) => delete d.executionArn,
    ],
    ['a Step Functions event without status', sfn('SUCCEEDED'), (d: Record<string, unknown>) => delete d.status],
    [
      'a Redshift event without statementId',
      redshift('FINISHED'),
      (d: Record<string, unknown>) => delete d.statementId,
    ],
    ['a Redshift event without state', redshift('FINISHED'), (d: Record<string, unknown>) => delete d.state],
  ])('%s', (_name, body, strip) => {
    strip(body.detail);
    const parsed = parseStageEvent(body);
    expect(parsed.kind).toBe('other');
    expect(parsed).toMatchObject({ reason: expect.stringContaining('without its job ids or state') });
  });

  test('an event of ours with no detail at all', () => {
    const { detail: _detail, ...bare } = sfn('SUCCEEDED');
    expect(parseStageEvent(bare)).toMatchObject({ kind: 'other' });
    expect(parseStageEvent({ ...bare, detail: 'SUCCEEDED' })).toMatchObject({ kind: 'other' });
  });
});

// ------------------------------------------------------------ the rule and the parser agree

test('every source / detail type the rule forwards is one the parser reads', () => {
  const bySource: Record<string, string[]> = {
    'aws.glue': ['Glue Job State Change', 'Glue Crawler State Change'],
    'aws.athena': ['Athena Query State Change'],
    'aws.emr': ['EMR Step Status Change'],
    'aws.emr-serverless': ['EMR Serverless Job Run State Change'],
    'aws.states': ['Step Functions Execution Status Change'],
    'aws.redshift-data': ['Redshift Data Statement Status Change'],
  };
  expect([...STAGE_EVENT_PATTERN.source].sort()).toEqual(Object.keys(bySource).sort());
  expect([...STAGE_EVENT_PATTERN['detail-type']].sort()).toEqual(Object.values(bySource).flat().sort());
  for (const [source, types] of Object.entries(bySource)) {
    for (const detailType of types) {
      // Ids and a state in every field any type reads: each type takes what it needs.
      const detail = {
        jobRunId: 'a',
        crawlerName: 'a',
        queryExecutionId: 'a',
        clusterId: 'a',
        stepId: 'a',
        applicationId: 'a',
        executionArn: 'a',
        statementId: 'a',
        state: 'RUNNING',
        currentState: 'RUNNING',
        status: 'RUNNING',
      };
      expect({ detailType, kind: parseStageEvent(event(source, detailType, detail)).kind }).toEqual({
        detailType,
        kind: 'progress',
      });
    }
  }
});

// ------------------------------------------------------------ the contract with the stage side

const ctx = (params: Record<string, unknown>): StageContext =>
  ({
    pipeline: 'orders',
    ds: '2024-06-01',
    stageId: 'load',
    params,
    idempotencyKey: 'orders/2024-06-01/load/g0',
  }) as StageContext;

const handler = (kind: StageKind): JobHandler => {
  const h = STAGE_HANDLERS[kind];
  if (h.mode !== 'job' || !h.watchKey) throw new Error(`${kind} has no watch key`);
  return h;
};

describe('the key a stage watches is the key its job’s event gives', () => {
  test.each([
    ['glue.job', {}, GLUE_RUN, glueJob('SUCCEEDED')],
    [
      'glue.crawler',
      { Name: CRAWLER },
      crawlerJobId(CRAWLER, '9f3c2b1a-0d4e-4f5a-8b6c-7d8e9f0a1b2c'),
      glueCrawler('Succeeded'),
    ],
    // A crawler name may hold "@" (the job id's separator): the key is still the name the event gives.
    [
      'glue.crawler',
      { Name: 'raw@v2' },
      crawlerJobId('raw@v2', '9f3c2b1a-0d4e-4f5a-8b6c-7d8e9f0a1b2c'),
      glueCrawler('Failed', 'raw@v2'),
    ],
    ['athena.query', { QueryString: 'SELECT 1' }, QUERY, athena('SUCCEEDED', 'RUNNING')],
    ['emr.step', { JobFlowId: CLUSTER, Steps: [{ Name: 'orders' }] }, STEP, emrStep('COMPLETED')],
    ['emr-serverless.job', { applicationId: APP, name: 'orders' }, JOB_RUN, emrServerless('SUCCESS')],
    ['sfn.execution', { stateMachineArn: STATE_MACHINE }, EXECUTION, sfn('SUCCEEDED')],
    [
      'redshift.sql',
      { ClusterIdentifier: 'warehouse', Database: 'dev', Sql: 'SELECT 1' },
      STATEMENT,
      redshift('FINISHED'),
    ],
  ] as const)('%s', (kind, params, jobId, body) => {
    const parsed = parseStageEvent(body);
    if (parsed.kind !== 'terminal') throw new Error(`expected a terminal event, got ${JSON.stringify(parsed)}`);
    const key = handler(kind).watchKey!(ctx(params), jobId);
    expect(key).toBe(parsed.notice.key);
    expect(watchWorkflowId(key)).toBe(`sluice-watch/${parsed.notice.key}`);
  });

  test('the kinds that watch for events are exactly those whose events the rule forwards', () => {
    const watching = Object.entries(STAGE_HANDLERS)
      .filter(([, h]) => h.mode === 'job' && h.watchKey !== undefined)
      .map(([kind]) => kind)
      .sort();
    expect(watching).toEqual([
      'athena.query',
      'emr-serverless.job',
      'emr.step',
      'glue.crawler',
      'glue.job',
      'redshift.sql',
      'sfn.execution',
    ]);
  });

  test('another job’s event never matches: a different run, cluster or application gives another key', () => {
    const other = (body: ReturnType<typeof event>, patch: Record<string, unknown>) => {
      const parsed = parseStageEvent({ ...body, detail: { ...body.detail, ...patch } });
      return parsed.kind === 'terminal' ? parsed.notice.key : undefined;
    };
    expect(other(emrStep('COMPLETED'), { clusterId: 'j-OTHERCLUSTER' })).not.toBe(
      handler('emr.step').watchKey!(ctx({ JobFlowId: CLUSTER }), STEP),
    );
    expect(other(emrServerless('SUCCESS'), { applicationId: '00fotherapp' })).not.toBe(
      handler('emr-serverless.job').watchKey!(ctx({ applicationId: APP }), JOB_RUN),
    );
    expect(other(glueJob('SUCCEEDED'), { jobRunId: 'jr_other' })).not.toBe(
      handler('glue.job').watchKey!(ctx({}), GLUE_RUN),
    );
  });
});
