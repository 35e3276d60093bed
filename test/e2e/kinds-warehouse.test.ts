/**
 * End to end, the warehouse kinds: redshift.sql, sfn.execution, quicksight.refresh and
 * datapipeline.activate, through a real worker on the dev server and the AWS SDK over HTTP to the
 * local endpoint (the gateway owns these lifecycles; moto keeps state machines, data sets and
 * pipeline definitions). Every test has its own cluster / state machine / data set / pipeline, and
 * counts calls by that resource.
 */
import {
  CreatePipelineCommand,
  ActivatePipelineCommand,
  AddTagsCommand,
  DescribeObjectsCommand,
  PutPipelineDefinitionCommand,
  QueryObjectsCommand,
} from '@aws-sdk/client-data-pipeline';
import { CreateDataSetCommand, CreateIngestionCommand, ListIngestionsCommand } from '@aws-sdk/client-quicksight';
import { DescribeStatementCommand, ListStatementsCommand } from '@aws-sdk/client-redshift-data';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DP_ACTIVATION_TAG, dpTime } from '../../kinds/datapipeline-activate/handler';
import { quicksightIngestionId } from '../../kinds/quicksight-refresh/handler';
import { sfnExecutionName } from '../../kinds/sfn-execution/handler';
import { ERROR_TYPES } from '../../common/constants';
import { stageIdempotencyKey } from '../../common/naming';
import { definePipeline, type PipelineDefinition } from '../../common/pipeline';
import type { RunStatus } from '../../common/run-types';
import type { RunOutcome } from '../../client/runs';
import { awsClients, uniqueName } from '../support/aws';
import { gateway } from '../support/gateway';
import { fileContext, waitFor } from '../support/temporal';
import { cancelWhilePolled as cancelRunWhilePolled, runToEnd } from '../support/runs';
import { fastDefaults } from '../support/timing';

const ctx = fileContext('e2e-warehouse', { worker: {} });

const fast = fastDefaults({ retry: { initialInterval: '200ms', maximumAttempts: 3 } });
const ACCOUNT = '123456789012';

const run = (pipeline: PipelineDefinition, ds?: string): Promise<RunOutcome> => runToEnd(ctx, pipeline, ds);
const cancelWhilePolled = (pipeline: PipelineDefinition, polled: () => Promise<boolean>): Promise<RunStatus> =>
  cancelRunWhilePolled(ctx, pipeline, polled, '2024-03-03');

// ---------------------------------------------------------------- redshift.sql

