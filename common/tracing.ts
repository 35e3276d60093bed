/**
 * Whether OpenTelemetry tracing is on, and the hooks the stage code calls to annotate spans. Light
 * on purpose: nothing here loads an OpenTelemetry module. Tracing is on when
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; plugin/tracing.ts
 * (loaded only then) installs the SDK and registers the hooks. Unset, every hook is a no-op call
 * and no OpenTelemetry module is ever required: the CLI's start time and a stage's work are as
 * without tracing. Node-only: never import from workflows/.
 */
import { ConfigError, type ConfigIssue } from './connection';

export class TracingConfigError extends ConfigError {
  constructor(issues: ConfigIssue[]) {
    super(issues, 'The tracing configuration');
    this.name = 'TracingConfigError';
  }
}

const ENDPOINT_VARIABLES = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'] as const;

/**
 * The OTLP/HTTP endpoint traces go to, or undefined when tracing is off (the variables unset or
 * empty, or OTEL_SDK_DISABLED=true). Throws TracingConfigError for a value that is not an http(s) URL.
 */
export function tracingEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  for (const variable of ENDPOINT_VARIABLES) {
    const value = env[variable]?.trim();
    if (!value) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw new TracingConfigError([
        {
          variable,
          received: value,
          problem: 'not an http(s) URL of an OTLP/HTTP collector',
          fix: `set it to e.g. http://localhost:4318 (a collector's OTLP/HTTP port), or unset it to turn tracing off`,
        },
      ]);
    return value;
  }
  return undefined;
}

export type TraceAttributes = Record<string, string | number | boolean>;

/** What the stage code asks of tracing; registered by plugin/tracing.ts when it is on. */
export interface TracingHooks {
  /** Sets attributes on the span active in this async context (the stage's activity span, the CLI's). */
  setAttributes(attrs: TraceAttributes): void;
  /** Adds a middleware to an AWS SDK v3 client that opens one client span per AWS call. */
  instrumentAwsClient(client: unknown): void;
}

let hooks: TracingHooks | undefined;

export function registerTracingHooks(h: TracingHooks | undefined): void {
  hooks = h;
}

/** Annotates the active span; a no-op when tracing is off. */
export function traceAttributes(attrs: TraceAttributes): void {
  hooks?.setAttributes(attrs);
}

/** Traces every call of `client`; a no-op when tracing is off. Returns the client. */
export function traceAwsClient<T>(client: T): T {
  hooks?.instrumentAwsClient(client);
  return client;
}

/** Attribute names Sluice puts on its spans. */
export const TRACE_ATTRIBUTES = {
  pipeline: 'sluice.pipeline',
  ds: 'sluice.ds',
  stage: 'sluice.stage',
  kind: 'sluice.kind',
  jobId: 'sluice.job_id',
  attempt: 'sluice.attempt',
  outcome: 'sluice.outcome',
  workflowId: 'sluice.workflow_id',
  runId: 'sluice.run_id',
  generation: 'sluice.generation',
  command: 'sluice.command',
} as const;

/** @temporalio/interceptors-opentelemetry's workflow interceptor module, for a traced workflow bundle (resolved, not loaded). */
export function otelWorkflowInterceptorsPath(): string {
  return require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
}
