/**
 * Worker process entrypoint (`sluice worker`, and the container's command).
 *
 * Start-up: validate the environment (loadWorkerConfig: a bad value exits 2 before connecting),
 * read the payload keys (SLUICE_PAYLOAD_KEYS, or the Secrets Manager secret SLUICE_PAYLOAD_KEY_SECRET
 * names: a bad or missing key exits 2 too), install the SDK Runtime (JSON logs, Prometheus), connect, create the worker, then serve
 * /metrics and /healthz. The Runtime turns SIGTERM/SIGINT into a graceful shutdown: no new tasks
 * are taken, running stages get SLUICE_SHUTDOWN_GRACE to finish, and a stage cut short leaves its
 * AWS job running for the next worker to reattach to (its job id is in the last heartbeat).
 */
import type { Server } from 'node:http';
import { Runtime } from '@temporalio/worker';
import { ConfigError } from '../common/connection';
import { loadWorkerConfig, WorkerConfigError, type WorkerConfig } from './config';
import { closeServer, startHttpEndpoint } from './http';
import { installWorkerRuntime } from './runtime';
import { describePayloadKeys, loadPayloadKeys } from '../plugin/payload-keys';
import { sluiceTracingFromEnv } from '../plugin/tracing-load';
import { connectWorker, createSluiceWorker, type SluiceWorkerOptions } from './worker';

export { WorkerConfigError };

export interface RunWorkerOptions extends SluiceWorkerOptions {
  /** The environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export async function runWorker(opts: RunWorkerOptions = {}): Promise<void> {
  const { env, ...workerOpts } = opts;
  const config: WorkerConfig = loadWorkerConfig(env);
  // Before anything connects: a wrong key must not start a worker that cannot read its histories.
  const keys = workerOpts.payloads ? workerOpts.payloads.keys : await loadPayloadKeys(env ?? process.env);
  const payloads = workerOpts.payloads ?? (keys ? { keys } : {});
  // OTEL_EXPORTER_OTLP_ENDPOINT set: traces exported (a malformed one exits 2 here); unset: no OTel module loads.
  const tracing = workerOpts.tracing ?? sluiceTracingFromEnv('sluice-worker', env ?? process.env);
  installWorkerRuntime(config);
  const logger = Runtime.instance().logger;
  const settings = workerOpts.settings ?? config.settings;
  const ownConnection = workerOpts.connection
    ? undefined
    : await connectWorker(settings, workerOpts.settings ? undefined : config.connection);
  let server: Server | undefined;
  try {
    const worker = await createSluiceWorker({
      maxConcurrentActivityTaskExecutions: config.maxConcurrentStages,
      maxConcurrentWorkflowTaskExecutions: config.maxConcurrentWorkflowTasks,
      shutdownGraceTime: config.shutdownGraceMs,
      ...(config.deployment ? { deployment: config.deployment } : {}),
      ...workerOpts,
      payloads,
      ...(tracing !== undefined ? { tracing } : {}),
      settings,
      ...(ownConnection ? { connection: ownConnection } : {}),
    });
    if (config.httpPort !== undefined) {
      server = await startHttpEndpoint({
        port: config.httpPort,
        ...(config.sdkMetricsPort !== undefined ? { sdkMetricsPort: config.sdkMetricsPort } : {}),
        state: () => worker.getState(),
      });
    }
    logger.info('sluice worker started', {
      ...config.describe,
      ...describePayloadKeys(keys),
      address: settings.address,
      namespace: settings.namespace,
      taskQueue: settings.taskQueue,
      ...(workerOpts.maxConcurrentActivityTaskExecutions
        ? { maxConcurrentStages: workerOpts.maxConcurrentActivityTaskExecutions }
        : {}),
    });
    const startedAt = Date.now();
    await worker.run();
    logger.info('sluice worker stopped', { state: worker.getState(), ranMs: Date.now() - startedAt });
  } finally {
    if (server) await closeServer(server);
    await ownConnection?.close();
    // The spans of the last stages and workflow tasks, exported before the process ends.
    if (tracing) await tracing.shutdown();
  }
}

if (require.main === module) {
  runWorker().catch((err: unknown) => {
    console.error(err instanceof ConfigError ? `error: ${err.message}` : err);
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
}
