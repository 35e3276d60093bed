/**
 * Builds a Sluice worker: the runPipeline workflows and the stage activities on one task queue.
 * Used by `sluice worker`, by the ECS entrypoint and by the tests.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { temporalSettings, type TemporalSettings } from '../common/env';

export interface SluiceWorkerOptions extends ActivityDeps {
  settings?: TemporalSettings;
  connection?: NativeConnection;
  /** A workflow bundle built ahead of time (see scripts/bundle-workflows.ts); bundled at start otherwise. */
  workflowBundlePath?: string;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  /** How long running stages get to finish after SIGTERM before they are cancelled (their jobs keep running and are adopted by another worker). */
  shutdownGraceTime?: string | number;
  /** Extra WorkerOptions for embedders. */
  workerOptions?: Partial<WorkerOptions>;
}

export const WORKFLOWS_PATH = require.resolve('../workflows');

/** The prebuilt bundle next to the compiled code, if `npm run build` made one. */
function defaultBundlePath(): string | undefined {
  const candidate = process.env.SLUICE_WORKFLOW_BUNDLE || path.resolve(__dirname, '..', 'workflow-bundle.js');
  return existsSync(candidate) ? candidate : undefined;
}

export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect({
    address: settings.address,
    ...(settings.apiKey ? { apiKey: settings.apiKey, tls: true } : {}),
  });
}

export async function createSluiceWorker(opts: SluiceWorkerOptions = {}): Promise<Worker> {
  const settings = opts.settings ?? temporalSettings();
  const connection = opts.connection ?? (await connectWorker(settings));
  const bundlePath = opts.workflowBundlePath ?? defaultBundlePath();
  return Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities(opts.clients ? { clients: opts.clients } : {}),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 100,
    maxConcurrentWorkflowTaskExecutions: opts.maxConcurrentWorkflowTaskExecutions ?? 40,
    shutdownGraceTime: opts.shutdownGraceTime ?? '30s',
    ...opts.workerOptions,
  });
}
