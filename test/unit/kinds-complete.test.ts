/**
 * Every kind is complete and lives in its folder (kinds/<kind>/): its descriptor says everything
 * the rest of the code asks (states, events, usage, stop call, IAM actions), its handler matches
 * it, its docs page is there, and no source file outside kinds/ names a kind as a literal.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { DEFAULT_PRICES } from '../../common/prices';
import { stageEventRules } from '../../common/stage-events';
import { isNone, KINDS, STAGE_KINDS, terminalStates, type KindDescriptor } from '../../kinds';
import { STAGE_HANDLERS } from '../../kinds/handlers';

const ROOT = path.resolve(__dirname, '../..');
const descriptors = Object.values(KINDS) as KindDescriptor[];
const folderOf = (kind: string) => kind.replace(/\./g, '-');
const OUTCOMES = new Set(['running', 'succeeded', 'failed', 'stopped', 'timeout']);

describe.each(descriptors.map((d) => [d.kind, d] as const))('%s', (kind, d) => {
  const handler = STAGE_HANDLERS[kind as keyof typeof STAGE_HANDLERS];

  test('is one folder: kind.ts, handler.ts and its docs page', () => {
    const dir = path.join(ROOT, 'kinds', folderOf(kind));
    for (const file of ['kind.ts', 'handler.ts', 'README.md']) expect(existsSync(path.join(dir, file))).toBe(true);
    expect(readFileSync(path.join(dir, 'README.md'), 'utf8')).toContain(kind);
    expect(handler.kind).toBe(kind);
  });

  test('every service state is mapped to an outcome', () => {
    if (isNone(d.states)) {
      expect(d.states.none.length).toBeGreaterThan(10);
      expect(handler.mode === 'job' ? handler.serviceStates : undefined).toBeUndefined();
      return;
    }
    for (const outcome of Object.values(d.states)) expect(OUTCOMES.has(outcome)).toBe(true);
    expect(terminalStates(d.states).length).toBeGreaterThan(0);
    expect(handler.mode).toBe('job');
    const service = handler.mode === 'job' ? handler.serviceStates : undefined;
    expect(service?.length).toBeGreaterThan(0);
    expect([...new Set(service)].sort()).toEqual(Object.keys(d.states).sort());
  });

  test('its events are declared, or it says why it is polled', () => {
    const watched = handler.mode === 'job' && handler.watchKey !== undefined;
    if (isNone(d.events)) {
      expect(watched).toBe(false);
      expect(d.events.none.length).toBeGreaterThan(10);
      return;
    }
    expect(watched).toBe(true);
    expect(d.events.length).toBeGreaterThan(0);
    const rules = stageEventRules([kind]);
    expect(rules.map((r) => r.detailType).sort()).toEqual(d.events.map((e) => e.detailType).sort());
    for (const e of d.events) {
      expect(e.ids.length).toBeGreaterThan(0);
      const table = e.states ?? (isNone(d.states) ? {} : d.states);
      const rule = rules.find((r) => r.detailType === e.detailType);
      expect(rule?.terminal).toEqual(terminalStates(table));
      expect(rule?.terminal.length).toBeGreaterThan(0);
    }
  });

  test('its usage has a price, or it says there is no figure', () => {
    if (isNone(d.usage)) expect(d.usage.none.length).toBeGreaterThan(10);
    else {
      expect(DEFAULT_PRICES[d.usage.prices]).toBeDefined();
      expect(d.usage.figures.length).toBeGreaterThan(10);
    }
  });

  test('its stop call is the handler’s, or it says why there is nothing to stop', () => {
    const stops = handler.mode === 'job' && handler.stop !== undefined;
    if (isNone(d.stop)) {
      expect(stops).toBe(false);
      expect(d.stop.none.length).toBeGreaterThan(10);
    } else {
      expect(stops).toBe(true);
      expect(d.stop).toMatch(/^[A-Z][A-Za-z0-9 ]+ [A-Z][A-Za-z]+$/);
    }
  });

  test('its IAM actions cover every action its grants give', () => {
    // Every `service:Action` literal in the grants' code (the resources' condition keys aside).
    const inGrants = [...d.grants.toString().matchAll(/['"`]([a-z0-9-]+:[A-Z][A-Za-z]+)['"`]/g)]
      .map((m) => m[1] as string)
      .filter((a) => !/^(aws|iam):(TagKeys|PassedToService)$/.test(a));
    if (isNone(d.iam)) {
      expect(inGrants).toEqual([]);
      expect(d.iam.none.length).toBeGreaterThan(10);
      return;
    }
    expect(d.iam.length).toBeGreaterThan(0);
    expect([...new Set(inGrants)].filter((a) => !(d.iam as readonly string[]).includes(a))).toEqual([]);
    for (const a of d.iam) expect(a).toMatch(/^[a-z0-9-]+:[A-Z][A-Za-z]+$/);
  });
});

test('one handler per descriptor, and a folder for each and no other', () => {
  expect(Object.keys(STAGE_HANDLERS).sort()).toEqual([...STAGE_KINDS].sort());
  const folders = readdirSync(path.join(ROOT, 'kinds'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  expect(folders).toEqual(STAGE_KINDS.map(folderOf).sort());
});

test("Glue's EXPIRED ends a job for the handler and for the event rule alike", () => {
  const [rule] = stageEventRules(['glue.job']);
  expect(rule?.terminal).toContain('EXPIRED');
});

/** The product's source: every TypeScript file outside test/, scripts/ (pipelines written as a user would) and kinds/. */
function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'cdk.out' ? [] : sourceFiles(rel);
    return /\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** The string literals and template texts of a file (comments are not literals). */
function literals(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) out.push(node.text);
    node.forEachChild(visit);
  };
  visit(source);
  return out;
}

/**
 * A literal that is a kind's name (what code branches on: `kind === '<kind>'`) or starts a key with
 * it (`<kind>/...`). Messages that mention a kind in a sentence are words to the user, not code.
 */
test('no source file outside kinds/ names a kind as a literal', () => {
  const dirs = ['workflows', 'activities', 'client', 'common', 'workers', 'plugin', 'infra', 'bin'];
  const files = dirs.filter((d) => existsSync(path.join(ROOT, d))).flatMap(sourceFiles);
  expect(files.length).toBeGreaterThan(100);
  const found = files.flatMap((f) =>
    literals(f).flatMap((text) =>
      STAGE_KINDS.filter((k) => text.trim() === k || text.startsWith(`${k}/`)).map((k) => `${f}: ${k}`),
    ),
  );
  expect(found).toEqual([]);
});
