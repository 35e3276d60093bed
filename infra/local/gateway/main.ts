/**
 * Entry point: `node --import tsx infra/local/gateway/main.ts` (started by infra/local/stack.sh).
 * Env: SLUICE_GATEWAY_PORT (4566), SLUICE_GATEWAY_HOST (127.0.0.1), SLUICE_MOTO_URL (http://127.0.0.1:5077).
 */
import { createGateway } from './server.js';

const port = Number(process.env.SLUICE_GATEWAY_PORT ?? 4566);
const host = process.env.SLUICE_GATEWAY_HOST ?? '127.0.0.1';
const motoUrl = process.env.SLUICE_MOTO_URL ?? 'http://127.0.0.1:5077';

const server = createGateway({ motoUrl });
server.keepAliveTimeout = 65_000; // SDK clients keep connections open; avoid racing their reuse
server.listen(port, host, () => {
  console.log(`sluice gateway listening on http://${host}:${port} -> moto ${motoUrl}`);
});
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
