import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPipelineFile } from '../../client/load-pipeline';
import {
  definePipeline,
  type PipelineValidationError,
  validateLogicalDate,
  type PipelineIssue,
} from '../../common/pipeline';
import { rejection } from '../support/validation';

const dir = mkdtempSync(path.join(tmpdir(), 'sluice-validation-'));

function writePipeline(name: string, yaml: string): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

function onlyIssue(err: PipelineValidationError): PipelineIssue {
  expect(err.issues).toHaveLength(1);
  return err.issues[0] as PipelineIssue;
}

const GOOD_GLUE = `
  - id: transform
    kind: glue.job
    params:
      JobName: sales-etl
`;

describe('pipeline validation: every problem is rejected before anything starts', () => {
  test('invalid YAML names the file, the line and the problem', () => {
    const file = writePipeline('bad-yaml', 'name: sales\nstages:\n  - id: a\n    kind: [glue.job\n');
    const err = rejection(() => loadPipelineFile(file));
    expect(err.message).toContain(file);
    expect(onlyIssue(err).field).toMatch(/^line \d+, column \d+$/);
    expect(err.message).toMatch(/invalid YAML/);
    expect(err.message).toMatch(/Fix:/);
  });

  test('unknown kind: stage, field, value and the kinds to choose from', () => {
    const file = writePipeline(
      'unknown-kind',
      `name: sales\nstages:\n  - id: transform\n    kind: glue.jobs\n    params: { JobName: x }\n`,
    );
    const err = rejection(() => loadPipelineFile(file));
    const issue = onlyIssue(err);
    expect(issue).toMatchObject({ stage: 'transform', field: 'kind', received: 'glue.jobs' });
    expect(issue.fix).toContain('glue.job');
    expect(err.message).toContain('stage "transform", kind: unknown stage kind (received "glue.jobs")');
  });

  test('duplicate id', () => {
    const file = writePipeline('dup', `name: sales\nstages:${GOOD_GLUE}${GOOD_GLUE}`);
    const issue = onlyIssue(rejection(() => loadPipelineFile(file)));
    expect(issue).toMatchObject({ stage: 'transform', field: 'id', received: 'transform' });
    expect(issue.fix).toMatch(/its own id/);
  });

  test('unknown dependsOn lists the ids that exist', () => {
    const file = writePipeline(
      'dep',
      `name: sales\nstages:${GOOD_GLUE}  - id: report\n    kind: athena.query\n    dependsOn: [transfrom]\n    params: { QueryString: "SELECT 1" }\n`,
    );
    const issue = onlyIssue(rejection(() => loadPipelineFile(file)));
    expect(issue).toMatchObject({ stage: 'report', field: 'dependsOn[0]', received: 'transfrom' });
    expect(issue.fix).toContain('transform');
  });

  test('a cycle is shown in full', () => {
    const file = writePipeline(
      'cycle',
      `name: sales
stages:
  - { id: a, kind: glue.job, dependsOn: [c], params: { JobName: a } }
  - { id: b, kind: glue.job, dependsOn: [a], params: { JobName: b } }
  - { id: c, kind: glue.job, dependsOn: [b], params: { JobName: c } }
`,
    );
    const issue = onlyIssue(rejection(() => loadPipelineFile(file)));
    expect(issue.field).toBe('dependsOn');
    expect(issue.problem).toMatch(/cycle: (a|b|c) -> .* -> \1/);
    expect(issue.received).toHaveLength(4);
  });

  test('unknown template name, with the field path and the names that exist', () => {
    const file = writePipeline(
      'template',
      `name: sales\nstages:\n  - id: transform\n    kind: glue.job\n    params:\n      JobName: sales-etl\n      Arguments:\n        "--day": "{{ ds }}"\n        "--hour": "{{ hour }}"\n`,
    );
    const issue = onlyIssue(rejection(() => loadPipelineFile(file)));
    expect(issue).toMatchObject({ stage: 'transform', field: 'params.Arguments.--hour', received: '{{ hour }}' });
    expect(issue.problem).toContain('{{ hour }}');
    expect(issue.fix).toContain('{{ ds_nodash }}');
  });

  test('missing required param names the AWS API it belongs to', () => {
    const file = writePipeline(
      'missing',
      `name: sales\nstages:\n  - id: transform\n    kind: glue.job\n    params: { Arguments: { "--x": "1" } }\n`,
    );
    const issue = onlyIssue(rejection(() => loadPipelineFile(file)));
    expect(issue).toMatchObject({ stage: 'transform', field: 'params.JobName' });
    expect(issue.problem).toContain('Glue StartJobRun');
    expect(issue.fix).toContain('params.JobName');
  });

  test('s3.put needs exactly one of Body and BodyFile', () => {
    const both = rejection(() =>
      definePipeline({
        name: 'p',
        stages: [
          { id: 'put', kind: 's3.put', dependsOn: [], params: { Bucket: 'b', Key: 'k', Body: 'x', BodyFile: 'f' } },
        ],
      }),
    );
    expect(onlyIssue(both).problem).toMatch(/only one/);
  });

  test('ClientRequestToken is Sluice’s to set', () => {
    const err = rejection(() =>
      definePipeline({
        name: 'p',
        stages: [
          {
            id: 'q',
            kind: 'athena.query',
            dependsOn: [],
            params: { QueryString: 'SELECT 1', ClientRequestToken: 'mine' },
          },
        ],
      }),
    );
    expect(onlyIssue(err)).toMatchObject({ field: 'params.ClientRequestToken', received: 'mine' });
  });

  test('misspelt field is reported as unknown, not ignored', () => {
    const file = writePipeline(
      'typo',
      `name: sales\nstages:\n  - id: transform\n    kind: glue.job\n    depends_on: [x]\n    params: { JobName: j }\n`,
    );
    const issue = onlyIssue(rejection(() => loadPipelineFile(file)));
    expect(issue.stage).toBe('transform');
    expect(issue.problem).toContain('"depends_on"');
  });

  test('several problems are reported together', () => {
    const err = rejection(() =>
      definePipeline({
        name: 'p',
        stages: [
          { id: 'a', kind: 'nope', params: {} },
          { id: 'b', kind: 'glue.job', dependsOn: ['zz'], params: {} },
        ],
      }),
    );
    expect(err.issues.map((i) => `${i.stage}:${i.field}`).sort()).toEqual([
      'a:kind',
      'b:dependsOn[0]',
      'b:params.JobName',
    ]);
  });

  test.each([
    ['2024-02-30', /not a day of the calendar/],
    ['2023-02-29', /not a day of the calendar/],
    ['2024-13-01', /not a day of the calendar/],
    ['24-03-01', /YYYY-MM-DD/],
    ['yesterday', /YYYY-MM-DD/],
  ])('invalid date %s', (value, problem) => {
    const issue = onlyIssue(rejection(() => validateLogicalDate(value)));
    expect(issue).toMatchObject({ field: '--date', received: value });
    expect(issue.problem).toMatch(problem);
  });

  test('a leap day is a valid date', () => {
    expect(validateLogicalDate('2024-02-29')).toBe('2024-02-29');
  });

  test('a valid file loads with BodyFile resolved next to it', () => {
    const file = writePipeline(
      'good',
      `name: sales\nstages:\n  - id: land\n    kind: s3.put\n    params: { Bucket: b, Key: "raw/{{ ds }}.csv", BodyFile: data/x.csv }\n${GOOD_GLUE}    dependsOn: [land]\n`,
    );
    const def = loadPipelineFile(file);
    expect(def.stages.map((s) => s.id)).toEqual(['land', 'transform']);
    expect(def.stages[0]?.params.BodyFile).toBe(path.join(dir, 'data/x.csv'));
    expect(def.stages[1]?.dependsOn).toEqual(['land']);
  });
});

