/**
 * The local server of `sluice ui` (issue #22): the page's assets from the package's own ui/
 * folder (no CDN, no build step) and a small JSON API over the grid's data layer. It binds to
 * 127.0.0.1 by default; a request that changes something (a re-run, a backfill) must be JSON with
 * the page's header and come from the page's own origin, so that no other site can start runs
 * through it (a cross-site form cannot send either).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_NAMES, WORKFLOW_TYPES } from '../common/constants';
import { runUiUrl, type TemporalSettings } from '../common/env';
import { describeError, EXIT, exitCodeFor, UserInputError } from './errors';
import { backfillFailed, rerunDate } from './grid-actions';
import { loadGrid, totalCalls } from './grid-data';
import { buildMatrix, gridJson } from './grid-matrix';
import { checkGridRequest } from './grid-options';

/** The header every changing request carries (a cross-site form cannot set it). */
export const UI_HEADER = 'x-sluice-ui';

const ASSET_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
};

/** The ui/ folder: beside client/ in the repository, two levels up from dist/client/ in the package. */
export function assetsDir(): string {
  const candidates = [path.resolve(__dirname, '..', 'ui'), path.resolve(__dirname, '..', '..', 'ui')];
  const found = candidates.find((d) => existsSync(path.join(d, 'index.html')));
  if (!found) throw new Error(`the page's assets (ui/index.html) were not found in ${candidates.join(' or ')}`);
  return found;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > 64 * 1024) throw new UserInputError('the request body is over 64 KiB.');
  }
  try {
    const v: unknown = JSON.parse(body || '{}');
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new UserInputError(`the request body is not a JSON object (${(err as Error).message}).`);
  }
}

function str(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string') throw new UserInputError(`"${key}" must be a string (received ${JSON.stringify(v)}).`);
  return v;
}

/** Pipelines with runs, from one visibility page of the latest runs (for the page's picker). */
async function recentPipelines(client: Client): Promise<string[]> {
  const seen = new Set<string>();
  const page = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    query: `WorkflowType = "${WORKFLOW_TYPES.runPipeline}"`,
    pageSize: 1000,
  });
  for (const info of page.executions) {
    const p = info.searchAttributes?.indexedFields?.[SEARCH_ATTRIBUTE_NAMES.pipeline];
    if (p?.data) seen.add(JSON.parse(Buffer.from(p.data).toString()) as string);
  }
  return [...seen].sort();
}

async function backfillState(client: Client, settings: TemporalSettings, id: string) {
  try {
    const d = await client.workflow.getHandle(id).describe();
    const url = runUiUrl(settings, id, d.runId);
    return { workflowId: id, status: d.status.name, ...(url ? { url } : {}) };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { workflowId: id, status: 'NOT_FOUND' };
    throw err;
  }
}

export interface UiServerOptions {
  client: Client;
  settings: TemporalSettings;
  port: number;
  host: string;
}

/** Starts the server; resolves once it listens (port 0: any free port, read it from the result). */
export async function startUiServer(o: UiServerOptions): Promise<{ server: Server; url: string }> {
  const dir = assetsDir();
  const { client, settings } = o;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && !url.pathname.startsWith('/api/')) {
      const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
      const file = path.join(dir, path.normalize(name));
      if (!file.startsWith(dir + path.sep) || !existsSync(file) || !ASSET_TYPES[path.extname(file)]) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': ASSET_TYPES[path.extname(file)] as string });
      res.end(readFileSync(file));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/config')
      return send(res, 200, { namespace: settings.namespace, uiUrl: settings.uiUrl ?? null });
    if (req.method === 'GET' && url.pathname === '/api/pipelines')
      return send(res, 200, { pipelines: await recentPipelines(client) });
    if (req.method === 'GET' && url.pathname === '/api/grid') {
      const q = url.searchParams;
      const request = checkGridRequest({
        pipeline: q.get('pipeline') ?? '',
        ...(q.get('from') ? { from: q.get('from') as string } : {}),
        ...(q.get('to') ? { to: q.get('to') as string } : {}),
        ...(q.get('backfill') ? { backfill: q.get('backfill') as string } : {}),
      });
      const data = await loadGrid(client, settings, request);
      const backfill = request.backfill ? await backfillState(client, settings, request.backfill) : undefined;
      const body = gridJson(data, buildMatrix(data, 'day'));
      return send(res, 200, {
        ...body,
        calls: {
          ...body.calls,
          total: totalCalls(data.calls) + (backfill ? 1 : 0),
          ...(backfill ? { describe: 1 } : {}),
        },
        ...(backfill ? { backfill } : {}),
      });
    }
    if (req.method === 'POST' && (url.pathname === '/api/rerun' || url.pathname === '/api/backfill')) {
      const origin = req.headers.origin;
      const host = req.headers.host;
      if (
        req.headers[UI_HEADER] !== '1' ||
        !String(req.headers['content-type']).startsWith('application/json') ||
        (origin && host && new URL(origin).host !== host)
      )
        return send(res, 403, { error: 'only the page of sluice ui may start runs here' });
      const body = await readJson(req);
      const pipeline = checkGridRequest({ pipeline: str(body, 'pipeline') }).pipeline;
      if (url.pathname === '/api/rerun')
        return send(res, 200, await rerunDate(client, settings, pipeline, str(body, 'ds')));
      const range = checkGridRequest({ pipeline, from: str(body, 'from'), to: str(body, 'to') });
      return send(
        res,
        200,
        await backfillFailed(client, settings, pipeline, { from: range.from as string, to: range.to as string }),
      );
    }
    send(res, 404, { error: `no such endpoint: ${req.method} ${url.pathname}` });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const bad = err instanceof UserInputError || exitCodeFor(err) === EXIT.badInput;
      if (!res.headersSent) send(res, bad ? 400 : 500, { error: describeError(err) });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return { server, url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/` };
}
