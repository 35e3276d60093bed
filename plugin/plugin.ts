/**
 * SluicePlugin: Sluice on a Temporal Worker or Client that a team already runs.
 *
 *   Worker.create({ workflowsPath, activities, plugins: [new SluicePlugin()] })
 *
 * registers, beside the worker's own: Sluice's activities (the stages, their cleanup, the
 * visibility reads of backfills and schedules), the activity interceptor (log attributes, stage
 * metrics through the Runtime's meter, one CloudWatch EMF line per attempt) and the workflow
 * interceptor (run metrics and EMF lines). The worker's workflows module re-exports
 * `sluice/workflows`. On a Client the plugin sets what Sluice's client side needs: its payload
 * encoding (plugin/payloads.ts). Sluice's own worker (workers/worker.ts) and CLI
 * (client/runs.ts) use this same plugin: one registration path. That is why plugin/ lies below
 * both workers/ and client/: it imports neither.
 *
 * Built on @temporalio/plugin's SimplePlugin, which the SDK marks experimental (1.24.0).
 */
import type { ClientOptions } from '@temporalio/client';
import type { BundleOptions, ReplayWorkerOptions, Worker, WorkerOptions } from '@temporalio/worker';
import type * as WorkerModule from '@temporalio/worker';
import { SimplePlugin } from '@temporalio/plugin';
import type * as ActivitiesModule from '../activities';
import type { AwsClientOptions, AwsClients } from '../activities/aws-clients';
import type * as AwsClientsModule from '../activities/aws-clients';
import {
  stageEventSettings,
  type StageEventSettings,
  type StageEventsOptions,
} from '../activities/stage-events-config';
import type * as StageEventsModule from './stage-events';
import { sluiceActivityInterceptors } from './activity-interceptors';
import {
  ENCODED_FAILURES_PATH,
  encodesFailures,
  payloadOptionsFromEnv,
  sluiceDataConverter,
  type SluicePayloadOptions,
} from './payloads';
import { sluiceTracingFromEnv, type SluiceTracing } from './tracing-load';

/** Sluice's workflow interceptor module: bundled with the workflows by the worker or by bundleWorkflowCode. */
export const WORKFLOW_INTERCEPTORS_PATH = require.resolve('./workflow-interceptors');
/** With tracing: the run's pipeline and date on its workflow span (after the OpenTelemetry interceptors). */
export const WORKFLOW_TRACING_PATH = require.resolve('./workflow-tracing');

export interface SluicePluginOptions {
  /**
   * The AWS clients of the stage activities. Default: one set per worker, configured from the
   * environment (AWS_REGION, the default credential chain, AWS_ENDPOINT_URL[_<SERVICE>]).
   */
  clients?: AwsClients;
  /** Options of the default clients (region, endpoint, attempts); ignored with `clients`. */
  aws?: AwsClientOptions;
  /**
   * Registered in place of Sluice's activities: stand-ins in tests, `{}` for a worker that runs
   * Sluice's workflows but no stages. Default: Sluice's own.
   */
  activities?: object;
  /**
   * How Sluice's payloads are encoded (encryption keys, payload codecs): see plugin/payloads.ts.
   * Default: encrypted with the keys of SLUICE_PAYLOAD_KEYS when it is set, in clear otherwise
   * (SLUICE_PAYLOAD_KEY_SECRET needs `{ keys: await loadPayloadKeys() }`: it is read asynchronously).
   */
  payloads?: SluicePayloadOptions;
  /**
   * Push completion: stages wait for their jobs' state-change events, and the worker consumes the
   * queue the EventBridge rule fills. Default: from SLUICE_EVENTS_QUEUE_URL (on when set),
   * SLUICE_EVENTS=off and SLUICE_EVENTS_FALLBACK_POLL (10m). Every worker of the task queue must
   * agree: a stage waits on events whichever worker consumes them.
   */
  stageEvents?: Partial<StageEventSettings>;
  /**
   * OpenTelemetry tracing (plugin/tracing.ts): Temporal's OpenTelemetryPlugin is composed in, its
   * interceptors before Sluice's. Default: on when OTEL_EXPORTER_OTLP_ENDPOINT is set (the OTel
   * modules are not even loaded otherwise); `false`: off whatever the environment says.
   */
  tracing?: SluiceTracing | false;
}

/**
 * Loaded when a worker is configured, not when this module is: a Client with the plugin (the
 * CLI) never loads the stage code and the AWS SDK.
 */
function loadActivities(): typeof ActivitiesModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../activities') as typeof ActivitiesModule;
}

function sluiceActivities(opts: SluicePluginOptions, stageEvents: StageEventsOptions): object {
  if (opts.activities) return opts.activities;
  return loadActivities().createActivities({
    ...(opts.clients ? { clients: opts.clients } : {}),
    ...(opts.aws ? { aws: opts.aws } : {}),
    stageEvents,
  });
}

