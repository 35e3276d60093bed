/**
 * `sluice worker` and `sluice codec-server`: the commands that run a server of the worker side.
 * Their options and help are the CLI's; what they run is the worker's (workers/main.ts,
 * workers/codec-main.ts), handed in by the executable (bin/sluice.js), which loads it only when one
 * of them runs: client/ never imports workers/, and no other command loads the worker (the SDK's
 * native runtime, every AWS client), or fails if it cannot.
 */
import type { Command } from 'commander';
import { portNumber, positiveInt } from './skeleton';

export interface ServerEntryPoints {
  /** A bad variable throws WorkerConfigError, a ConfigError: exit 2 with every problem and its fix. */
  runWorker(options: { maxConcurrentActivityTaskExecutions?: number }): Promise<void>;
  serveCodec(options: { port: number; host: string; origins: string[]; tokenEnv?: string }): Promise<void>;
}

const WORKER_CONFIGURATION = `
Configuration (environment; validated before connecting, a bad value exits 2):
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY      where to connect (Temporal Cloud: API key turns on TLS)
  TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH|_DATA,          TLS / mTLS, the SDK's own variables
    TEMPORAL_TLS_CLIENT_KEY_PATH|_DATA, TEMPORAL_TLS_SERVER_CA_CERT_PATH|_DATA, TEMPORAL_TLS_SERVER_NAME
  TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE                      a profile of a temporal.toml file
  SLUICE_TASK_QUEUE (sluice)                                  task queue
  SLUICE_MAX_CONCURRENT_STAGES (100), SLUICE_MAX_CONCURRENT_WORKFLOW_TASKS (40)
  SLUICE_SHUTDOWN_GRACE (30s)                                 time running stages get after SIGTERM
  SLUICE_HTTP_PORT (off)                                      serve /metrics (Prometheus) and /healthz
  SLUICE_SDK_METRICS_PORT (SLUICE_HTTP_PORT + 1)              loopback port of the SDK exporter
  SLUICE_LOG_LEVEL (INFO)                                     TRACE, DEBUG, INFO, WARN, ERROR (JSON lines)
  SLUICE_PAYLOAD_KEYS (off)                                   encrypt payloads: keyId:base64key[,keyId:base64key…]
  SLUICE_PAYLOAD_KEY_SECRET                                   or a Secrets Manager secret (name/ARN) holding them
  SLUICE_PAYLOAD_KEY_ID (the first)                           the key that encrypts; all of them decrypt
  OTEL_EXPORTER_OTLP_ENDPOINT (off)                           export OpenTelemetry traces (OTLP/HTTP)`;

const CODEC_USAGE = `
Keys: the worker's (SLUICE_PAYLOAD_KEYS, or SLUICE_PAYLOAD_KEY_SECRET naming a Secrets Manager secret).
Use it: temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8888, the UI's codec server setting,
or temporal workflow show -w <id> --codec-endpoint http://127.0.0.1:8888 [--codec-auth "Bearer <token>"].`;

export function addServerCommands(program: Command, servers: ServerEntryPoints): void {
  program
    .command('worker')
    .description(
      'Run a worker: the pipeline workflows and the AWS stage activities (stops gracefully on SIGTERM/SIGINT).',
    )
    .option(
      '--max-concurrent-stages <n>',
      'stages this worker runs at once (default SLUICE_MAX_CONCURRENT_STAGES or 100)',
      positiveInt('--max-concurrent-stages'),
    )
    .addHelpText('after', WORKER_CONFIGURATION)
    .action(async (opts: { maxConcurrentStages?: number }) => {
      await servers.runWorker(
        opts.maxConcurrentStages ? { maxConcurrentActivityTaskExecutions: opts.maxConcurrentStages } : {},
      );
    });

  program
    .command('codec-server')
    .description(
      "Serve Temporal's remote codec (POST /encode, /decode) with Sluice's payload keys, for the Web UI and the temporal CLI.",
    )
    .option('--port <port>', 'port to listen on', portNumber('--port'), 8888)
    .option('--host <host>', 'address to bind (0.0.0.0 to serve other machines; put TLS in front)', '127.0.0.1')
    .option(
      '--origin <url>',
      'a Web UI origin allowed to call it from the browser (CORS); repeat for several (default http://localhost:8233 and http://127.0.0.1:8233)',
      (v: string, acc: string[]) => [...acc, v.replace(/\/+$/, '')],
      [] as string[],
    )
    .option('--token-env <name>', 'environment variable holding a bearer token every request must carry')
    .addHelpText('after', CODEC_USAGE)
    .action(async (opts: { port: number; host: string; origin: string[]; tokenEnv?: string }) => {
      await servers.serveCodec({
        port: opts.port,
        host: opts.host,
        origins: opts.origin.length ? opts.origin : ['http://localhost:8233', 'http://127.0.0.1:8233'],
        ...(opts.tokenEnv ? { tokenEnv: opts.tokenEnv } : {}),
      });
    });
}
