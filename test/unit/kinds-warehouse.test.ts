import { mapDataPipelineRun, type DpInstance } from '../../kinds/datapipeline-activate/handler';
import { mapIngestionState, quicksightIngestionId } from '../../kinds/quicksight-refresh/handler';
import { fieldText, mapRedshiftState, redshiftClientToken } from '../../kinds/redshift-sql/handler';
import {
  mapSfnState,
  sfnExecutionArn,
  sfnExecutionName,
  summarizeOutput,
  SFN_OUTPUT_MAX_CHARS,
} from '../../kinds/sfn-execution/handler';
import { definePipeline } from '../../common/pipeline';

describe('redshift.sql', () => {
  test.each([
    ['SUBMITTED', 'running'],
    ['PICKED', 'running'],
    ['STARTED', 'running'],
    ['FINISHED', 'succeeded'],
    ['FAILED', 'failed'],
    ['ABORTED', 'stopped'],
  ] as const)('Redshift Data %s → %s', (aws, ours) => {
    expect(mapRedshiftState({ Status: aws }).state).toBe(ours);
  });

  test('FAILED keeps Redshift’s Error', () => {
    expect(mapRedshiftState({ Status: 'FAILED', Error: 'ERROR: relation "x" does not exist' })).toEqual({
      state: 'failed',
      awsState: 'FAILED',
      message: 'ERROR: relation "x" does not exist',
    });
  });

  test('the ClientToken is a stable 64-character hash of the key', () => {
    const token = redshiftClientToken('p/2024-03-01/load/g0');
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(redshiftClientToken('p/2024-03-01/load/g0')).toBe(token);
    expect(redshiftClientToken('p/2024-03-01/load/g1')).not.toBe(token);
  });

  test('fields read as text, NULL as null', () => {
    expect(
      [{ stringValue: 'eu' }, { longValue: 42 }, { doubleValue: 1.5 }, { booleanValue: false }, { isNull: true }].map(
        fieldText,
      ),
    ).toEqual(['eu', '42', '1.5', 'false', null]);
  });

  test('validation: a cluster or a workgroup, one of Sql/Sqls, and no ClientToken', () => {
    const stage = (params: Record<string, unknown>) => () =>
      definePipeline({ name: 'p', stages: [{ id: 's', kind: 'redshift.sql', params }] });
    expect(stage({ ClusterIdentifier: 'c', Database: 'dev', DbUser: 'u', Sql: 'SELECT 1' })).not.toThrow();
    expect(stage({ WorkgroupName: 'w', Database: 'dev', Sqls: ['SELECT 1'] })).not.toThrow();
    expect(stage({ Database: 'dev', Sql: 'SELECT 1' })).toThrow(
      /params\.ClusterIdentifier\|WorkgroupName: redshift\.sql needs exactly one of these/,
    );
    expect(stage({ WorkgroupName: 'w', Database: 'dev', Sql: 'a', Sqls: ['b'] })).toThrow(
      /params\.Sql\|Sqls: only one of these may be given/,
    );
    expect(stage({ WorkgroupName: 'w', Database: 'dev', Sql: 'a', ClientToken: 't' })).toThrow(
      /params\.ClientToken: set by Sluice/,
    );
  });
});

