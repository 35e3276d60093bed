/**
 * Every relative link of the documentation (README.md, docs/**\/*.md, kinds/<folder>/README.md)
 * resolves: to a file or folder of the repository, and, with a `#fragment` into a Markdown file, to
 * one of that file's headings. Links to other sites (https:, mailto:) are not followed. And every
 * stage kind has its page, linked from the index docs/kinds.md.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { STAGE_KINDS } from '../../client';
import { anchors, docFiles, links, readDoc, ROOT, type Link } from '../support/markdown';

const files = docFiles();
const all: Link[] = files.flatMap((f) => links(f, readDoc(f)));
const isExternal = (target: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(target);

/** What is wrong with a link, or undefined when it resolves. */
function problem(link: Link): string | undefined {
  const [rawPath = '', fragment] = link.target.split('#', 2) as [string, string | undefined];
  const pathPart = decodeURIComponent(rawPath.split('?')[0] as string);
  if (pathPart.startsWith('/')) return 'absolute path: write it relative to this file';
  const target = pathPart === '' ? path.join(ROOT, link.file) : path.resolve(ROOT, path.dirname(link.file), pathPart);
  const rel = path.relative(ROOT, target);
  if (rel.startsWith('..')) return 'points outside the repository';
  if (!existsSync(target)) return `no such file or folder: ${rel}`;
  if (fragment !== undefined && statSync(target).isFile() && target.endsWith('.md')) {
    if (!anchors(readDoc(rel)).has(fragment)) return `no heading #${fragment} in ${rel}`;
  }
  return undefined;
}

test('the documentation is README.md, docs/ and one page per stage kind', () => {
  expect(files).toContain('README.md');
  expect(files).toContain('docs/kinds.md');
  for (const kind of STAGE_KINDS) expect(files).toContain(`kinds/${kind.replace('.', '-')}/README.md`);
});

test('every relative link resolves to a file of the repository (and a #heading to a heading)', () => {
  const relative = all.filter((l) => !isExternal(l.target));
  // Enough links that a parser reading none would fail: the index alone links every kind's page.
  expect(relative.length).toBeGreaterThan(STAGE_KINDS.length * 2);
  const broken = relative.flatMap((l) => {
    const p = problem(l);
    return p ? [`${l.file}:${l.line}: (${l.target}) ${p}`] : [];
  });
  expect(broken).toEqual([]);
});

test("docs/kinds.md links every kind's page, and every page links back to the index", () => {
  const index = links('docs/kinds.md', readDoc('docs/kinds.md')).map((l) => l.target);
  for (const kind of STAGE_KINDS) {
    const folder = kind.replace('.', '-');
    expect(index).toContain(`../kinds/${folder}/README.md`);
    const page = `kinds/${folder}/README.md`;
    expect(links(page, readDoc(page)).map((l) => l.target)).toContain('../../docs/kinds.md');
  }
});

test('the link checker finds broken links and headings (it is not vacuous)', () => {
  const at = (target: string): Link => ({ file: 'docs/kinds.md', line: 1, target });
  expect(problem(at('../kinds/glue-job/README.md'))).toBeUndefined();
  expect(problem(at('../kinds/no-such-kind/README.md'))).toMatch(/no such file/);
  expect(problem(at('pipelines.md#no-such-heading'))).toMatch(/no heading/);
  expect(problem(at('../../outside.md'))).toMatch(/outside the repository/);
  expect(
    anchors('## Fan-out: `forEach`\n### Retries, timeouts, polling — defaults and why\n## Fan-out: `forEach`'),
  ).toEqual(new Set(['fan-out-foreach', 'retries-timeouts-polling--defaults-and-why', 'fan-out-foreach-1']));
});
