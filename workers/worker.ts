/**
 * Builds a Sluice worker: the runPipeline workflows and the stage activities on one task queue.
 * Used by `sluice worker`, by the ECS entrypoint and by the tests.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import {
  NativeConnection,
  Worker,
  type NativeConnectionOptions,
  type WorkerDeploymentOptions,
  type WorkerOptions,
} from '@temporalio/worker';
import type { ActivityDeps } from '../activities';
import { temporalSettings, type TemporalSettings } from '../common/env';
import { bundleVariantPath } from './bundle-workflows';
import { SluicePlugin, WORKFLOW_INTERCEPTORS_PATH, type SluicePluginOptions } from '../plugin/plugin';

export interface SluiceWorkerOptions extends Omit<ActivityDeps, 'stageEvents'> {
  settings?: TemporalSettings;
  connection?: NativeConnection;
  /**
   * A workflow bundle built ahead of time (see workers/bundle-workflows.ts); bundled at start
   * otherwise. With encrypted payloads the bundle beside it made with encoded failures is loaded
   * (encoded-failures.<name>), or the workflows are bundled at start when there is none.
   */
  workflowBundlePath?: string;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  /** How long running stages get to finish after SIGTERM before they are cancelled (their jobs keep running and are adopted by another worker). */
  shutdownGraceTime?: string | number;
  /**
   * The Worker Deployment Version to declare (SLUICE_DEPLOYMENT_NAME + SLUICE_BUILD_ID): the worker
   * then polls with Worker Versioning, and each workflow declares its behavior (workflows/versioning.ts).
   * Undefined: an unversioned worker, as before.
   */
  deployment?: WorkerDeploymentVersion;
  /** Payload encoding (encryption keys, codecs), as on SluicePlugin; default SLUICE_PAYLOAD_KEYS. */
  payloads?: SluicePluginOptions['payloads'];
  /** Push completion (state-change events), as on SluicePlugin; default from SLUICE_EVENTS_QUEUE_URL. */
  stageEvents?: SluicePluginOptions['stageEvents'];
  /** Tracing, as on SluicePlugin; default on when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  tracing?: SluicePluginOptions['tracing'];
  /**
   * Extra WorkerOptions for embedders. `activities` replace Sluice's (tests: stand-ins); `plugins`
   * come after Sluice's.
   */
  workerOptions?: Partial<WorkerOptions>;
}

export const WORKFLOWS_PATH = require.resolve('../workflows');
/** Run metrics and logs; bundled with the workflows (SluicePlugin adds it). */
export { WORKFLOW_INTERCEPTORS_PATH };

/** The prebuilt bundle next to the compiled code, if `npm run build` made one. */
function defaultBundlePath(): string | undefined {
  const candidate = process.env.SLUICE_WORKFLOW_BUNDLE || path.resolve(__dirname, '..', 'workflow-bundle.js');
  return existsSync(candidate) ? candidate : undefined;
}

/** Connects with the settings' address and API key, or with full options (TLS/mTLS) from loadWorkerConfig. */
export async function connectWorker(
  settings: TemporalSettings,
  options?: NativeConnectionOptions,
): Promise<NativeConnection> {
  return NativeConnection.connect(
    options ?? {
      address: settings.address,
      ...(settings.apiKey ? { apiKey: settings.apiKey, tls: true } : {}),
    },
  );
}

/**
 * The prebuilt bundle to load: the variant with encoded failures when failures are encoded, the
 * traced one when tracing is on (none beside it: bundle at start).
 */
function workflowBundleFor(
  bundlePath: string | undefined,
  encodedFailures: boolean,
  traced: boolean,
): string | undefined {
  if (!bundlePath || (!encodedFailures && !traced)) return bundlePath;
  const variant = bundleVariantPath(bundlePath, { encodedFailures, traced });
  return existsSync(variant) ? variant : undefined;
}

/**
 * Worker Versioning options of Sluice's own worker. Every Sluice workflow declares its behavior;
 * the default (PINNED) applies only to a run whose first task ran unversioned and that a versioned
 * worker picks up later (a run from before the switch to versioning): it stays on that build.
 * The plugin sets none of this: a team's worker declares its own deployment and Sluice's workflows
 * in its bundle follow it.
 */
export function deploymentOptions(version: WorkerDeploymentVersion): WorkerDeploymentOptions {
  return { version, useWorkerVersioning: true, defaultVersioningBehavior: 'PINNED' };
}

export async function createSluiceWorker(opts: SluiceWorkerOptions = {}): Promise<Worker> {
  const settings = opts.settings ?? temporalSettings();
  const connection = opts.connection ?? (await connectWorker(settings));
  const { activities, plugins, ...workerOptions } = opts.workerOptions ?? {};
  // Activities and interceptors come from the plugin, as on any team's worker that adds Sluice.
  const sluice = new SluicePlugin({
    ...(opts.clients ? { clients: opts.clients } : {}),
    ...(opts.aws ? { aws: opts.aws } : {}),
    ...(activities ? { activities } : {}),
    ...(opts.payloads ? { payloads: opts.payloads } : {}),
    ...(opts.stageEvents ? { stageEvents: opts.stageEvents } : {}),
    ...(opts.tracing !== undefined ? { tracing: opts.tracing } : {}),
  });
  const bundlePath = workflowBundleFor(
    opts.workflowBundlePath ?? defaultBundlePath(),
    sluice.encodesFailures,
    sluice.tracing !== undefined,
  );
  return Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: settings.taskQueue,
    // A prebuilt bundle already contains the workflow interceptors (bundle-workflows.ts bundles with the plugin).
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
    plugins: [sluice, ...(plugins ?? [])],
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 100,
    maxConcurrentWorkflowTaskExecutions: opts.maxConcurrentWorkflowTaskExecutions ?? 40,
    // Heartbeats reaching the server are billable actions: at most one per min(80% of the stage's
    // heartbeat timeout, 2 min) per running stage — 48 s at the 60 s default (STAGE_DEFAULTS.heartbeat
    // in workflows/run-pipeline.ts); a stage given a longer timeout still costs at most 30 per hour.
    maxHeartbeatThrottleInterval: '2m',
    // A run whose worker died gets its next workflow task (a cancel, say) from another worker after
    // this long, instead of the SDK's 10 s: half of the cancel's 10 s budget.
    stickyQueueScheduleToStartTimeout: '5s',
    shutdownGraceTime: opts.shutdownGraceTime ?? '30s',
    ...(opts.deployment ? { workerDeploymentOptions: deploymentOptions(opts.deployment) } : {}),
    ...workerOptions,
  });
}