describe('pools and priority in a pipeline file', () => {
  test('pool on a kind that holds none is refused with how to fix it; on a forEach stage it loads', () => {
    const err = rejection(() =>
      definePipeline({
        name: 'pooled',
        stages: [
          { id: 'landed', kind: 's3.wait', params: { Bucket: 'b', Key: 'k' }, pool: 'warehouse' },
          { id: 'each', kind: 'glue.job', forEach: { items: ['a'] }, params: { JobName: 'j' }, pool: 'warehouse' },
        ],
      }),
    );
    expect(err.issues.map((i) => [i.stage, i.field, i.received])).toEqual([['landed', 'pool', 'warehouse']]);
    expect(err.issues[0]?.problem).toMatch(/^s3\.wait cannot take a pool/);
    expect(err.issues[0]?.fix).toBe('remove pool from this stage');
    // Each item of a forEach stage holds a slot of its pool while its job runs.
    const p = definePipeline({
      name: 'pooled',
      stages: [
        { id: 'each', kind: 'glue.job', forEach: { items: ['a'] }, params: { JobName: 'j' }, pool: 'warehouse' },
      ],
    });
    expect(p.stages[0]?.pool).toBe('warehouse');
  });

  test('a pool name with a space and a priority of 9: the accepted forms', () => {
    const err = rejection(() =>
      definePipeline({
        name: 'pooled',
        priority: 9,
        stages: [{ id: 'named', kind: 'glue.job', params: { JobName: 'j' }, pool: 'has space' }],
      }),
    );
    expect(err.issues.find((i) => i.field.includes('pool'))?.problem).toMatch(/expected a pool name/);
    expect(err.issues.find((i) => i.field === 'priority')?.problem).toMatch(/1 \(first\) to 5 \(last\)|1.*5/);
  });

  test('pool: none opts a stage out of its default pool; a named pool and a priority load', () => {
    const p = definePipeline({
      name: 'pooled',
      priority: 2,
      stages: [
        { id: 'a', kind: 'glue.job', params: { JobName: 'j' }, pool: 'none' },
        { id: 'b', kind: 'glue.job', params: { JobName: 'j' }, pool: 'warehouse' },
        { id: 'c', kind: 's3.wait', params: { Bucket: 'b', Key: 'k' }, pool: 'none' },
      ],
    });
    expect(p.stages.map((s) => s.pool)).toEqual(['none', 'warehouse', 'none']);
    expect(p.priority).toBe(2);
  });
});