describe('sfn.execution', () => {
  test.each([
    ['RUNNING', 'running'],
    ['PENDING_REDRIVE', 'running'],
    ['SUCCEEDED', 'succeeded'],
    ['FAILED', 'failed'],
    ['TIMED_OUT', 'timeout'],
    ['ABORTED', 'stopped'],
  ] as const)('Step Functions %s → %s', (aws, ours) => {
    expect(mapSfnState({ status: aws }).state).toBe(ours);
  });

  test('FAILED keeps the error and the cause', () => {
    expect(mapSfnState({ status: 'FAILED', error: 'States.TaskFailed', cause: 'boom' })).toEqual({
      state: 'failed',
      awsState: 'FAILED',
      message: 'States.TaskFailed: boom',
    });
  });

  test('execution names: valid, at most 80 characters, stable, distinct where the characters are not', () => {
    const a = sfnExecutionName('sales/2024-03-01/load.orders/g0');
    expect(a).toMatch(/^sales_2024-03-01_load_orders_g0-[0-9a-f]{16}$/);
    expect(sfnExecutionName('sales/2024-03-01/load.orders/g0')).toBe(a);
    expect(sfnExecutionName('sales/2024-03-01/load_orders/g0')).not.toBe(a);
    const long = sfnExecutionName(`${'x'.repeat(200)}/2024-03-01/s/g0`);
    expect(long.length).toBe(80);
    expect(long).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  test('the execution ARN of a name, also from a version or alias ARN', () => {
    expect(sfnExecutionArn('arn:aws:states:us-east-1:123456789012:stateMachine:etl', 'n')).toBe(
      'arn:aws:states:us-east-1:123456789012:execution:etl:n',
    );
    expect(sfnExecutionArn('arn:aws:states:us-east-1:123456789012:stateMachine:etl:3', 'n')).toBe(
      'arn:aws:states:us-east-1:123456789012:execution:etl:n',
    );
  });

  test('output: parsed when small, a preview when large or not JSON', () => {
    expect(summarizeOutput('{"n":1}')).toEqual({ output: { n: 1 } });
    expect(summarizeOutput('not json')).toEqual({ outputPreview: 'not json', outputChars: 8 });
    const big = JSON.stringify({ s: 'x'.repeat(SFN_OUTPUT_MAX_CHARS) });
    expect(summarizeOutput(big)).toEqual({
      outputPreview: big.slice(0, SFN_OUTPUT_MAX_CHARS),
      outputChars: big.length,
    });
    expect(summarizeOutput(undefined)).toEqual({});
  });
});

describe('quicksight.refresh', () => {
  test.each([
    ['INITIALIZED', 'running'],
    ['QUEUED', 'running'],
    ['RUNNING', 'running'],
    ['COMPLETED', 'succeeded'],
    ['FAILED', 'failed'],
    ['CANCELLED', 'stopped'],
  ] as const)('QuickSight %s → %s', (aws, ours) => {
    expect(mapIngestionState({ IngestionStatus: aws }).state).toBe(ours);
  });

  test('FAILED keeps the ErrorInfo type and message', () => {
    expect(
      mapIngestionState({
        IngestionStatus: 'FAILED',
        ErrorInfo: { Type: 'ROW_SIZE_LIMIT_EXCEEDED', Message: 'too wide' },
      }),
    ).toEqual({
      state: 'failed',
      awsState: 'FAILED',
      message: 'ROW_SIZE_LIMIT_EXCEEDED: too wide',
    });
  });

  test('ingestion ids: valid, at most 128 characters, stable and distinct', () => {
    const id = quicksightIngestionId('sales/2024-03-01/refresh/g0');
    expect(id).toMatch(/^sales_2024-03-01_refresh_g0-[0-9a-f]{16}$/);
    expect(quicksightIngestionId('sales/2024-03-01/refresh/g1')).not.toBe(id);
    expect(quicksightIngestionId('y'.repeat(300)).length).toBe(128);
  });
});

describe('datapipeline.activate: the run of an activation', () => {
  const at = '2024-03-01T10:00:00';
  const later = '2024-03-02T10:00:00';
  const inst = (id: string, status: string, scheduledStartTime = at, errorMessage?: string): DpInstance => ({
    id,
    status,
    scheduledStartTime,
    ...(errorMessage ? { errorMessage } : {}),
  });

  test('no instance yet: running while scheduled, stopped if the pipeline was deactivated, done if FINISHED', () => {
    expect(mapDataPipelineRun('SCHEDULED', []).state).toBe('running');
    expect(mapDataPipelineRun('INACTIVE', [])).toMatchObject({ state: 'stopped', awsState: 'INACTIVE' });
    expect(mapDataPipelineRun('FINISHED', []).state).toBe('succeeded');
  });

  test('running until every instance of the first period has a final status', () => {
    expect(mapDataPipelineRun('SCHEDULED', [inst('@A', 'FINISHED'), inst('@B', 'WAITING_ON_DEPENDENCIES')])).toEqual({
      state: 'running',
      awsState: 'RUNNING (1/2 instances ended)',
    });
  });

  test('succeeded when every instance FINISHED or SKIPPED; later periods are not part of the run', () => {
    expect(
      mapDataPipelineRun('SCHEDULED', [inst('@A', 'FINISHED'), inst('@B', 'SKIPPED'), inst('@A2', 'RUNNING', later)])
        .state,
    ).toBe('succeeded');
  });

  test.each([
    ['FAILED', 'failed'],
    ['CASCADE_FAILED', 'failed'],
    ['TIMEDOUT', 'timeout'],
    ['CANCELED', 'stopped'],
  ] as const)('an instance %s → %s', (aws, ours) => {
    expect(mapDataPipelineRun('SCHEDULED', [inst('@A', 'FINISHED'), inst('@B', aws)]).state).toBe(ours);
  });

  test('FAILED names the failed instance and keeps its errorMessage, preferring it over the cascade', () => {
    expect(
      mapDataPipelineRun('SCHEDULED', [
        inst('@Load', 'CASCADE_FAILED', at, 'cascade'),
        inst('@Extract', 'FAILED', at, 'exit 2'),
      ]),
    ).toEqual({
      state: 'failed',
      awsState: 'FAILED',
      message: '@Extract: exit 2',
    });
  });
});
