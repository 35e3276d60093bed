/**
 * OpenTelemetry tracing of Sluice's worker and CLI, loaded (with every OpenTelemetry module) only
 * when OTEL_EXPORTER_OTLP_ENDPOINT is set (common/tracing.ts decides; nothing imports this file
 * statically). One trace per `sluice run`: the CLI's span, Temporal's client span that starts the
 * workflow (its context travels in the workflow's headers), the workflow's spans (made inside the
 * sandbox and exported through the SDK's sink), each stage's activity span with Sluice's attributes
 * (sluice.pipeline, .ds, .stage, .kind, .job_id once known) and one client span per AWS call below
 * it (activities/aws-tracing.ts).
 *
 * The SDK side is @temporalio/interceptors-opentelemetry's OpenTelemetryPlugin, composed into
 * SluicePlugin (plugin/plugin.ts): client, activity and workflow interceptors, and the workflow
 * span exporter (makeWorkflowExporter) as a sink. Spans are exported with OTLP/HTTP (JSON) to
 * OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces), batched (OTEL_BSP_* variables); OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES describe the process.
 */
import { context, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { envDetectorSync, Resource, type IResource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { instrumentAwsClient } from '../activities/aws-tracing';
import { registerTracingHooks, type TraceAttributes } from '../common/tracing';

export interface SluiceTracing {
  readonly tracer: Tracer;
  readonly spanProcessor: SpanProcessor;
  readonly resource: IResource;
  /** Temporal's OpenTelemetry plugin fed by this tracing (SluicePlugin composes it). */
  temporalPlugin(): OpenTelemetryPlugin;
  /** Runs `fn` in a new active span `name`; an error thrown ends the span with status ERROR. */
  inSpan<T>(name: string, attrs: TraceAttributes, fn: (span: Span) => Promise<T>): Promise<T>;
  /** Ends nothing: marks `span` failed (status ERROR) with `message`. */
  setError(span: Span, message: string): void;
  /** Exports every ended span now. */
  flush(): Promise<void>;
  /** Flushes, then stops exporting (the process is ending). */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** service.name when OTEL_SERVICE_NAME does not set one. */
  serviceName: string;
  /** Default: a BatchSpanProcessor over an OTLP/HTTP exporter configured by the OTEL_* variables. */
  spanProcessor?: SpanProcessor;
}

let installed: SluiceTracing | undefined;

function resourceFor(serviceName: string): IResource {
  // Resource.default() carries the SDK's telemetry.sdk.* attributes; the env detector
  // (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) wins over Sluice's default service name.
  return Resource.default()
    .merge(new Resource({ [ATTR_SERVICE_NAME]: serviceName }))
    .merge(envDetectorSync.detect());
}

/**
 * Installs tracing for this process once: the global tracer provider (AsyncLocalStorage context,
 * W3C trace-context propagation) and the hooks the stage code calls. Later calls return the same
 * instance (the first caller's service name wins).
 */
export function installTracing(opts: TracingOptions): SluiceTracing {
  if (installed) return installed;
  const resource = resourceFor(opts.serviceName);
  const spanProcessor = opts.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  const tracer = provider.getTracer('sluice');
  let plugin: OpenTelemetryPlugin | undefined;
  let stopped: Promise<void> | undefined;
  const t: SluiceTracing = {
    tracer,
    spanProcessor,
    resource,
    temporalPlugin: () => (plugin ??= new OpenTelemetryPlugin({ resource, spanProcessor })),
    inSpan: (name, attrs, fn) =>
      tracer.startActiveSpan(name, { attributes: attrs }, context.active(), async (span) => {
        try {
          return await fn(span);
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
          throw err;
        } finally {
          span.end();
        }
      }),
    setError: (span, message) => span.setStatus({ code: SpanStatusCode.ERROR, message }),
    flush: () => provider.forceFlush(),
    shutdown: () => (stopped ??= provider.shutdown()),
  };
  registerTracingHooks({
    setAttributes: (attrs) => trace.getActiveSpan()?.setAttributes(attrs),
    instrumentAwsClient: (client) => instrumentAwsClient(client, tracer),
  });
  installed = t;
  return t;
}

/** The tracing installed in this process, if any. */
export function installedTracing(): SluiceTracing | undefined {
  return installed;
}
