/**
 * Entry point: `node --import tsx infra/local/gateway/main.ts` (started by infra/local/stack.sh).
 * Env: SLUICE_GATEWAY_PORT (4566), SLUICE_GATEWAY_HOST (127.0.0.1), SLUICE_MOTO_URL (http://127.0.0.1:5077).
 */
import { ensureStageEventRoute } from './events.js';
import { createGateway, createMotoClient } from './server.js';

const port = Number(process.env.SLUICE_GATEWAY_PORT ?? 4566);
const host = process.env.SLUICE_GATEWAY_HOST ?? '127.0.0.1';
const motoUrl = process.env.SLUICE_MOTO_URL ?? 'http://127.0.0.1:5077';

/** The stage-event route (rule → queue) is in place before the gateway answers its health check. */
async function ensureRoute(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const queueUrl = await ensureStageEventRoute(createMotoClient(new URL(motoUrl)));
      console.log(`sluice gateway: stage events go to ${queueUrl}`);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

const server = createGateway({ motoUrl });
server.keepAliveTimeout = 65_000; // SDK clients keep connections open; avoid racing their reuse
ensureRoute().then(
  () =>
    server.listen(port, host, () => {
      console.log(`sluice gateway listening on http://${host}:${port} -> moto ${motoUrl}`);
    }),
  (err: unknown) => {
    console.error('sluice gateway: cannot create the stage-event route on moto:', err);
    process.exit(1);
  },
);
server.on('error', (err) => {
  console.error('sluice gateway failed:', err);
  process.exit(1);
});

function shutdown(signal: string): void {
  console.log(`sluice gateway: ${signal}, shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 3000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
