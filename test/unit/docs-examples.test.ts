/**
 * Every pipeline example of the documentation validates, with the code `sluice validate` runs:
 * loadPipelineFile (the YAML parse, sub-pipeline files embedded, validatePipeline) on the block
 * written to a file. No stack: `sluice validate`'s only remote check, that pools named by hand
 * exist, needs Temporal and is left to it.
 *
 * Every ```yaml block of README.md, docs/ and kinds/<folder>/README.md is a whole pipeline file,
 * except where the line before it says otherwise:
 *   <!-- fragment -->            part of a pipeline (a stage, a params block): not validated;
 *   <!-- file: load-table.yaml --> a pipeline file that another block of the same page names
 *                                (pipeline.run): written under that name, and validated too.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadPipelineFile, STAGE_KINDS } from '../../client';
import { codeBlocks, docFiles, readDoc, type CodeBlock } from '../support/markdown';

/** The whole pipelines the documentation shows today; fewer means examples were lost or marked fragments. */
const MIN_PIPELINES = 26;

const yamlBlocks: CodeBlock[] = docFiles().flatMap((f) =>
  codeBlocks(f, readDoc(f)).filter((b) => b.lang === 'yaml' || b.lang === 'yml'),
);
const isFragment = (b: CodeBlock): boolean => b.marker === 'fragment';
const fileName = (b: CodeBlock): string | undefined => /^file:\s*(\S+)$/.exec(b.marker ?? '')?.[1];
const pipelines = yamlBlocks.filter((b) => !isFragment(b));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-docs-examples-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Writes each page's blocks into a folder of its own (named ones under their names) and validates each. */
function validateAll(): { block: CodeBlock; error?: string }[] {
  const results: { block: CodeBlock; error?: string }[] = [];
  for (const file of new Set(pipelines.map((b) => b.file))) {
    const pageDir = path.join(dir, file.replace(/[/.]/g, '_'));
    mkdirSync(pageDir, { recursive: true });
    const blocks = pipelines.filter((b) => b.file === file);
    const paths = blocks.map((b) => path.join(pageDir, fileName(b) ?? `example-line-${b.line}.yaml`));
    blocks.forEach((b, i) => writeFileSync(paths[i] as string, b.text));
    blocks.forEach((block, i) => {
      try {
        loadPipelineFile(paths[i] as string);
        results.push({ block });
      } catch (err) {
        results.push({ block, error: (err as Error).message });
      }
    });
  }
  return results;
}

test('every yaml block of the documentation is a pipeline that validates, or is marked a fragment', () => {
  const failed = validateAll().flatMap(({ block, error }) =>
    error ? [`${block.file}:${block.line}: ${error.replace(/\S*sluice-docs-examples-\S*?\//g, '')}`] : [],
  );
  expect(failed).toEqual([]);
  expect(pipelines.length).toBeGreaterThanOrEqual(MIN_PIPELINES);
});

test("every kind's page shows a whole pipeline with a stage of that kind", () => {
  for (const kind of STAGE_KINDS) {
    const page = `kinds/${kind.replace('.', '-')}/README.md`;
    const kinds = pipelines
      .filter((b) => b.file === page)
      .flatMap((b) => ((parse(b.text) as { stages?: { kind?: string }[] })?.stages ?? []).map((s) => s.kind));
    expect({ page, shows: kinds.includes(kind) }).toEqual({ page, shows: true });
  }
});

test('a block that is not a valid pipeline fails (the check is not vacuous)', () => {
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, 'name: bad\nstages:\n  - id: a\n    kind: glue.job\n    depends_on: [b]\n    params: {}\n');
  expect(() => loadPipelineFile(bad)).toThrow(/depends_on/);
  const [fragment, named] = codeBlocks(
    'x.md',
    '<!-- fragment -->\n\n```yaml\n- id: a\n```\n<!-- file: sub.yaml -->\n```yaml\nname: sub\n```\n',
  );
  expect([fragment && isFragment(fragment), named && fileName(named)]).toEqual([true, 'sub.yaml']);
});
