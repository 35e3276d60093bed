/**
 * Load-time checks of what a pipeline's templates and conditions refer to: a declared parameter,
 * a stage upstream of the one using it (directly or transitively) and a field its kind declares,
 * a condition with an operator. Every problem is reported with the value and a fix ("did you mean").
 */
import { TEMPLATE_NAMES } from './constants';
import { closest } from './params';
import type { PipelineDefinition, StageDefinition } from './pipeline';
import type { PipelineIssue } from './pipeline-structure';
import { findTemplates, parseCondition, walkStrings, type TemplateRef } from './templating';

/** Every stage id upstream of each stage (transitively through dependsOn). */
export function upstreamOf(stages: readonly Pick<StageDefinition, 'id' | 'dependsOn'>[]): Map<string, Set<string>> {
  const byId = new Map(stages.map((s) => [s.id, s]));
  const memo = new Map<string, Set<string>>();
  const visit = (id: string, seen: Set<string>): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const out = new Set<string>();
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      if (seen.has(dep)) continue; // a cycle: reported by structureIssues
      out.add(dep);
      for (const a of visit(dep, new Set([...seen, dep]))) out.add(a);
    }
    memo.set(id, out);
    return out;
  };
  for (const s of stages) visit(s.id, new Set([s.id]));
  return memo;
}

const NAMESPACES = [
  ...TEMPLATE_NAMES.map((n) => `{{ ${n} }}`),
  '{{ params.<name> }}',
  '{{ stages.<id>.output.<field> }}',
  '{{ item }}',
  '{{ item_index }}',
];

export function templateIssues(
  doc: PipelineDefinition,
  outputsOf: (kind: string) => readonly string[] | undefined,
): PipelineIssue[] {
  const issues: PipelineIssue[] = [];
  const ids = doc.stages.map((s) => s.id);
  const kinds = new Map(doc.stages.map((s) => [s.id, s.kind]));
  const upstream = upstreamOf(doc.stages);
  const params = Object.keys(doc.params ?? {});

  const check = (stage: StageDefinition, field: string, text: string, ref: TemplateRef, shown: string): void => {
    const issue = (problem: string, fix: string): void => {
      issues.push({ stage: stage.id, field, received: text, problem: `${shown}: ${problem}`, fix });
    };
    switch (ref.ns) {
      case 'unknown':
        return issue(ref.why, `use one of ${NAMESPACES.join(', ')}`);
      case 'params': {
        if (params.includes(ref.name)) return;
        const near = closest(ref.name, params);
        return issue(
          params.length ? `no parameter "${ref.name}" is declared` : 'the pipeline declares no params',
          near
            ? `did you mean {{ params.${near} }}?`
            : `declare it under params: (e.g. params: { ${ref.name}: { type: string, default: ... } })`,
        );
      }
      case 'stages': {
        if (!kinds.has(ref.stage)) {
          const near = closest(ref.stage, ids);
          return issue(
            `no stage has the id "${ref.stage}"`,
            near ? `did you mean {{ stages.${near}.output... }}?` : `use one of ${ids.join(', ')}`,
          );
        }
        if (ref.stage === stage.id) return issue('a stage cannot read its own output', 'read an upstream stage');
        if (!upstream.get(stage.id)?.has(ref.stage))
          return issue(
            `stage "${ref.stage}" is not upstream of "${stage.id}", so its output may not exist yet`,
            `add "${ref.stage}" to dependsOn of "${stage.id}" (directly, or through a stage between them)`,
          );
        const fields = outputsOf(kinds.get(ref.stage) as string);
        const [first] = ref.path;
        if (!fields || first === undefined) return;
        if (typeof first !== 'string' || !fields.includes(first)) {
          const near = typeof first === 'string' ? closest(first, fields) : undefined;
          return issue(
            `${kinds.get(ref.stage)} has no output field "${String(first)}"`,
            `${near ? `did you mean ${near}? ` : ''}its output fields: ${fields.join(', ')}`,
          );
        }
        return;
      }
      case 'item':
      case 'item_index':
        return issue(
          'only known in a stage with forEach',
          'give the stage forEach (items: or s3:), or use another template',
        );
      case 'date':
        return;
    }
  };

  for (const stage of doc.stages) {
    walkStrings(stage.params, 'params', (text, path) => {
      for (const t of findTemplates(text)) check(stage, path, text, t.ref, t.text);
    });
    if (stage.if !== undefined) {
      const cond = parseCondition(stage.if);
      if (typeof cond === 'string')
        issues.push({
          stage: stage.id,
          field: 'if',
          received: stage.if,
          problem: cond,
          fix: 'write one template, an operator (== != > >= < <=) and a value, e.g. "{{ params.full_refresh }} == true"',
        });
      else check(stage, 'if', stage.if, cond.ref, cond.template);
    }
    if (stage.trigger === 'one_failed' && stage.dependsOn.length === 0)
      issues.push({
        stage: stage.id,
        field: 'trigger',
        received: stage.trigger,
        problem: 'one_failed runs when an upstream stage failed, and this stage has none',
        fix: 'add dependsOn: the stages whose failure it handles',
      });
  }
  return issues;
}