describe('redshift.sql', () => {
  const target = () => ({ ClusterIdentifier: uniqueName('cluster'), Database: 'dev', DbUser: 'etl' });

  test('a statement and a batch: rows, columns and first rows of the result; one ExecuteStatement per stage', async () => {
    const marker = uniqueName('orders');
    const single = target();
    const batch = { WorkgroupName: uniqueName('wg'), Database: 'dev' };
    await gateway.setScenario({
      service: 'redshift-data',
      match: `${marker}_daily`,
      durationMs: 500,
      result: {
        columns: ['region', 'total'],
        rows: [
          ['eu', '12'],
          ['us', null],
        ],
      },
    });
    await gateway.setScenario({
      service: 'redshift-data',
      match: `${marker}_count`,
      durationMs: 300,
      result: { columns: ['n'], rows: [['2']] },
    });
    const pipeline = definePipeline({
      name: uniqueName('redshift'),
      defaults: fast,
      stages: [
        {
          id: 'report',
          kind: 'redshift.sql',
          params: { ...single, Sql: `SELECT region, total FROM ${marker}_daily WHERE dt = '{{ ds }}'` },
          expect: { rows: '== 2' },
        },
        {
          id: 'load',
          kind: 'redshift.sql',
          dependsOn: ['report'],
          params: {
            ...batch,
            Sqls: [`DELETE FROM ${marker} WHERE dt = '{{ ds }}'`, `SELECT count(*) AS n FROM ${marker}_count`],
          },
        },
      ],
    });
    const outcome = await run(pipeline);
    if (!outcome.ok) throw new Error(outcome.message);
    const [report, load] = outcome.status.stages;
    expect(report?.result?.output).toEqual({
      statementId: report?.jobId,
      columns: ['region', 'total'],
      rowCount: 2,
      rowCountComplete: true,
      rows: [
        { region: 'eu', total: '12' },
        { region: 'us', total: null },
      ],
      rowsComplete: true,
      firstRows: [
        ['eu', '12'],
        ['us', null],
      ],
      firstValue: 'eu',
    });
    expect(report?.result?.summary).toContain('2 rows; first: region=eu, total=12');
    expect(load?.result?.output).toMatchObject({
      statementId: load?.jobId,
      resultStatementId: `${load?.jobId}:2`,
      columns: ['n'],
      rowCount: 1,
      firstRows: [['2']],
    });
    const described = await awsClients().redshiftData.send(new DescribeStatementCommand({ Id: report?.jobId }));
    expect(described.QueryString).toBe(`SELECT region, total FROM ${marker}_daily WHERE dt = '2024-03-01'`);
    expect(
      await gateway.calls({
        service: 'redshift-data',
        operation: 'ExecuteStatement',
        resource: single.ClusterIdentifier,
      }),
    ).toBe(1);
    expect(
      await gateway.calls({
        service: 'redshift-data',
        operation: 'BatchExecuteStatement',
        resource: batch.WorkgroupName,
      }),
    ).toBe(1);
  });

  test('a FAILED statement fails the run naming the stage with Redshift’s error, after one ExecuteStatement', async () => {
    const t = target();
    const marker = uniqueName('missing');
    await gateway.setScenario({
      service: 'redshift-data',
      match: marker,
      durationMs: 400,
      outcome: 'FAILED',
      message: `ERROR: relation "${marker}" does not exist`,
    });
    const pipeline = definePipeline({
      name: uniqueName('rsfail'),
      defaults: fast,
      stages: [{ id: 'load', kind: 'redshift.sql', params: { ...t, Sql: `INSERT INTO x SELECT * FROM ${marker}` } }],
    });
    const outcome = await run(pipeline);
    if (outcome.ok) throw new Error('the statement should have failed the run');
    expect(outcome.stage).toBe('load');
    expect(outcome.message).toMatch(
      new RegExp(
        `^Stage "load" \\(redshift\\.sql\\) failed: Redshift Data job [\\w-]+ ended FAILED: ERROR: relation "${marker}" does not exist$`,
      ),
    );
    expect(outcome.status?.stages[0]?.error?.type).toBe(ERROR_TYPES.jobFailed);
    expect(
      await gateway.calls({ service: 'redshift-data', operation: 'ExecuteStatement', resource: t.ClusterIdentifier }),
    ).toBe(1);
  });

  test('cancelling a run calls CancelStatement exactly once and the statement ends ABORTED', async () => {
    const t = target();
    const marker = uniqueName('forever');
    await gateway.setScenario({ service: 'redshift-data', match: marker, outcome: 'HANG' });
    const pipeline = definePipeline({
      name: uniqueName('rscancel'),
      defaults: { ...fast, timeout: { heartbeat: '2s' } },
      stages: [{ id: 'vacuum', kind: 'redshift.sql', params: { ...t, Sql: `VACUUM ${marker}` } }],
    });
    const status = await cancelWhilePolled(
      pipeline,
      async () =>
        (await gateway.calls({
          service: 'redshift-data',
          operation: 'DescribeStatement',
          resource: t.ClusterIdentifier,
        })) >= 2,
    );
    expect(
      await gateway.calls({ service: 'redshift-data', operation: 'ExecuteStatement', resource: t.ClusterIdentifier }),
    ).toBe(1);
    expect(
      await gateway.calls({ service: 'redshift-data', operation: 'CancelStatement', resource: t.ClusterIdentifier }),
    ).toBe(1);
    expect(status.stages[0]?.state).toBe('cancelled');
    const listed = await awsClients().redshiftData.send(
      new ListStatementsCommand({ ClusterIdentifier: t.ClusterIdentifier }),
    );
    expect(listed.Statements?.map((s) => [s.QueryString, s.Status])).toEqual([[`VACUUM ${marker}`, 'ABORTED']]);
  });

  test('a failing expect on a Redshift result stops the pipeline before downstream stages', async () => {
    const marker = uniqueName('empty');
    await gateway.setScenario({
      service: 'redshift-data',
      match: marker,
      durationMs: 200,
      result: { columns: ['n'], rows: [['0']] },
    });
    const pipeline = definePipeline({
      name: uniqueName('rsgate'),
      defaults: fast,
      stages: [
        {
          id: 'check',
          kind: 'redshift.sql',
          params: { ...target(), Sql: `SELECT count(*) AS n FROM ${marker}` },
          expect: { rows: '>0', firstValue: '> 0' },
        },
        { id: 'publish', kind: 'redshift.sql', dependsOn: ['check'], params: { ...target(), Sql: 'SELECT 1' } },
      ],
    });
    const outcome = await run(pipeline, '2024-03-05');
    if (outcome.ok) throw new Error('the check should have failed the run');
    expect(outcome.stage).toBe('check');
    expect(outcome.message).toMatch(
      /^Stage "check" \(redshift\.sql\) failed: quality check failed on Redshift Data job [\w-]+: expected firstValue > 0 \(got 0\)$/,
    );
    expect(outcome.status?.stages.map((s) => s.state)).toEqual(['failed', 'skipped']);
    expect(outcome.status?.stages[0]?.error?.type).toBe(ERROR_TYPES.qualityCheck);
  });
});

