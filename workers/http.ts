/**
 * The worker's HTTP endpoint (SLUICE_HTTP_PORT): `/metrics` for Prometheus (the SDK runtime's
 * exporter, which also carries Sluice's own metrics, proxied from its loopback port) and
 * `/healthz` for the ECS / load-balancer health check (200 while the worker is RUNNING).
 */
import { createServer, type Server } from 'node:http';

export interface HttpEndpointOptions {
  port: number;
  /** The SDK runtime's Prometheus exporter on 127.0.0.1; /metrics answers 503 without it. */
  sdkMetricsPort?: number;
  /** The worker's state (Worker.getState()); healthy only when RUNNING. */
  state: () => string;
  host?: string;
}

export async function startHttpEndpoint(opts: HttpEndpointOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (url === '/healthz' || url === '/health') {
      const state = opts.state();
      res
        .writeHead(state === 'RUNNING' ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ state }));
    } else if (url === '/metrics') {
      if (opts.sdkMetricsPort === undefined) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics exporter not configured\n');
        return;
      }
      fetch(`http://127.0.0.1:${opts.sdkMetricsPort}/metrics`, { signal: AbortSignal.timeout(5000) })
        .then(async (r) => {
          const body = await r.text();
          res
            .writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain; version=0.0.4' })
            .end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(502, { 'content-type': 'text/plain' }).end(`metrics exporter unreachable: ${String(err)}\n`);
        });
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics or /healthz\n');
    }
  });
  return listen(server, opts.port, opts.host ?? '0.0.0.0');
}

/** Starts listening; resolves once it listens (port 0: any free port), rejects if it cannot. */
export async function listen(server: Server, port: number, host: string): Promise<Server> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
