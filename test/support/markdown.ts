/**
 * The documentation as the docs tests read it: README.md, docs/**\/*.md and each kind's page
 * (kinds/<folder>/README.md), with their fenced code blocks, links and heading anchors. Plain text
 * parsing, enough for the Markdown these files use (GitHub's rendering is the reference).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

/** Every documentation file, relative to the repository root, in a stable order. */
export function docFiles(): string[] {
  const out = ['README.md'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.md')) out.push(rel);
    }
  };
  if (existsSync(path.join(ROOT, 'docs'))) walk('docs');
  if (existsSync(path.join(ROOT, 'kinds')))
    for (const entry of readdirSync(path.join(ROOT, 'kinds'), { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    ))
      if (entry.isDirectory() && existsSync(path.join(ROOT, 'kinds', entry.name, 'README.md')))
        out.push(`kinds/${entry.name}/README.md`);
  return out;
}

export const readDoc = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

export interface CodeBlock {
  /** The documentation file, relative to the root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's info string's first word (`yaml`, `bash`, ...), lower-case; '' when none. */
  lang: string;
  /** The block's content, with the fence's indentation removed. */
  text: string;
  /** The HTML comment on the last non-blank line before the fence (`fragment`, `file: x.yaml`), if any. */
  marker?: string;
}

const FENCE = /^( *)(`{3,}|~{3,})\s*([^\s`]*)/;
const MARKER = /^\s*<!--\s*(.*?)\s*-->\s*$/;

/** The fenced code blocks of a Markdown text, in order. */
export function codeBlocks(file: string, text: string): CodeBlock[] {
  const lines = text.split('\n');
  const out: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string);
    if (!open) continue;
    const [, indent = '', fence = '', info = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j] as string;
      const trimmed = l.trimStart();
      if (trimmed.startsWith(fence) && trimmed.slice(fence.length).trim() === '' && trimmed[0] === fence[0]) break;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    let k = i - 1;
    while (k >= 0 && (lines[k] as string).trim() === '') k--;
    const marker = k >= 0 ? MARKER.exec(lines[k] as string)?.[1] : undefined;
    out.push({ file, line: i + 1, lang: info.toLowerCase(), text: body.join('\n'), ...(marker ? { marker } : {}) });
    i = j;
  }
  return out;
}

/** The lines of a Markdown text with those of fenced code blocks blanked (line numbers kept). */
function outsideFences(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((l) => {
    const open = FENCE.exec(l);
    if (fence === undefined && open) {
      fence = open[2];
      return '';
    }
    if (fence !== undefined) {
      const trimmed = l.trimStart();
      if (trimmed.startsWith(fence) && trimmed.slice(fence.length).trim() === '') fence = undefined;
      return '';
    }
    return l;
  });
}

/** The text outside fenced code blocks, inline code spans neutralised (where links are). */
export function prose(text: string): string {
  return outsideFences(text)
    .map((l) => l.replace(/(`+)[\s\S]*?\1/g, (code) => code.replace(/[[\]()]/g, ' ')))
    .join('\n');
}

export interface Link {
  file: string;
  line: number;
  target: string;
}

/** Inline links and images `[text](target)` and reference definitions `[label]: target`. */
export function links(file: string, text: string): Link[] {
  const out: Link[] = [];
  prose(text)
    .split('\n')
    .forEach((l, i) => {
      for (const m of l.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
        out.push({ file, line: i + 1, target: m[1] as string });
      const def = /^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(l);
      if (def) out.push({ file, line: i + 1, target: def[1] as string });
    });
  return out;
}

/** The anchors GitHub gives a Markdown file's headings (github-slugger: `## Fan-out: \`forEach\`` → `fan-out-foreach`). */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const l of outsideFences(text)) {
    const h = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
    if (!h) continue;
    const plain = (h[1] as string)
      .replace(/`([^`]*)`/g, '$1')
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .replace(/\*\*|__|\*/g, '');
    const base = plain
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}