// ---------------------------------------------------------------- sfn.execution

describe('sfn.execution', () => {
  async function stateMachine(): Promise<string> {
    const out = await awsClients().sfn.send(
      new CreateStateMachineCommand({
        name: uniqueName('sm'),
        definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
        roleArn: `arn:aws:iam::${ACCOUNT}:role/sfn`,
      }),
    );
    return out.stateMachineArn as string;
  }

  test('an execution named from the key, with a templated input, succeeds with its output', async () => {
    const arn = await stateMachine();
    await gateway.setScenario({ service: 'sfn', match: arn, durationMs: 600 });
    const pipeline = definePipeline({
      name: uniqueName('sfn'),
      defaults: fast,
      stages: [
        {
          id: 'orchestrate',
          kind: 'sfn.execution',
          params: { stateMachineArn: arn, input: { ds: '{{ ds }}', tables: ['orders'] } },
        },
      ],
    });
    const outcome = await run(pipeline);
    if (!outcome.ok) throw new Error(outcome.message);
    const stage = outcome.status.stages[0];
    const name = sfnExecutionName(stageIdempotencyKey(pipeline.name, '2024-03-01', 'orchestrate', 0));
    expect(stage?.jobId).toBe(`${arn.replace(':stateMachine:', ':execution:')}:${name}`);
    expect(stage?.result?.output).toEqual({
      executionArn: stage?.jobId,
      output: { ds: '2024-03-01', tables: ['orders'] },
    });
    expect((await awsClients().sfn.send(new DescribeExecutionCommand({ executionArn: stage?.jobId }))).status).toBe(
      'SUCCEEDED',
    );
    expect(await gateway.calls({ service: 'sfn', operation: 'StartExecution', resource: arn })).toBe(1);
  });

  test('a FAILED execution fails the run with its error and cause, after one StartExecution', async () => {
    const arn = await stateMachine();
    await gateway.setScenario({
      service: 'sfn',
      match: arn,
      durationMs: 500,
      outcome: 'FAILED',
      message: 'Lambda.Unknown in LoadOrders',
    });
    const pipeline = definePipeline({
      name: uniqueName('sfnfail'),
      defaults: fast,
      stages: [{ id: 'orchestrate', kind: 'sfn.execution', params: { stateMachineArn: arn } }],
    });
    const outcome = await run(pipeline);
    if (outcome.ok) throw new Error('the execution should have failed the run');
    expect(outcome.stage).toBe('orchestrate');
    expect(outcome.message).toMatch(
      /^Stage "orchestrate" \(sfn\.execution\) failed: Step Functions job arn:aws:states:\S+ ended FAILED: States\.TaskFailed: Lambda\.Unknown in LoadOrders$/,
    );
    expect(await gateway.calls({ service: 'sfn', operation: 'StartExecution', resource: arn })).toBe(1);
  });

  test('cancelling a run calls StopExecution exactly once and the execution ends ABORTED', async () => {
    const arn = await stateMachine();
    await gateway.setScenario({ service: 'sfn', match: arn, outcome: 'HANG' });
    const pipeline = definePipeline({
      name: uniqueName('sfncancel'),
      defaults: { ...fast, timeout: { heartbeat: '2s' } },
      stages: [{ id: 'orchestrate', kind: 'sfn.execution', params: { stateMachineArn: arn } }],
    });
    await cancelWhilePolled(
      pipeline,
      async () => (await gateway.calls({ service: 'sfn', operation: 'DescribeExecution', resource: arn })) >= 2,
    );
    expect(await gateway.calls({ service: 'sfn', operation: 'StartExecution', resource: arn })).toBe(1);
    expect(await gateway.calls({ service: 'sfn', operation: 'StopExecution', resource: arn })).toBe(1);
    const name = sfnExecutionName(stageIdempotencyKey(pipeline.name, '2024-03-03', 'orchestrate', 0));
    const d = await awsClients().sfn.send(
      new DescribeExecutionCommand({ executionArn: `${arn.replace(':stateMachine:', ':execution:')}:${name}` }),
    );
    expect(d.status).toBe('ABORTED');
    expect(d.error).toBe('Sluice.Cancelled');
  });

  test('an execution of the key’s name that already ended is adopted (ExecutionAlreadyExists), not started again', async () => {
    const arn = await stateMachine();
    await gateway.setScenario({ service: 'sfn', match: arn, durationMs: 200 });
    const pipeline = definePipeline({
      name: uniqueName('sfnadopt'),
      defaults: fast,
      stages: [{ id: 'orchestrate', kind: 'sfn.execution', params: { stateMachineArn: arn, input: { attempt: 2 } } }],
    });
    // What an earlier attempt left behind: this key's execution, finished.
    const name = sfnExecutionName(stageIdempotencyKey(pipeline.name, '2024-03-01', 'orchestrate', 0));
    const earlier = await awsClients().sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, name, input: '{"attempt":1}' }),
    );
    await waitFor(
      'the earlier execution to end',
      async () =>
        (await awsClients().sfn.send(new DescribeExecutionCommand({ executionArn: earlier.executionArn }))).status ===
        'SUCCEEDED',
    );
    const outcome = await run(pipeline);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.status.stages[0]?.jobId).toBe(earlier.executionArn);
    expect(outcome.status.stages[0]?.result?.output).toEqual({
      executionArn: earlier.executionArn,
      output: { attempt: 1 },
    });
    const all = await awsClients().sfn.send(new ListExecutionsCommand({ stateMachineArn: arn }));
    expect(all.executions?.map((e) => e.name)).toEqual([name]);
  });
});

