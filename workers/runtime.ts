/**
 * Installs the SDK's process-wide Runtime for a worker process: JSON logs at the configured level
 * and, when an HTTP port is set, the Prometheus exporter on a loopback port (served publicly by
 * http.ts together with the health check). Seconds for durations and `_total` counters follow
 * Prometheus conventions.
 */
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import type { WorkerConfig } from './config';
import { SLUICE_HISTOGRAM_BUCKETS } from '../plugin/emf';
import { jsonLogger } from './logging';

/** Installs the Runtime once per process; returns false if one was already installed (tests, embedders). */
export function installWorkerRuntime(config: Pick<WorkerConfig, 'logLevel' | 'sdkMetricsPort'>): boolean {
  if (Runtime._instance) return false;
  Runtime.install({
    logger: jsonLogger(config.logLevel),
    telemetryOptions: {
      logging: {
        filter: makeTelemetryFilterString({
          core: config.logLevel === 'TRACE' || config.logLevel === 'DEBUG' ? 'INFO' : 'WARN',
        }),
        forward: {},
      },
      ...(config.sdkMetricsPort !== undefined
        ? {
            metrics: {
              prometheus: {
                bindAddress: `127.0.0.1:${config.sdkMetricsPort}`,
                useSecondsForDurations: true,
                countersTotalSuffix: true,
                histogramBucketOverrides: SLUICE_HISTOGRAM_BUCKETS,
              },
            },
          }
        : {}),
    },
  });
  return true;
}
