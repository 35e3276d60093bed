/**
 * The pipeline language without Temporal: templates over params and stage outputs, conditions,
 * run parameters, the scheduling decision (trigger rules), and the load-time checks of bad uses.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPipelineFile, runParams } from '../../client/load-pipeline';
import { definePipeline, type StageDefinition } from '../../common/pipeline';
import { parseParamArgs, resolveParams } from '../../common/params';
import { decide, type RunPhase } from '../../common/scheduling';
import { chunkItemsFor, chunkParallelism, itemIdempotencyKey, toleratedCount } from '../../common/fan-out';
import { stageGrants } from '../../infra/cdk/permissions';
import type { StageStateName } from '../../common/run-types';
import {
  evaluateCondition,
  parseCondition,
  renderParams,
  renderValue,
  templateContext,
  TemplateError,
  type Condition,
  type RenderContext,
} from '../../common/templating';
import { rejection } from '../support/validation';

const ctx: RenderContext = {
  date: templateContext('sales', '2024-03-01'),
  params: { region: 'eu-west-1', tables: ['orders', 'customers'], full_refresh: false, limit: 5 },
  stages: {
    cluster: { clusterId: 'j-ABC123' },
    check: { rowCount: 2, firstValue: '17', rows: [{ region: 'eu', n: '12' }] },
    lambda: { payload: { files: ['a.gz', 'b.gz'], meta: { count: 2 } } },
  },
  stageStates: { skipped_one: 'skipped' },
};

describe('templates over params and stage outputs', () => {
  test('a string that is exactly one template yields the value itself', () => {
    expect(renderValue('{{ params.tables }}', ctx)).toEqual(['orders', 'customers']);
    expect(renderValue(' {{ params.limit }} ', ctx)).toBe(5);
    expect(renderValue('{{ params.full_refresh }}', ctx)).toBe(false);
    expect(renderValue('{{ stages.lambda.output.payload.meta }}', ctx)).toEqual({ count: 2 });
    expect(renderValue('{{ stages.check.output.rows[0].n }}', ctx)).toBe('12');
    expect(renderValue('{{ stages.lambda.output.payload.files[1] }}', ctx)).toBe('b.gz');
  });

  test('inside a longer string values are written as text, objects as JSON', () => {
    expect(renderValue('s3://lake/{{ params.region }}/dt={{ ds }}/', ctx)).toBe('s3://lake/eu-west-1/dt=2024-03-01/');
    expect(renderValue('tables={{ params.tables }} n={{ params.limit }}', ctx)).toBe(
      'tables=["orders","customers"] n=5',
    );
    expect(renderValue('cluster {{ stages.cluster.output.clusterId }}', ctx)).toBe('cluster j-ABC123');
  });

  test('params are rendered deep; keys, numbers and foreign braces are left alone', () => {
    expect(
      renderParams(
        {
          JobFlowId: '{{ stages.cluster.output.clusterId }}',
          Args: ['--day', '{{ ds_nodash }}'],
          N: 3,
          Jinja: '{{ x + 1 }}',
        },
        ctx,
      ),
    ).toEqual({ JobFlowId: 'j-ABC123', Args: ['--day', '20240301'], N: 3, Jinja: '{{ x + 1 }}' });
  });

  test('a value the run does not have is a clear TemplateError', () => {
    expect(() => renderValue('{{ stages.check.output.nope }}', ctx)).toThrow(
      'stages.check.output has no field "nope" (it has rowCount, firstValue, rows)',
    );
    expect(() => renderValue('{{ stages.check.output.rows[3] }}', ctx)).toThrow('has 1 item(s), no [3]');
    expect(() => renderValue('{{ stages.skipped_one.output.x }}', ctx)).toThrow(
      'stage "skipped_one" has no output (it was skipped)',
    );
    expect(() => renderValue('{{ params.other }}', ctx)).toThrow(TemplateError);
  });
});

describe('conditions', () => {
  const cond = (text: string): Condition => {
    const c = parseCondition(text);
    if (typeof c === 'string') throw new Error(c);
    return c;
  };
  test.each([
    ['{{ stages.check.output.firstValue }} > 0', true],
    ['{{ stages.check.output.firstValue }} >= 18', false],
    ['{{ stages.check.output.rowCount }} == 2', true],
    ['{{ params.full_refresh }} == true', false],
    ['{{ params.full_refresh }} != true', true],
    ["{{ params.region }} == 'eu-west-1'", true],
  ])('%s → %s', (text, holds) => {
    expect(evaluateCondition(cond(text), ctx).holds).toBe(holds);
  });

  test('a condition without an operator or a value is refused', () => {
    expect(parseCondition('{{ params.full_refresh }}')).toBe('the condition has no operator');
    expect(parseCondition('{{ params.limit }} >')).toBe('the condition has no value to compare with');
    expect(parseCondition('full_refresh == true')).toBe('expected one template, an operator and a value');
  });
});

describe('run parameters', () => {
  const defs = {
    full_refresh: { type: 'boolean' as const, default: false },
    region: { type: 'string' as const, default: 'us-east-1', enum: ['us-east-1', 'eu-west-1'] },
    tables: { type: 'array' as const, default: ['orders', 'customers'] },
    days: { type: 'integer' as const },
  };

  test('--param values are typed by their declaration; defaults fill in the rest', () => {
    const parsed = parseParamArgs(['region=eu-west-1', 'tables=["a","b"]', 'days=3', 'full_refresh=true'], defs);
    expect(parsed.issues).toEqual([]);
    expect(resolveParams(defs, parsed.values)).toEqual({
      values: { region: 'eu-west-1', tables: ['a', 'b'], days: 3, full_refresh: true },
      issues: [],
    });
    expect(parseParamArgs(['tables=a, b'], defs).values).toEqual({ tables: ['a', 'b'] });
    expect(resolveParams(defs, { days: 1 }).values).toEqual({
      days: 1,
      full_refresh: false,
      region: 'us-east-1',
      tables: ['orders', 'customers'],
    });
  });

  test('unknown names, wrong types, values outside the enum and missing required ones: all at once', () => {
    const pipeline = definePipeline({
      name: 'p',
      params: defs,
      stages: [{ id: 'a', kind: 'glue.job', params: { JobName: 'x' } }],
    });
    const err = rejection(() =>
      runParams(pipeline, ['regoin=eu-west-1', 'days=2.5', 'full_refresh=yes', 'region=ap-south-1']),
    );
    const issues = err.issues;
    expect(issues.map((i) => [i.field, i.received])).toEqual([
      ['--param days', '2.5'],
      ['--param full_refresh', 'yes'],
      ['--param regoin', 'eu-west-1'],
      ['--param region', 'ap-south-1'],
    ]);
    expect(issues[2]?.fix).toContain('did you mean region?');
    expect(issues[3]?.problem).toBe('expected one of "us-east-1", "eu-west-1"');
    expect(resolveParams(defs, {}).issues).toEqual([
      expect.objectContaining({ field: '--param days', problem: 'required: the pipeline gives it no default' }),
    ]);
  });
});

describe('scheduling decision (trigger rules, conditions)', () => {
  const stages = (...defs: [string, string[], Partial<StageDefinition>?][]) =>
    defs.map(([id, dependsOn, extra]) => ({ id, dependsOn, ...extra }));
  const states = (s: Record<string, StageStateName>) => s;
  const d = (st: ReturnType<typeof stages>, s: Record<string, StageStateName>, phase: RunPhase = 'running') =>
    decide(st, states(s), phase, ctx);

  test('all_success: waits for every upstream stage; a failed or skipped one skips it and its downstream', () => {
    const st = stages(['a', []], ['b', ['a']], ['c', ['b']]);
    expect(d(st, { a: 'pending', b: 'pending', c: 'pending' })).toEqual({ start: ['a'], skip: [], fail: [] });
    expect(d(st, { a: 'running', b: 'pending', c: 'pending' }).start).toEqual([]);
    expect(d(st, { a: 'succeeded', b: 'pending', c: 'pending' }).start).toEqual(['b']);
    expect(d(st, { a: 'skipped', b: 'pending', c: 'pending' }).skip).toEqual([
      { id: 'b', reason: 'upstream a skipped' },
      { id: 'c', reason: 'upstream b skipped' },
    ]);
  });

  test('after a failure only cleanup stages (all_done, one_failed) still start', () => {
    const st = stages(
      ['cluster', []],
      ['step', ['cluster']],
      ['other', []],
      ['terminate', ['step'], { trigger: 'all_done' }],
      ['alert', ['step'], { trigger: 'one_failed' }],
      ['report', ['step'], { trigger: 'none_failed' }],
    );
    const out = d(
      st,
      {
        cluster: 'succeeded',
        step: 'failed',
        other: 'pending',
        terminate: 'pending',
        alert: 'pending',
        report: 'pending',
      },
      'failed',
    );
    expect(out.start).toEqual(['terminate', 'alert']);
    expect(out.skip).toEqual([
      { id: 'other', reason: 'not started: another stage failed' },
      { id: 'report', reason: 'not started: another stage failed' },
    ]);
  });

  test('all_done runs after a cancel once upstream stages ended; one_failed needs a failure, not a cancel', () => {
    const st = stages(
      ['step', []],
      ['terminate', ['step'], { trigger: 'all_done' }],
      ['alert', ['step'], { trigger: 'one_failed' }],
    );
    expect(d(st, { step: 'running', terminate: 'pending', alert: 'pending' }, 'cancelled').start).toEqual([]);
    const out = d(st, { step: 'cancelled', terminate: 'pending', alert: 'pending' }, 'cancelled');
    expect(out.start).toEqual(['terminate']);
    expect(out.skip).toEqual([{ id: 'alert', reason: 'no upstream stage failed' }]);
  });

  test('one_failed fires at the first failed upstream stage, without waiting for the others', () => {
    const st = stages(['a', []], ['b', []], ['alert', ['a', 'b'], { trigger: 'one_failed' }]);
    expect(d(st, { a: 'failed', b: 'running', alert: 'pending' }, 'failed').start).toEqual(['alert']);
  });

  test('a false condition skips the stage; all_success downstream is skipped, none_failed runs', () => {
    const st = stages(
      ['check', []],
      ['load', ['check'], { if: '{{ stages.check.output.firstValue }} > 100' }],
      ['publish', ['load']],
      ['notify', ['load'], { trigger: 'none_failed' }],
    );
    const out = d(st, { check: 'succeeded', load: 'pending', publish: 'pending', notify: 'pending' });
    expect(out.skip).toEqual([
      { id: 'load', reason: 'condition false: {{ stages.check.output.firstValue }} > 100 (value "17")' },
      { id: 'publish', reason: 'upstream load skipped' },
    ]);
    expect(out.start).toEqual(['notify']);
  });

  test('a true condition starts the stage; one that cannot be read fails it without running', () => {
    const st = stages(['load', [], { if: '{{ params.limit }} >= 5' }], ['bad', [], { if: '{{ params.nope }} == 1' }]);
    const out = d(st, { load: 'pending', bad: 'pending' });
    expect(out.start).toEqual(['load']);
    expect(out.fail).toEqual([
      { id: 'bad', message: 'condition "{{ params.nope }} == 1": the run has no parameter "nope"' },
    ]);
  });
});

describe('bad uses are rejected when the pipeline loads, all at once, with the value and the fix', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-language-'));
  const file = path.join(dir, 'bad.yaml');
  writeFileSync(
    file,
    `name: bad
params:
  region: { type: string, default: us-east-1, enum: [us-east-1, eu-west-1] }
  days: { type: integer, default: seven }
stages:
  - id: check
    kind: athena.query
    params: { QueryString: "SELECT 1" }
  - id: load
    kind: glue.job
    dependsOn: [check]
    if: "{{ stages.check.output.firstValue }}"
    params:
      JobName: "load-{{ params.regoin }}"
      Arguments:
        "--rows": "{{ stages.check.output.rowcount }}"
        "--cluster": "{{ stages.chek.output.clusterId }}"
        "--later": "{{ stages.report.output.rows }}"
        "--item": "{{ item }}"
  - id: report
    kind: athena.query
    dependsOn: [load]
    params: { QueryString: "SELECT '{{ stages.load.output.jobRunId }}'" }
  - id: alert
    kind: lambda.invoke
    trigger: one_failed
    params: { FunctionName: alert }
`,
  );
  const err = rejection(() => loadPipelineFile(file));
  const byField = (stage: string | undefined, field: string) =>
    err.issues.find((i) => i.stage === stage && i.field === field && true);

  test('every problem in one error', () => {
    expect(err.issues.map((i) => `${i.stage ?? ''}:${i.field}`)).toEqual([
      ':params.days.default',
      'load:params.JobName',
      'load:params.Arguments.--rows',
      'load:params.Arguments.--cluster',
      'load:params.Arguments.--later',
      'load:params.Arguments.--item',
      'load:if',
      'alert:trigger',
    ]);
    expect(err.message).toContain('bad.yaml is not a valid pipeline (8 problems)');
  });

  test('an unknown param, a misspelt output field and an unknown stage say "did you mean"', () => {
    expect(byField('load', 'params.JobName')).toMatchObject({
      received: 'load-{{ params.regoin }}',
      fix: 'did you mean {{ params.region }}?',
    });
    expect(byField('load', 'params.Arguments.--rows')?.problem).toBe(
      '{{ stages.check.output.rowcount }}: athena.query has no output field "rowcount"',
    );
    expect(byField('load', 'params.Arguments.--rows')?.fix).toMatch(/^did you mean rowCount\? its output fields: /);
    expect(byField('load', 'params.Arguments.--cluster')?.fix).toBe('did you mean {{ stages.check.output... }}?');
  });

  test('a downstream stage cannot be read, nor an item outside forEach, nor a condition without operator', () => {
    expect(byField('load', 'params.Arguments.--later')?.problem).toBe(
      '{{ stages.report.output.rows }}: stage "report" is not upstream of "load", so its output may not exist yet',
    );
    expect(byField('load', 'params.Arguments.--item')?.problem).toContain('only known in a stage with forEach');
    expect(byField('load', 'if')).toMatchObject({
      received: '{{ stages.check.output.firstValue }}',
      problem: 'the condition has no operator',
    });
    expect(byField(undefined, 'params.days.default')).toMatchObject({
      received: 'seven',
      problem: 'expected an integer, got a string',
    });
  });

  test('a transitive upstream stage may be read; run params are checked against the declarations', () => {
    const ok = definePipeline({
      name: 'ok',
      params: { full_refresh: { type: 'boolean', default: false } },
      stages: [
        { id: 'a', kind: 'athena.query', params: { QueryString: 'SELECT 1' } },
        { id: 'b', kind: 'glue.job', dependsOn: ['a'], params: { JobName: 'x' } },
        {
          id: 'c',
          kind: 'glue.job',
          dependsOn: ['b'],
          if: '{{ params.full_refresh }} == true',
          params: { JobName: 'y', Arguments: { '--n': '{{ stages.a.output.rowCount }}' } },
        },
      ],
    });
    expect(runParams(ok, ['full_refresh=true'])).toEqual({ full_refresh: true });
    const bad = rejection(() => runParams(ok, ['full_refresh=1', 'region=x']));
    expect(bad.message).toContain('the run parameters of ok is not a valid pipeline (2 problems)');
    expect(bad.issues.map((i) => i.field)).toEqual(['--param full_refresh', '--param region']);
  });
});

describe('the derived IAM policy widens every kind of template', () => {
  test('a run param or a stage output in a resource name becomes * in the ARN', () => {
    const p = definePipeline({
      name: 'p',
      params: { job: { type: 'string', default: 'etl' } },
      stages: [
        { id: 'f', kind: 'lambda.invoke', params: { FunctionName: 'list' } },
        { id: 'g', kind: 'glue.job', dependsOn: ['f'], params: { JobName: '{{ params.job }}-{{ ds_nodash }}' } },
        {
          id: 'h',
          kind: 'lambda.invoke',
          dependsOn: ['f'],
          params: { FunctionName: 'fn-{{ stages.f.output.payload.name }}' },
        },
      ],
    });
    const c = { region: 'us-east-1', account: '123456789012' };
    expect(stageGrants('p', p.stages[1]!, c).flatMap((g) => g.resources)).toContain(
      'arn:aws:glue:us-east-1:123456789012:job/*-*',
    );
    const invoke = stageGrants('p', p.stages[2]!, c).filter((g) => g.actions.includes('lambda:InvokeFunction'));
    expect(invoke.flatMap((g) => g.resources)).toEqual(['arn:aws:lambda:us-east-1:123456789012:function:fn-*']);
  });
});

describe('forEach and pipeline.run are checked when the pipeline loads', () => {
  test('both sources, no source, an items string that is not one template, a fan-out output field it lacks', () => {
    const err = rejection(() =>
      definePipeline({
        name: 'fan',
        stages: [
          {
            id: 'both',
            kind: 'glue.job',
            forEach: { s3: { Bucket: 'b', Prefix: 'p/' }, items: ['a'] },
            params: { JobName: 'j', Arguments: { '--k': '{{ item }}' } },
          },
          { id: 'none', kind: 'glue.job', forEach: { batch: 2 }, params: { JobName: 'j' } },
          { id: 'text', kind: 'glue.job', forEach: { items: 'a,{{ ds }}' }, params: { JobName: 'j' } },
          {
            id: 'after',
            kind: 'glue.job',
            dependsOn: ['both'],
            params: { JobName: 'j', Arguments: { '--n': '{{ stages.both.output.jobRunId }}' } },
          },
        ],
      }),
    );
    expect(err.issues.map((i) => [i.stage, i.field, i.problem])).toEqual([
      ['both', 'forEach', 'forEach takes one source, not both'],
      ['none', 'forEach', 'forEach needs a source'],
      ['text', 'forEach.items', 'expected a list, or exactly one template that yields a list'],
      [
        'after',
        'params.Arguments.--n',
        '{{ stages.both.output.jobRunId }}: the fan-out (forEach) stage "both" has no output field "jobRunId"',
      ],
    ]);
  });

  test('a sub-pipeline is validated with its parent, and the params given to it against its declarations', () => {
    const sub = definePipeline({
      name: 'load-table',
      params: { table: { type: 'string' }, days: { type: 'integer', default: 1 } },
      stages: [{ id: 'load', kind: 'glue.job', params: { JobName: 'x', Arguments: { '--t': '{{ params.table }}' } } }],
    });
    const err = rejection(() =>
      definePipeline({
        name: 'parent',
        stages: [
          { id: 'a', kind: 'pipeline.run', params: { pipeline: sub, params: { days: 'two', tabel: 'x' } } },
          { id: 'b', kind: 'pipeline.run', params: { pipeline: './load-table.yaml' } },
        ],
      }),
    );
    expect(err.issues.map((i) => [i.stage, i.field])).toEqual([
      ['a', 'params.params.days'],
      ['a', 'params.params.tabel'],
      ['a', 'params.params.table'],
      ['b', 'params.pipeline'],
    ]);
    expect(err.issues[1]?.fix).toContain('did you mean table?');
    expect(err.issues.map((i) => i.fix)).toEqual([
      expect.stringContaining('give params: { days: 1 }'),
      expect.stringContaining('did you mean table?'),
      expect.stringContaining('give it, e.g. params: { table: text }'),
      expect.stringContaining('loadPipelineFile'),
    ]);
    // Templated values are the run's to check: the sub-run refuses a wrong type.
    expect(
      definePipeline({
        name: 'ok',
        params: { t: { type: 'string', default: 'orders' } },
        stages: [{ id: 'a', kind: 'pipeline.run', params: { pipeline: sub, params: { table: '{{ params.t }}' } } }],
      }).stages[0]?.kind,
    ).toBe('pipeline.run');
  });
});

describe('fan-out planning', () => {
  test('chunks at once and each one’s share: never above the concurrency, at most 64 items in one chunk', () => {
    expect(chunkParallelism(200, 20)).toEqual({ parallel: 4, each: 50 });
    expect(chunkParallelism(1000, 200)).toEqual({ parallel: 16, each: 62 });
    expect(chunkParallelism(200, 1)).toEqual({ parallel: 1, each: 64 });
    expect(chunkParallelism(3, 10)).toEqual({ parallel: 3, each: 1 });
    expect(chunkParallelism(10, 2)).toEqual({ parallel: 2, each: 5 });
    for (const c of [1, 7, 64, 65, 199, 257, 1000])
      for (const n of [1, 3, 50]) {
        const { parallel, each } = chunkParallelism(c, n);
        expect(parallel * each).toBeLessThanOrEqual(c);
        expect(each).toBeLessThanOrEqual(64);
      }
  });

  test('chunk sizes, tolerated failures, idempotency keys', () => {
    expect(chunkItemsFor(1)).toBe(500);
    expect(chunkItemsFor(5)).toBe(200);
    expect(chunkItemsFor(1000)).toBe(1);
    expect(toleratedCount('5%', 10_000)).toBe(500);
    expect(toleratedCount('5%', 19)).toBe(0);
    expect(toleratedCount(3, 10)).toBe(3);
    expect(itemIdempotencyKey('sales', '2024-03-01', 'decompress', 17, 2)).toBe('sales/2024-03-01/decompress[17]/g2');
  });
});