// ---------------------------------------------------------------- quicksight.refresh

describe('quicksight.refresh', () => {
  async function dataSet(): Promise<string> {
    const id = uniqueName('ds');
    await awsClients().quicksight.send(
      new CreateDataSetCommand({
        AwsAccountId: ACCOUNT,
        DataSetId: id,
        Name: id,
        ImportMode: 'SPICE',
        PhysicalTableMap: {},
      }),
    );
    return id;
  }

  test('a SPICE refresh completes and reports the rows ingested; one CreateIngestion', async () => {
    const id = await dataSet();
    await gateway.setScenario({
      service: 'quicksight',
      match: id,
      durationMs: 600,
      result: { columns: ['region'], rows: [['eu'], ['us'], ['apac']] },
    });
    const pipeline = definePipeline({
      name: uniqueName('qs'),
      defaults: fast,
      stages: [
        {
          id: 'refresh',
          kind: 'quicksight.refresh',
          params: { AwsAccountId: ACCOUNT, DataSetId: id, IngestionType: 'FULL_REFRESH' },
        },
      ],
    });
    const outcome = await run(pipeline);
    if (!outcome.ok) throw new Error(outcome.message);
    const stage = outcome.status.stages[0];
    const ingestionId = quicksightIngestionId(stageIdempotencyKey(pipeline.name, '2024-03-01', 'refresh', 0));
    expect(stage?.jobId).toBe(`${id}/${ingestionId}`);
    expect(stage?.result?.output).toMatchObject({ dataSetId: id, ingestionId, rowsIngested: 3, rowsDropped: 0 });
    expect(stage?.result?.summary).toContain('3 rows ingested');
    expect(await gateway.calls({ service: 'quicksight', operation: 'CreateIngestion', resource: id })).toBe(1);
  });

  test('a FAILED ingestion fails the run with QuickSight’s ErrorInfo, after one CreateIngestion', async () => {
    const id = await dataSet();
    await gateway.setScenario({
      service: 'quicksight',
      match: id,
      durationMs: 400,
      outcome: 'FAILED',
      message: 'Access denied to the Athena workgroup',
    });
    const pipeline = definePipeline({
      name: uniqueName('qsfail'),
      defaults: fast,
      stages: [{ id: 'refresh', kind: 'quicksight.refresh', params: { AwsAccountId: ACCOUNT, DataSetId: id } }],
    });
    const outcome = await run(pipeline);
    if (outcome.ok) throw new Error('the ingestion should have failed the run');
    expect(outcome.stage).toBe('refresh');
    expect(outcome.message).toMatch(
      /^Stage "refresh" \(quicksight\.refresh\) failed: QuickSight job \S+ ended FAILED: DATA_SOURCE_CONNECTION_FAILED: Access denied to the Athena workgroup$/,
    );
    expect(await gateway.calls({ service: 'quicksight', operation: 'CreateIngestion', resource: id })).toBe(1);
  });

  test('cancelling a run calls CancelIngestion exactly once and the ingestion ends CANCELLED', async () => {
    const id = await dataSet();
    await gateway.setScenario({ service: 'quicksight', match: id, outcome: 'HANG' });
    const pipeline = definePipeline({
      name: uniqueName('qscancel'),
      defaults: { ...fast, timeout: { heartbeat: '2s' } },
      stages: [{ id: 'refresh', kind: 'quicksight.refresh', params: { AwsAccountId: ACCOUNT, DataSetId: id } }],
    });
    await cancelWhilePolled(
      pipeline,
      async () => (await gateway.calls({ service: 'quicksight', operation: 'DescribeIngestion', resource: id })) >= 2,
    );
    expect(await gateway.calls({ service: 'quicksight', operation: 'CreateIngestion', resource: id })).toBe(1);
    expect(await gateway.calls({ service: 'quicksight', operation: 'CancelIngestion', resource: id })).toBe(1);
    const list = await awsClients().quicksight.send(
      new ListIngestionsCommand({ AwsAccountId: ACCOUNT, DataSetId: id }),
    );
    expect(list.Ingestions?.map((i) => [i.IngestionId, i.IngestionStatus, i.ErrorInfo?.Type])).toEqual([
      [
        quicksightIngestionId(stageIdempotencyKey(pipeline.name, '2024-03-03', 'refresh', 0)),
        'CANCELLED',
        'USER_CANCELLED',
      ],
    ]);
  });

  test('an ingestion already created with the key’s id is adopted (ResourceExistsException), not created again', async () => {
    const id = await dataSet();
    await gateway.setScenario({ service: 'quicksight', match: id, durationMs: 800 });
    const pipeline = definePipeline({
      name: uniqueName('qsadopt'),
      defaults: fast,
      stages: [{ id: 'refresh', kind: 'quicksight.refresh', params: { AwsAccountId: ACCOUNT, DataSetId: id } }],
    });
    const ingestionId = quicksightIngestionId(stageIdempotencyKey(pipeline.name, '2024-03-01', 'refresh', 0));
    await awsClients().quicksight.send(
      new CreateIngestionCommand({ AwsAccountId: ACCOUNT, DataSetId: id, IngestionId: ingestionId }),
    );
    const outcome = await run(pipeline);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.status.stages[0]?.jobId).toBe(`${id}/${ingestionId}`);
    const list = await awsClients().quicksight.send(
      new ListIngestionsCommand({ AwsAccountId: ACCOUNT, DataSetId: id }),
    );
    expect(list.Ingestions?.map((i) => [i.IngestionId, i.IngestionStatus])).toEqual([[ingestionId, 'COMPLETED']]);
  });
});

