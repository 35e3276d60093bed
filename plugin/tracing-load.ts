/**
 * Loads plugin/tracing.ts, and with it the OpenTelemetry SDK, only when tracing is on
 * (OTEL_EXPORTER_OTLP_ENDPOINT set): a process without it never requires an OpenTelemetry module.
 */
import { tracingEndpoint } from '../common/tracing';
import type * as TracingModule from './tracing';

export type { SluiceTracing } from './tracing';

export function loadTracingModule(): typeof TracingModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./tracing') as typeof TracingModule;
}

/**
 * This process's tracing when the environment turns it on (installed at the first call, as
 * `serviceName` unless OTEL_SERVICE_NAME says otherwise), undefined when it is off. A malformed
 * endpoint throws TracingConfigError (a ConfigError: exit 2).
 */
export function sluiceTracingFromEnv(
  serviceName = 'sluice',
  env: NodeJS.ProcessEnv = process.env,
): TracingModule.SluiceTracing | undefined {
  if (!tracingEndpoint(env)) return undefined;
  return loadTracingModule().installTracing({ serviceName });
}
