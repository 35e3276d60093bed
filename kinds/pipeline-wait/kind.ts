import { logicalDateProblem } from '../../common/dates';
import { defineKind, PIPELINE_NAME, type ParamProblem } from '../types';

export const pipelineWait = defineKind({
  kind: 'pipeline.wait',
  states: { none: "a sensor on another run's workflow status" },
  events: { none: 'a sensor polls the other run through Temporal' },
  usage: { none: 'it starts no AWS job' },
  stop: { none: 'a sensor starts nothing' },
  iam: { none: 'it reads Temporal, not AWS' },
  noPool: 'it waits for another run and starts no AWS job',
  api: 'Temporal (no AWS calls)',
  outputs: ['workflowId', 'runId', 'status', 'closedAt'],
  required: [{ field: 'pipeline', hint: 'the name of the pipeline whose run to wait for, e.g. clickstream-ingest' }],
  // A templated value is checked once rendered, by the activity (activities/kinds/pipeline-wait.ts).
  check: (p) => {
    const out: ParamProblem[] = [];
    for (const field of Object.keys(p)) {
      if (field !== 'pipeline' && field !== 'date')
        out.push({
          field,
          received: p[field],
          problem: 'pipeline.wait takes only pipeline and date',
          fix: `remove ${field}, or correct its spelling (pipeline, date)`,
        });
    }
    const { pipeline, date } = p;
    if (pipeline !== undefined && pipeline !== null && pipeline !== '') {
      if (typeof pipeline !== 'string')
        out.push({ field: 'pipeline', received: pipeline, problem: 'expected a pipeline name', fix: 'quote it' });
      else if (!pipeline.includes('{{') && !PIPELINE_NAME.test(pipeline))
        out.push({
          field: 'pipeline',
          received: pipeline,
          problem: 'not a pipeline name: lower-case letters, digits, "_" or "-", starting with a letter or digit',
          fix: "give the other pipeline's name as in its file (name:)",
        });
    }
    if (date !== undefined) {
      const problem =
        typeof date !== 'string'
          ? 'expected a date written YYYY-MM-DD'
          : date.includes('{{')
            ? undefined
            : logicalDateProblem(date);
      if (problem)
        out.push({
          field: 'date',
          received: date,
          problem,
          fix: 'give the date of the run to wait for as YYYY-MM-DD or a template such as "{{ prev_ds }}" (quoted), or leave it out for the run\'s own date ({{ ds }})',
        });
    }
    return out;
  },
  sensor: true,
  // Waits through the worker's Temporal client: no AWS call, no grant.
  grants: () => [],
});
