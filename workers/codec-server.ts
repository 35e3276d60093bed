/**
 * `sluice codec-server`: Temporal's remote codec protocol over HTTP, so the Web UI
 * (`--ui-codec-endpoint`, or the UI's codec server setting) and the `temporal` CLI
 * (`--codec-endpoint`) show Sluice's encrypted payloads decoded.
 *
 *   POST <path>/encode, POST <path>/decode   body and answer: {"payloads": [{"metadata": {k: base64}, "data": base64}]}
 *   OPTIONS                                   CORS preflight, for the configured origins only
 *
 * With a token configured, every POST needs `Authorization: Bearer <token>` (401 otherwise). One
 * log line per request (method, path, status, payload count, duration); never payload contents,
 * never the token. node:http: the protocol is two POST routes and a preflight, no framework needed.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { listen } from './http';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  codecs: PayloadCodec[];
  port: number;
  /** Default 127.0.0.1; 0.0.0.0 to serve other machines (put TLS in front). */
  host?: string;
  /** Origins allowed to call from a browser (the Web UI's), e.g. http://localhost:8233. */
  origins?: string[];
  /** When set, requests need `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest request body accepted. Default 64 MiB. */
  maxBodyBytes?: number;
  log?: (line: Record<string, unknown>) => void;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function fromJson(p: JsonPayload): Payload {
  if (typeof p !== 'object' || p === null) throw new HttpError(400, 'each payload must be an object');
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => {
        if (typeof v !== 'string') throw new HttpError(400, `metadata ${k} must be a base64 string`);
        return [k, new Uint8Array(Buffer.from(v, 'base64'))];
      }),
    ),
    data: new Uint8Array(Buffer.from(typeof p.data === 'string' ? p.data : '', 'base64')),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new HttpError(413, `request body over ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer (.+)$/i.exec(header.trim());
  // Compared as digests: equal lengths, constant time.
  return !!m && timingSafeEqual(digest(m[1]!), digest(token));
}

async function applyCodecs(
  codecs: PayloadCodec[],
  route: 'encode' | 'decode',
  payloads: Payload[],
): Promise<Payload[]> {
  let out = payloads;
  if (route === 'encode') for (const c of codecs) out = await c.encode(out);
  else for (const c of [...codecs].reverse()) out = await c.decode(out);
  return out;
}

export function createCodecServer(opts: CodecServerOptions): Server {
  const origins = new Set(opts.origins ?? []);
  const max = opts.maxBodyBytes ?? 64 * 1024 * 1024;
  const log = opts.log ?? ((line) => console.error(JSON.stringify(line)));

  function cors(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (origin && origins.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
  }

  return createServer((req, res) => {
    const started = Date.now();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = path.endsWith('/encode') ? 'encode' : path.endsWith('/decode') ? 'decode' : undefined;
    let count: number | undefined;
    const finish = (status: number, body?: unknown, error?: string) => {
      res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
      log({
        msg: 'codec request',
        method: req.method,
        path,
        status,
        ...(count !== undefined ? { payloads: count } : {}),
        ms: Date.now() - started,
        ...(error ? { error } : {}),
      });
    };
    cors(req, res);
    if (req.method === 'OPTIONS') {
      const origin = req.headers.origin;
      if (!origin || !origins.has(origin)) return finish(403, { error: `origin ${origin ?? '(none)'} is not allowed` });
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader(
        'Access-Control-Allow-Headers',
        req.headers['access-control-request-headers'] ?? 'Content-Type, X-Namespace, Authorization',
      );
      res.setHeader('Access-Control-Max-Age', '600');
      return finish(204);
    }
    if (!route) return finish(404, { error: 'POST /encode or /decode' });
    if (req.method !== 'POST') return finish(405, { error: 'POST only' });
    if (!authorized(req, opts.token)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return finish(401, { error: 'missing or wrong bearer token' });
    }
    readBody(req, max)
      .then(async (raw) => {
        let body: { payloads?: unknown };
        try {
          body = JSON.parse(raw.toString('utf8')) as { payloads?: unknown };
        } catch {
          throw new HttpError(400, 'the body is not JSON');
        }
        if (!Array.isArray(body?.payloads)) throw new HttpError(400, 'expected {"payloads": [...]}');
        const payloads = (body.payloads as JsonPayload[]).map(fromJson);
        count = payloads.length;
        const out = await applyCodecs(opts.codecs, route, payloads);
        finish(200, { payloads: out.map(toJson) });
      })
      .catch((err: unknown) => {
        // Codec errors name key ids and fixes, never contents (plugin/encryption.ts).
        const status = err instanceof HttpError ? err.status : 400;
        const message = err instanceof Error ? err.message : String(err);
        finish(status, { error: message }, message.split('\n')[0]);
      });
  });
}

/** Starts the server; resolves once it listens (port 0: any free port, see `address()`). */
export async function startCodecServer(opts: CodecServerOptions): Promise<Server> {
  return listen(createCodecServer(opts), opts.port, opts.host ?? '127.0.0.1');
}
