/** `pipeline.wait`: its params rules at validation time, its run-time checks, its failures and its (empty) IAM grants. */
import { ApplicationFailure } from '@temporalio/common';
import { runEndedFailure, waitCheckBounds, waitTarget } from '../../kinds/pipeline-wait/handler';
import { ERROR_TYPES, SENSOR_KINDS } from '../../common/constants';
import { definePipeline, PipelineValidationError, type PipelineIssue } from '../../common/pipeline';
import { stageGrants } from '../../infra/cdk/permissions';

function issues(params: Record<string, unknown>): PipelineIssue[] {
  try {
    definePipeline({
      name: 'reports',
      stages: [
        { id: 'clicks_ready', kind: 'pipeline.wait', params, timeout: { total: '6h' } },
        { id: 'after', kind: 's3.put', dependsOn: ['clicks_ready'], params: { Bucket: 'b', Key: 'k', Body: 'x' } },
      ],
    });
  } catch (err) {
    if (err instanceof PipelineValidationError) return err.issues;
    throw err;
  }
  return [];
}

function thrown(fn: () => unknown): ApplicationFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected an ApplicationFailure');
}

describe('pipeline.wait params', () => {
  test('a pipeline name, with or without a date (a literal or a template), is valid', () => {
    expect(issues({ pipeline: 'clickstream-ingest' })).toEqual([]);
    expect(issues({ pipeline: 'clickstream-ingest', date: '{{ ds }}' })).toEqual([]);
    expect(issues({ pipeline: 'clickstream_ingest2', date: '{{ prev_ds }}' })).toEqual([]);
    expect(issues({ pipeline: 'clickstream-ingest', date: '2024-03-01' })).toEqual([]);
    // A templated name is checked once rendered, by the activity.
    expect(issues({ pipeline: '{{ pipeline }}-upstream' })).toEqual([]);
  });

  test('pipeline is required, with a hint', () => {
    expect(issues({})).toEqual([
      expect.objectContaining({
        stage: 'clicks_ready',
        field: 'params.pipeline',
        problem: 'required by pipeline.wait (Temporal (no AWS calls))',
        fix: expect.stringContaining('the name of the pipeline whose run to wait for'),
      }),
    ]);
  });

  test('a pipeline that is no pipeline name is rejected', () => {
    for (const bad of ['Clickstream', 'clickstream/ingest', '-x', 'a b']) {
      expect(issues({ pipeline: bad })).toEqual([
        expect.objectContaining({
          field: 'params.pipeline',
          received: bad,
          problem: expect.stringMatching(/^not a pipeline name/),
        }),
      ]);
    }
    expect(issues({ pipeline: 42 })).toEqual([
      expect.objectContaining({ field: 'params.pipeline', received: 42, problem: 'expected a pipeline name' }),
    ]);
  });

  test('a date that is no calendar day (or no string) is rejected', () => {
    expect(issues({ pipeline: 'c', date: '2024-02-30' })).toEqual([
      expect.objectContaining({
        field: 'params.date',
        received: '2024-02-30',
        problem: expect.stringContaining('not a day'),
      }),
    ]);
    expect(issues({ pipeline: 'c', date: 'yesterday' })).toEqual([
      expect.objectContaining({ field: 'params.date', problem: expect.stringContaining('YYYY-MM-DD') }),
    ]);
    expect(issues({ pipeline: 'c', date: 20240301 })).toEqual([
      expect.objectContaining({ field: 'params.date', received: 20240301 }),
    ]);
  });

  test('an unknown param (a misspelling) is rejected', () => {
    expect(issues({ pipeline: 'c', ds: '{{ ds }}' })).toEqual([
      expect.objectContaining({ field: 'params.ds', problem: 'pipeline.wait takes only pipeline and date' }),
    ]);
  });

  test('its outputs are usable downstream; others are not', () => {
    const use = (field: string) =>
      definePipeline({
        name: 'reports',
        stages: [
          { id: 'clicks_ready', kind: 'pipeline.wait', params: { pipeline: 'clicks' } },
          {
            id: 'note',
            kind: 's3.put',
            dependsOn: ['clicks_ready'],
            params: { Bucket: 'b', Key: 'k', Body: `{{ stages.clicks_ready.output.${field} }}` },
          },
        ],
      });
    for (const f of ['workflowId', 'runId', 'status', 'closedAt']) expect(() => use(f)).not.toThrow();
    expect(() => use('jobRunId')).toThrow(PipelineValidationError);
  });

  test('it is a sensor (its deadline is timeout.total) and needs no IAM grant', () => {
    expect(SENSOR_KINDS).toContain('pipeline.wait');
    const p = definePipeline({
      name: 'reports',
      stages: [{ id: 'w', kind: 'pipeline.wait', params: { pipeline: 'clicks' } }],
    });
    expect(stageGrants('reports', p.stages[0]!, { region: 'eu-west-1', account: '123456789012' })).toEqual([]);
  });
});

