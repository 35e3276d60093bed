/** Helpers of the payload-encryption tests: keys made at run time, raw histories, free ports. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The stack's temporal CLI (infra/local/stack.sh installs it), or TEMPORAL_BIN, as scripts/record-histories.ts. */
export const TEMPORAL_BIN =
  process.env.TEMPORAL_BIN ?? path.resolve(__dirname, '..', '..', '.sluice', 'venv', 'bin', 'temporal');

/** A fresh `keyId:base64key` entry (32 random bytes). */
export function newKeyEntry(id: string): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** `temporal workflow show -o json`: the history exactly as the server stores it (no codec) unless `extra` adds one. */
export async function rawHistory(workflowId: string, extra: string[] = [], address?: string): Promise<string> {
  const { stdout } = await run(
    TEMPORAL_BIN,
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--address',
      address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
      '--namespace',
      process.env.TEMPORAL_NAMESPACE ?? 'default',
      '-o',
      'json',
      ...extra,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

/**
 * Whether `marker` can be read anywhere in a JSON document: in any string, or in any string that
 * is base64 (payload data and metadata are), decoded — recursively, as payloads nest.
 */
export function readableIn(json: string, marker: string): string[] {
  const found: string[] = [];
  const visit = (v: unknown, path: string, depth: number): void => {
    if (typeof v === 'string') {
      if (v.includes(marker)) found.push(path);
      else if (depth < 4 && v.length >= 8 && /^[A-Za-z0-9+/]+={0,2}$/.test(v)) {
        const decoded = Buffer.from(v, 'base64').toString('utf8');
        if (decoded.includes(marker)) found.push(`${path} (base64)`);
        else if (decoded.trim().startsWith('{') || decoded.trim().startsWith('"')) {
          try {
            visit(JSON.parse(decoded), `${path} (base64 json)`, depth + 1);
          } catch {
            /* not JSON */
          }
        }
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${path}[${i}]`, depth));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) visit(x, `${path}.${k}`, depth);
  };
  visit(JSON.parse(json), '$', 0);
  return found;
}

export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** Every payload of a history JSON (an object with base64 `metadata.encoding`), with where it is. */
export function payloadsIn(json: string): { path: string; payload: JsonPayload }[] {
  const out: { path: string; payload: JsonPayload }[] = [];
  const visit = (v: unknown, path: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${path}[${i}]`));
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const md = o.metadata as Record<string, unknown> | undefined;
      if (md && typeof md === 'object' && typeof md.encoding === 'string') out.push({ path, payload: o });
      else for (const [k, x] of Object.entries(o)) visit(x, `${path}.${k}`);
    }
  };
  visit(JSON.parse(json), '$');
  return out;
}

export const encodingOf = (p: JsonPayload): string => Buffer.from(p.metadata?.encoding ?? '', 'base64').toString();
