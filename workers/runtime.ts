/**
 * Installs the SDK's process-wide Runtime for a worker process: JSON logs at the configured level
 * and, when an HTTP port is set, the Prometheus exporter on a loopback port (served publicly by
 * http.ts together with the health check). Seconds for durations and `_total` counters follow
 * Prometheus conventions.
 */
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import type { WorkerConfig } from './config';
import { jsonLogger } from './logging';

/** Stage and run durations go from seconds to a day; the default buckets stop far short. */
const DURATION_BUCKETS_S = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400];

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
                histogramBucketOverrides: {
                  sluice_stage_duration_seconds: DURATION_BUCKETS_S,
                  sluice_run_duration_seconds: DURATION_BUCKETS_S,
                },
              },
            },
          }
        : {}),
    },
  });
  return true;
}