describe('pipeline.wait at run time', () => {
  const sctx = (params: Record<string, unknown>) => ({ stageId: 'clicks_ready', ds: '2024-03-01', params });

  test('the run waited on: <pipeline>/<date>, the date defaulting to the run’s own', () => {
    expect(waitTarget(sctx({ pipeline: 'clickstream-ingest' }))).toEqual({
      pipeline: 'clickstream-ingest',
      date: '2024-03-01',
      workflowId: 'clickstream-ingest/2024-03-01',
    });
    expect(waitTarget(sctx({ pipeline: 'c', date: '2024-02-29' })).workflowId).toBe('c/2024-02-29');
  });

  test('a date or pipeline that rendered to something else is a non-retryable StageInputError', () => {
    for (const params of [
      { pipeline: 'c', date: '2024-13-01' },
      { pipeline: 'c', date: '' },
      { pipeline: 'c', date: 7 },
      { pipeline: 'Not A Name' },
      {},
    ]) {
      const f = thrown(() => waitTarget(sctx(params)));
      expect(f.type).toBe(ERROR_TYPES.stageInput);
      expect(f.nonRetryable).toBe(true);
      expect(f.message).toMatch(/^stage clicks_ready: params\.(date|pipeline) is /);
    }
  });

  test('a latest run that did not succeed: JobFailedError naming it and how it ended', () => {
    const id = 'clickstream-ingest/2024-03-01';
    const failed = runEndedFailure(id, 'r1', 'FAILED', 'Stage "load" (glue.job) failed: boom');
    expect(failed.message).toBe('clickstream-ingest/2024-03-01 failed: Stage "load" (glue.job) failed: boom');
    expect(failed.type).toBe(ERROR_TYPES.jobFailed);
    expect(failed.nonRetryable).toBe(true);
    expect(failed.details).toEqual([{ workflowId: id, runId: 'r1', status: 'FAILED' }]);
    expect(runEndedFailure(id, 'r1', 'CANCELLED', 'the run was cancelled').message).toBe(`${id} was cancelled`);
    expect(runEndedFailure(id, 'r1', 'TERMINATED', 'by hand').message).toBe(`${id} was terminated: by hand`);
    expect(runEndedFailure(id, 'r1', 'TIMED_OUT', undefined).message).toMatch(/timed out/);
  });

  test('checks for a run not there yet: 2 s growing to 10 s, or the stage’s poll', () => {
    expect(waitCheckBounds()).toEqual({ initialMs: 2_000, maxMs: 10_000 });
    expect(waitCheckBounds({ initial: '200ms', max: '1s' })).toEqual({ initialMs: 200, maxMs: 1_000 });
    expect(waitCheckBounds({ initial: '30s' })).toEqual({ initialMs: 30_000, maxMs: 30_000 });
  });
});
