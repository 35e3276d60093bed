/**
 * The shape of a pipeline that every run depends on: unique stage ids, known kinds, dependsOn
 * naming stages of the pipeline, no cycle. Pure and free of zod, so the workflow checks it too
 * (a pipeline started without the CLI is refused with the CLI's own message) without bundling the
 * schema. validatePipeline (pipeline.ts) reports these problems through the same function.
 */
import { STAGE_KINDS, type StageKind } from './constants';

/** One thing wrong with a pipeline, said so a user can fix it. */
export interface PipelineIssue {
  stage?: string;
  field: string;
  received?: unknown;
  problem: string;
  fix: string;
}

interface StageShape {
  id: string;
  kind: string;
  dependsOn: readonly string[];
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The message of a PipelineValidationError: every problem with its stage, field, value and fix. */
export function formatIssues(source: string, issues: readonly PipelineIssue[]): string {
  const lines = issues.map((i) => {
    const where = i.stage !== undefined ? `stage "${i.stage}", ${i.field}` : i.field;
    const got = 'received' in i ? ` (received ${show(i.received)})` : '';
    return `  - ${where}: ${i.problem}${got}.\n    Fix: ${i.fix}`;
  });
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return `${source} is not a valid pipeline (${count}):\n${lines.join('\n')}`;
}

export function isKind(kind: string): kind is StageKind {
  return (STAGE_KINDS as readonly string[]).includes(kind);
}

/** Stage ids in one order that respects dependsOn, or the ids on a cycle. */
export function topologicalOrder(
  stages: readonly Pick<StageShape, 'id' | 'dependsOn'>[],
): { order: string[] } | { cycle: string[] } {
  const byId = new Map(stages.map((s) => [s.id, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const order: string[] = [];
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const st = state.get(id);
    if (st === 'done') return undefined;
    if (st === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      if (!byId.has(dep)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    order.push(id);
    return undefined;
  };
  for (const s of stages) {
    const cycle = visit(s.id);
    if (cycle) return { cycle };
  }
  return { order };
}

/** Duplicate ids, unknown kinds, dependsOn that names no stage (or the stage itself), cycles. */
export function structureIssues(stages: readonly StageShape[]): PipelineIssue[] {
  const issues: PipelineIssue[] = [];
  const seen = new Set<string>();
  for (const stage of stages) {
    if (seen.has(stage.id)) {
      issues.push({
        stage: stage.id,
        field: 'id',
        received: stage.id,
        problem: 'this id is used by another stage too',
        fix: 'give every stage its own id',
      });
    }
    seen.add(stage.id);
  }
  const ids = new Set(stages.map((s) => s.id));
  for (const stage of stages) {
    if (!isKind(stage.kind)) {
      issues.push({
        stage: stage.id,
        field: 'kind',
        received: stage.kind,
        problem: 'unknown stage kind',
        fix: `use one of ${STAGE_KINDS.join(', ')}`,
      });
    }
    (stage.dependsOn ?? []).forEach((dep, i) => {
      if (!ids.has(dep)) {
        issues.push({
          stage: stage.id,
          field: `dependsOn[${i}]`,
          received: dep,
          problem: 'no stage has this id',
          fix: `use the id of a stage of this pipeline (${[...ids].join(', ')})`,
        });
      } else if (dep === stage.id) {
        issues.push({
          stage: stage.id,
          field: `dependsOn[${i}]`,
          received: dep,
          problem: 'a stage cannot depend on itself',
          fix: 'remove it',
        });
      }
    });
  }
  if (!issues.some((i) => i.field.startsWith('dependsOn'))) {
    const topo = topologicalOrder(stages);
    if ('cycle' in topo) {
      issues.push({
        stage: topo.cycle[0],
        field: 'dependsOn',
        received: topo.cycle,
        problem: `the stages depend on each other in a cycle: ${topo.cycle.join(' -> ')}`,
        fix: 'remove one dependsOn entry on that cycle',
      });
    }
  }
  return issues;
}
