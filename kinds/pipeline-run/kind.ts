import type { PipelineDefinition } from '../../common/pipeline';
import { resolveParams } from '../../common/params';
import { defineKind, type CheckContext, type ParamProblem } from '../types';

export const pipelineRun = defineKind({
  kind: 'pipeline.run',
  subPipeline: { pipeline: 'pipeline', params: 'params' },
  states: { none: "a child run: its stages' states are theirs" },
  events: { none: 'a child run: its own stages wait on their events' },
  usage: { none: 'a child run: its stages report their own usage' },
  stop: { none: 'cancelling the run cancels the child run, whose stages stop their jobs' },
  iam: { none: "the sub-pipeline's stages' grants" },
  noPool: 'it runs another pipeline, whose stages take their own pools (set pool on those stages)',
  api: 'Temporal (a child run of another pipeline; no AWS calls of its own)',
  outputs: ['workflowId', 'runId', 'status', 'stages'],
  required: [
    {
      field: 'pipeline',
      hint: 'the sub-pipeline file, relative to this one (e.g. ./load-table.yaml); in TypeScript its definePipeline(...)',
    },
  ],
  check: (p, ctx) => subPipelineProblems(p, ctx),
  childRun: true,
  grants: ({ p, stageGrants }) => {
    // A sub-pipeline's run: the grants of its own stages (its definition is embedded when it loads).
    const sub = p.pipeline as PipelineDefinition | undefined;
    if (!sub || typeof sub !== 'object' || !Array.isArray(sub.stages)) return [];
    return sub.stages.flatMap((s) => stageGrants(sub.name, s, sub.stages));
  },
});

/**
 * pipeline.run: `pipeline` is the sub-pipeline's definition (the loader replaced its file path with
 * it), valid in itself; `params` are the sub-pipeline's run parameters: declared names, literal
 * values of the declared type, every required one given.
 */
function subPipelineProblems(p: Record<string, unknown>, ctx: CheckContext): ParamProblem[] {
  const out: ParamProblem[] = [];
  for (const field of Object.keys(p))
    if (field !== 'pipeline' && field !== 'params')
      out.push({
        field,
        received: p[field],
        problem: 'pipeline.run takes only pipeline and params',
        fix: `remove ${field}, or correct its spelling (pipeline, params)`,
      });
  const sub = p.pipeline;
  if (sub === undefined || sub === null || sub === '') return out;
  if (typeof sub === 'string') {
    out.push({
      field: 'pipeline',
      received: sub,
      problem: 'a file path is read only when the pipeline is loaded from a file (sluice CLI, loadPipelineFile)',
      fix: 'in TypeScript give the sub-pipeline itself: pipeline: definePipeline({...}) or loadPipelineFile(path)',
    });
    return out;
  }
  const validated = ctx.validateSubPipeline(sub);
  if ('error' in validated) {
    out.push({
      field: 'pipeline',
      received: (sub as { name?: unknown }).name,
      problem: validated.error.replace(/\n/g, ' '),
      fix: 'fix the sub-pipeline file',
    });
    return out;
  }
  const def = validated.definition;
  const given = p.params;
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    out.push({
      field: 'params',
      received: given,
      problem: 'expected a map of name: value',
      fix: 'write params: { table: orders }',
    });
    return out;
  }
  // Templated values are checked when the run renders them (the sub-run refuses a wrong type).
  const literal = Object.fromEntries(
    Object.entries((given ?? {}) as Record<string, unknown>).filter(
      ([, v]) => !(typeof v === 'string' && v.includes('{{')),
    ),
  );
  const templated = Object.keys((given ?? {}) as Record<string, unknown>).filter((k) => !(k in literal));
  for (const issue of resolveParams(def.params, literal).issues) {
    const name = issue.field.replace(/^--param /, '');
    if (templated.includes(name)) continue;
    out.push({
      field: `params.${name}`,
      received: issue.received,
      problem: `${issue.problem} (sub-pipeline ${def.name})`,
      fix: issue.fix.replace(/--param (\w+)=(\S+)/, 'params: { $1: $2 }'),
    });
  }
  return out;
}
