/**
 * One OpenTelemetry client span per AWS SDK call, through a middleware on each client Sluice builds
 * (activities/aws-clients.ts). Loaded only when tracing is on (plugin/tracing.ts registers it).
 *
 * Why not @opentelemetry/instrumentation-aws-sdk: it patches `@smithy/smithy-client` and
 * `@smithy/middleware-stack` when they are required, and the AWS SDK clients Sluice pins
 * (@aws-sdk/client-* 3.10xx–3.11xx) no longer load those packages (they come bundled in
 * @smithy/core), so it traces nothing (checked with 0.49.1, and 0.79.0 hooks the same modules);
 * its releases after 0.5x also need @opentelemetry/api 1.10, which the 1.x SDK that
 * @temporalio/interceptors-opentelemetry 1.24 uses does not accept. The middleware needs no
 * patching and records the same semantic conventions: span `<Service>.<Operation>` (kind CLIENT),
 * rpc.system=aws-api, rpc.service, rpc.method, aws.request_id, http.response.status_code, and the
 * error (exception event, status ERROR) of a failed call. It sits in the `initialize` step, so the
 * SDK's own retries of one call stay inside its one span.
 */
import { SpanKind, SpanStatusCode, context, trace, type Tracer } from '@opentelemetry/api';

interface Metadata {
  httpStatusCode?: number;
  requestId?: string;
  extendedRequestId?: string;
  attempts?: number;
}

interface HandlerContext {
  clientName?: string;
  commandName?: string;
}

type Handler = (args: unknown) => Promise<{ output?: { $metadata?: Metadata } }>;

interface TraceableClient {
  config?: { serviceId?: string };
  middlewareStack: {
    add(
      mw: (next: Handler, ctx: HandlerContext) => Handler,
      opts: { step: 'initialize'; name: string; priority?: 'high' | 'normal' | 'low' },
    ): void;
  };
}

const MIDDLEWARE_NAME = 'sluiceTracingMiddleware';
const instrumented = new WeakSet<object>();

function isTraceable(client: unknown): client is TraceableClient {
  return (
    typeof client === 'object' &&
    client !== null &&
    typeof (client as { middlewareStack?: { add?: unknown } }).middlewareStack?.add === 'function'
  );
}

function metadataAttributes(m: Metadata | undefined): Record<string, string | number> {
  return {
    ...(m?.requestId ? { 'aws.request_id': m.requestId } : {}),
    ...(m?.httpStatusCode !== undefined ? { 'http.response.status_code': m.httpStatusCode } : {}),
    ...(m?.attempts !== undefined ? { 'aws.attempts': m.attempts } : {}),
  };
}

/** Adds the tracing middleware to `client` once; ignores anything that is not an AWS SDK v3 client. */
export function instrumentAwsClient(client: unknown, tracer: Tracer): void {
  if (!isTraceable(client) || instrumented.has(client)) return;
  instrumented.add(client);
  client.middlewareStack.add(
    (next, hctx) => async (args) => {
      const service = client.config?.serviceId ?? hctx.clientName?.replace(/Client$/, '') ?? 'AWS';
      const method = hctx.commandName?.replace(/Command$/, '') ?? 'unknown';
      const span = tracer.startSpan(
        `${service}.${method}`,
        {
          kind: SpanKind.CLIENT,
          attributes: { 'rpc.system': 'aws-api', 'rpc.service': service, 'rpc.method': method },
        },
        context.active(),
      );
      try {
        const result = await context.with(trace.setSpan(context.active(), span), () => next(args));
        span.setAttributes(metadataAttributes(result.output?.$metadata));
        return result;
      } catch (err) {
        const e = err as Error & { $metadata?: Metadata };
        span.setAttributes(metadataAttributes(e.$metadata));
        span.recordException(e);
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${e.name}: ${e.message}`.slice(0, 500) });
        throw err;
      } finally {
        span.end();
      }
    },
    { step: 'initialize', name: MIDDLEWARE_NAME, priority: 'high' },
  );
}