// ---------------------------------------------------------------- datapipeline.activate

describe('datapipeline.activate', () => {
  /** An on-demand pipeline with two activities, B after A. */
  async function pipelineWithDefinition(): Promise<string> {
    const name = uniqueName('dp');
    const { pipelineId } = await awsClients().dataPipeline.send(new CreatePipelineCommand({ name, uniqueId: name }));
    await awsClients().dataPipeline.send(
      new PutPipelineDefinitionCommand({
        pipelineId,
        pipelineObjects: [
          { id: 'Default', name: 'Default', fields: [{ key: 'scheduleType', stringValue: 'ondemand' }] },
          {
            id: 'Extract',
            name: 'Extract',
            fields: [
              { key: 'type', stringValue: 'ShellCommandActivity' },
              { key: 'command', stringValue: 'echo extract #{myDate}' },
            ],
          },
          {
            id: 'Load',
            name: 'Load',
            fields: [
              { key: 'type', stringValue: 'SqlActivity' },
              { key: 'dependsOn', refValue: 'Extract' },
            ],
          },
        ],
      }),
    );
    return pipelineId as string;
  }

  async function instanceStatuses(pipelineId: string): Promise<string[]> {
    const { ids } = await awsClients().dataPipeline.send(new QueryObjectsCommand({ pipelineId, sphere: 'INSTANCE' }));
    const { pipelineObjects } = await awsClients().dataPipeline.send(
      new DescribeObjectsCommand({ pipelineId, objectIds: ids }),
    );
    return (pipelineObjects ?? []).map((o) => o.fields?.find((f) => f.key === '@status')?.stringValue ?? '?').sort();
  }

  test('activating a pipeline waits until every instance of its run has FINISHED; one ActivatePipeline', async () => {
    const id = await pipelineWithDefinition();
    await gateway.setScenario({ service: 'datapipeline', match: id, durationMs: 1000 });
    const pipeline = definePipeline({
      name: uniqueName('dpok'),
      defaults: fast,
      stages: [
        {
          id: 'legacy',
          kind: 'datapipeline.activate',
          params: { pipelineId: id, parameterValues: [{ id: 'myDate', stringValue: '{{ ds }}' }] },
        },
      ],
    });
    const outcome = await run(pipeline);
    if (!outcome.ok) throw new Error(outcome.message);
    const stage = outcome.status.stages[0];
    expect(stage?.jobId).toMatch(new RegExp(`^${id}@\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d$`));
    const output = stage?.result?.output as { instances: { id: string; status: string }[] };
    expect(output.instances.map((i) => [i.id.split('_')[0], i.status])).toEqual([
      ['@Extract', 'FINISHED'],
      ['@Load', 'FINISHED'],
    ]);
    expect(await instanceStatuses(id)).toEqual(['FINISHED', 'FINISHED']);
    expect(await gateway.calls({ service: 'datapipeline', operation: 'ActivatePipeline', resource: id })).toBe(1);
  });

  test('a FAILED activity fails the run with its errorMessage, after one ActivatePipeline', async () => {
    const id = await pipelineWithDefinition();
    await gateway.setScenario({
      service: 'datapipeline',
      match: id,
      durationMs: 600,
      outcome: 'FAILED',
      message: 'Command exited with status 2: extract.sh: no such file',
    });
    const pipeline = definePipeline({
      name: uniqueName('dpfail'),
      defaults: fast,
      stages: [{ id: 'legacy', kind: 'datapipeline.activate', params: { pipelineId: id } }],
    });
    const outcome = await run(pipeline);
    if (outcome.ok) throw new Error('the pipeline run should have failed the Sluice run');
    expect(outcome.stage).toBe('legacy');
    expect(outcome.message).toMatch(
      /^Stage "legacy" \(datapipeline\.activate\) failed: Data Pipeline job df-\w+@\S+ ended FAILED: @Extract_\S+: Command exited with status 2: extract\.sh: no such file$/,
    );
    expect(await instanceStatuses(id)).toEqual(['CASCADE_FAILED', 'FAILED']);
    expect(await gateway.calls({ service: 'datapipeline', operation: 'ActivatePipeline', resource: id })).toBe(1);
  });

  test('cancelling a run calls DeactivatePipeline exactly once and the run’s instances end CANCELED', async () => {
    const id = await pipelineWithDefinition();
    await gateway.setScenario({ service: 'datapipeline', match: id, outcome: 'HANG' });
    const pipeline = definePipeline({
      name: uniqueName('dpcancel'),
      defaults: { ...fast, timeout: { heartbeat: '2s' } },
      stages: [{ id: 'legacy', kind: 'datapipeline.activate', params: { pipelineId: id } }],
    });
    await cancelWhilePolled(
      pipeline,
      async () => (await gateway.calls({ service: 'datapipeline', operation: 'QueryObjects', resource: id })) >= 2,
    );
    expect(await gateway.calls({ service: 'datapipeline', operation: 'ActivatePipeline', resource: id })).toBe(1);
    expect(await gateway.calls({ service: 'datapipeline', operation: 'DeactivatePipeline', resource: id })).toBe(1);
    expect(await instanceStatuses(id)).toEqual(['CANCELED', 'CANCELED']);
  });

  test('a crash after ActivatePipeline: the next attempt finds the activation by its tag instead of activating again', async () => {
    const id = await pipelineWithDefinition();
    await gateway.setScenario({ service: 'datapipeline', match: id, durationMs: 1500 });
    const pipeline = definePipeline({
      name: uniqueName('dpfind'),
      defaults: fast,
      stages: [{ id: 'legacy', kind: 'datapipeline.activate', params: { pipelineId: id } }],
    });
    // What a worker that died right after its activation leaves behind: the tag, the activation, no heartbeat.
    const key = stageIdempotencyKey(pipeline.name, '2024-03-01', 'legacy', 0);
    await awsClients().dataPipeline.send(
      new AddTagsCommand({ pipelineId: id, tags: [{ key: DP_ACTIVATION_TAG, value: `${dpTime(new Date())} ${key}` }] }),
    );
    await awsClients().dataPipeline.send(new ActivatePipelineCommand({ pipelineId: id }));
    const outcome = await run(pipeline);
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.status.stages[0]?.result?.reattached).toBe(true);
    expect(await gateway.calls({ service: 'datapipeline', operation: 'ActivatePipeline', resource: id })).toBe(1);
    expect(await instanceStatuses(id)).toEqual(['FINISHED', 'FINISHED']);
  });
});