describe('notify: destinations are checked before anything starts', () => {
  const stages = [{ id: 't', kind: 'glue.job', params: { JobName: 'j' } }];
  test('SNS, EventBridge, webhook and secret destinations read', () => {
    const def = definePipeline({
      name: 'told',
      stages,
      notify: [
        { to: 'arn:aws:sns:eu-west-1:123456789012:data-alerts' },
        { to: 'arn:aws:events:eu-west-1:123456789012:event-bus/data', on: ['failed', 'late'] },
        { to: 'https://hooks.slack.com/services/T/B/X', on: ['succeeded'] },
        { to: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-hook' },
      ],
    });
    expect(def.notify).toHaveLength(4);
  });

  test.each([
    [[{ to: 'http://hooks.example.com/x' }], 'notify[0].to', 'must be https'],
    [[{ to: 'arn:aws:sqs:eu-west-1:123456789012:q' }], 'notify[0].to', 'cannot notify'],
    [[{ to: 'https://h.example/x', on: ['exploded'] }], 'notify[0].on', 'not an event'],
    ['https://h.example/x', 'notify', 'a list'],
  ])('%j is refused at %s with the value and a fix', (notify, field, problem) => {
    const issue = onlyIssue(rejection(() => definePipeline({ name: 'told', stages, notify })));
    expect(issue.field).toBe(field);
    expect(issue.problem).toContain(problem);
    expect(issue.fix.length).toBeGreaterThan(10);
  });
});