/** The worker's activities plus Sluice's; a name both register is refused, not silently replaced. */
function withSluiceActivities(
  existing: object | undefined,
  opts: SluicePluginOptions,
  stageEvents: StageEventsOptions,
): object {
  const ours = sluiceActivities(opts, stageEvents);
  const clash = existing ? Object.keys(ours).filter((name) => Object.hasOwn(existing, name)) : [];
  if (clash.length)
    throw new Error(
      `SluicePlugin: the worker already registers activities named ${clash.join(', ')}, which Sluice's workflows call.\n` +
        '  Fix: rename those activities of yours.',
    );
  return { ...existing, ...ours };
}

export class SluicePlugin extends SimplePlugin {
  /** Whether failures are converted with encoded attributes: then a workflow bundle needs ENCODED_FAILURES_PATH. */
  readonly encodesFailures: boolean;
  /** Push completion as this plugin's workers run it (see SluicePluginOptions.stageEvents). */
  readonly stageEvents: StageEventSettings;
  private readonly opts: SluicePluginOptions;
  /** The tracing this plugin adds, if any: then a prebuilt workflow bundle must be a traced one. */
  readonly tracing: SluiceTracing | undefined;

  constructor(opts: SluicePluginOptions = {}) {
    const payloads = opts.payloads ?? payloadOptionsFromEnv();
    const encodes = sluiceDataConverter(undefined, payloads) !== undefined;
    const stageEvents = stageEventSettings(opts.stageEvents);
    const tracing = opts.tracing === false ? undefined : (opts.tracing ?? sluiceTracingFromEnv());
    super({
      name: 'sluice',
      activities: (existing) => withSluiceActivities(existing, opts, stageEvents),
      // Appended to the worker's own. With a prebuilt workflowBundle the workflow module is not
      // added here: bundle with `bundleWorkflowCode({ workflowsPath, plugins: [thisPlugin] })`.
      workerInterceptors: {
        activity: [sluiceActivityInterceptors],
        workflowModules: tracing ? [WORKFLOW_TRACING_PATH, WORKFLOW_INTERCEPTORS_PATH] : [WORKFLOW_INTERCEPTORS_PATH],
      },
      // Only when Sluice adds something: the Client's or Worker's own converter is kept as it is.
      ...(encodes ? { dataConverter: (existing) => sluiceDataConverter(existing, payloads) ?? {} } : {}),
    });
    this.encodesFailures = encodesFailures(payloads);
    this.stageEvents = stageEvents;
    this.opts = opts;
    this.tracing = tracing;
  }

  /** While the worker runs, its stage-event consumer runs too (when push completion is on). */
  override async runWorker(worker: Worker, next: (w: Worker) => Promise<void>): Promise<void> {
    const { enabled, queueUrl } = this.stageEvents;
    const client = worker.client;
    if (!enabled || !queueUrl || !client || this.opts.activities) return super.runWorker(worker, next);
    // Loaded here, not at import: a Client with the plugin never loads the AWS SDK or the runtime.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { startStageEventConsumer } = require('./stage-events') as typeof StageEventsModule;
    const { Runtime } = require('@temporalio/worker') as typeof WorkerModule;
    const { createAwsClients } = require('../activities/aws-clients') as typeof AwsClientsModule;
    /* eslint-enable @typescript-eslint/no-require-imports */
    const clients = this.opts.clients ?? createAwsClients(this.opts.aws);
    const logger = Runtime.instance().logger;
    const consumer = startStageEventConsumer({ client, sqs: clients.sqs, queueUrl, logger });
    logger.info('stage events: consuming', { queueUrl, fallbackPollMs: this.stageEvents.fallbackPollMs });
    try {
      await super.runWorker(worker, next);
    } finally {
      await consumer.stop();
      logger.info('stage events: stopped', { ...consumer.counts });
    }
  }

  // With tracing, Temporal's OpenTelemetry plugin configures first: its interceptors wrap Sluice's,
  // so a stage's activity span is active when Sluice's interceptor annotates it.
  override configureClient(options: ClientOptions): ClientOptions {
    return super.configureClient(this.tracing ? this.tracing.temporalPlugin().configureClient(options) : options);
  }

  override configureWorker(options: WorkerOptions): WorkerOptions {
    return super.configureWorker(this.tracing ? this.tracing.temporalPlugin().configureWorker(options) : options);
  }

  override configureReplayWorker(options: ReplayWorkerOptions): ReplayWorkerOptions {
    return super.configureReplayWorker(
      this.tracing ? this.tracing.temporalPlugin().configureReplayWorker(options) : options,
    );
  }

  /**
   * A bundle made with the plugin gets Sluice's workflow interceptor and, when payloads are
   * encrypted, the failure converter that encodes failure messages (it runs in the sandbox).
   */
  override configureBundler(options: BundleOptions): BundleOptions {
    const configured = super.configureBundler(
      this.tracing ? this.tracing.temporalPlugin().configureBundler(options) : options,
    );
    return this.encodesFailures && !configured.failureConverterPath
      ? { ...configured, failureConverterPath: ENCODED_FAILURES_PATH }
      : configured;
  }
}
