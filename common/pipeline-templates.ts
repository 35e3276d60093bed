/**
 * Load-time checks of what a pipeline's templates and conditions refer to: a declared parameter,
 * a stage upstream of the one using it (directly or transitively) and a field its kind declares,
 * a condition with an operator. Every problem is reported with the value and a fix ("did you mean").
 */
import { KINDS, type KindDescriptor } from '../kinds';
import { TEMPLATE_NAMES } from './constants';
import { FAN_OUT_OUTPUTS } from './fan-out';
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
  const fannedOut = new Set(doc.stages.filter((s) => s.forEach).map((s) => s.id));
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
        // A fan-out stage's output is its counts, failures and item outputs, whatever its kind.
        const fields = fannedOut.has(ref.stage) ? FAN_OUT_OUTPUTS : outputsOf(kinds.get(ref.stage) as string);
        const [first] = ref.path;
        if (!fields || first === undefined) return;
        if (typeof first !== 'string' || !fields.includes(first)) {
          const near = typeof first === 'string' ? closest(first, fields) : undefined;
          const what = fannedOut.has(ref.stage) ? `the fan-out (forEach) stage "${ref.stage}"` : kinds.get(ref.stage);
          return issue(
            `${what} has no output field "${String(first)}"`,
            `${near ? `did you mean ${near}? ` : ''}its output fields: ${fields.join(', ')}`,
          );
        }
        return;
      }
      case 'item':
      case 'item_index':
        if (stage.forEach && field.startsWith('params')) return;
        return issue(
          'only known in a stage with forEach',
          'give the stage forEach (items: or s3:), or use another template',
        );
      case 'date':
        return;
    }
  };

  for (const stage of doc.stages) {
    // A sub-pipeline's own templates are its run's (it is validated by itself, by its kind's check).
    const sub = (KINDS as Record<string, KindDescriptor | undefined>)[stage.kind]?.subPipeline;
    const own = sub ? { ...stage.params, [sub.pipeline]: undefined } : stage.params;
    walkStrings(own, 'params', (text, path) => {
      for (const t of findTemplates(text)) check(stage, path, text, t.ref, t.text);
    });
    if (stage.forEach) forEachIssues(stage, issues, (field, text, ref, shown) => check(stage, field, text, ref, shown));
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

/** forEach: exactly one source; `items` as a list or one template; its templates checked like params. */
function forEachIssues(
  stage: StageDefinition,
  issues: PipelineIssue[],
  check: (field: string, text: string, ref: TemplateRef, shown: string) => void,
): void {
  const spec = stage.forEach;
  if (!spec) return;
  const sources = (['s3', 'items'] as const).filter((k) => spec[k] !== undefined);
  if (sources.length !== 1)
    issues.push({
      stage: stage.id,
      field: 'forEach',
      received: sources.length ? sources : spec,
      problem: sources.length ? 'forEach takes one source, not both' : 'forEach needs a source',
      fix: 'give forEach.s3 ({ Bucket, Prefix }: the keys under the prefix) or forEach.items (a list, or one template that yields a list)',
    });
  if (typeof spec.items === 'string') {
    const found = findTemplates(spec.items);
    if (found.length !== 1 || !/^\s*\{\{[^{}]*\}\}\s*$/.test(spec.items))
      issues.push({
        stage: stage.id,
        field: 'forEach.items',
        received: spec.items,
        problem: 'expected a list, or exactly one template that yields a list',
        fix: 'write e.g. items: "{{ params.tables }}" or items: "{{ stages.list.output.rows }}", or a YAML list',
      });
  }
  walkStrings({ s3: spec.s3, items: spec.items }, 'forEach', (text, path) => {
    for (const t of findTemplates(text)) {
      if (t.ref.ns === 'item' || t.ref.ns === 'item_index')
        issues.push({
          stage: stage.id,
          field: path,
          received: text,
          problem: `${t.text}: the items are not known yet where they are listed`,
          fix: 'use {{ item }} in params only',
        });
      else check(path, text, t.ref, t.text);
    }
  });
}
