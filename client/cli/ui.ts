/** `sluice ui`: the grid as a local web page (client/grid-server.ts, assets in ui/). */
import type { Command } from 'commander';
import { startUiServer } from '../grid-server';
import { portNumber, withClient } from './skeleton';

export function addUiCommand(program: Command): void {
  program
    .command('ui')
    .description(
      'Serve the grid of every date × stage as a local web page: tooltips, links to the Temporal UI, filters, live refresh, re-runs.',
    )
    .option(
      '--port <port>',
      'port to listen on (0: any free port)',
      (v: string) => (v === '0' ? 0 : portNumber('--port')(v)),
      8080,
    )
    .option('--host <host>', 'address to bind (keep 127.0.0.1: the page can start runs)', '127.0.0.1')
    .addHelpText(
      'after',
      `
It reads Temporal only (visibility, memos, results; status queries while a worker is up), with the
same connection and payload keys as every command (TEMPORAL_*, SLUICE_PAYLOAD_KEYS). Links open runs
in the Temporal UI at SLUICE_UI_URL. Ctrl-C stops it.

Example: sluice ui --port 8080, then open http://127.0.0.1:8080/?pipeline=sales&from=2024-01-01&to=2024-12-31`,
    )
    .action(async (opts: { port: number; host: string }) => {
      await withClient(async (client, settings) => {
        const { server, url } = await startUiServer({ client, settings, port: opts.port, host: opts.host });
        console.log(`sluice ui listening on ${url} (Temporal ${settings.address}, namespace ${settings.namespace})`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            server.close(() => resolve());
            server.closeAllConnections();
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      });
    });
}
