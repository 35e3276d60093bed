/**
 * CloudWatch embedded metric format (EMF): a log line with an `_aws` member becomes metrics in
 * CloudWatch, with no PutMetricData call. Pure (no Node built-ins): the workflow interceptor
 * uses it too.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

/** Prometheus names of Sluice's own metrics, served with the SDK's (prefixed temporal_) on /metrics. */
export const SLUICE_METRICS = {
  stageAttempts: 'sluice_stage_attempts',
  stageDuration: 'sluice_stage_duration_seconds',
  runsStarted: 'sluice_runs_started',
  runsCompleted: 'sluice_runs_completed',
  runDuration: 'sluice_run_duration_seconds',
} as const;

/** CloudWatch namespace of every Sluice metric; the CDK alarms and dashboard read it. */
export const METRIC_NAMESPACE = 'Sluice';

export const EMF_METRICS = {
  runStarted: 'RunStarted',
  runSucceeded: 'RunSucceeded',
  runFailed: 'RunFailed',
  runCancelled: 'RunCancelled',
  runDuration: 'RunDuration',
  stageSucceeded: 'StageSucceeded',
  stageFailed: 'StageFailed',
  stageDuration: 'StageDuration',
  /** Milliseconds a stage attempt waited for a worker: the fleet is too small when it grows. */
  scheduleToStart: 'StageScheduleToStart',
} as const;

/** Dimension names (also the log line's fields carrying their values). */
export const EMF_DIMENSIONS = { pipeline: 'Pipeline', kind: 'StageKind' } as const;

type Unit = 'Count' | 'Seconds' | 'Milliseconds';

/**
 * The fields to merge into one log line so it carries `metrics` under each set of dimensions.
 * `dimensions` maps a dimension name to its value; `sets` lists which dimension combinations to
 * publish (CloudWatch aggregates each separately).
 */
export function emfFields(
  timestampMs: number,
  dimensions: Record<string, string>,
  sets: string[][],
  metrics: Record<string, { value: number; unit: Unit }>,
): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: METRIC_NAMESPACE,
          Dimensions: sets,
          Metrics: Object.entries(metrics).map(([Name, m]) => ({ Name, Unit: m.unit })),
        },
      ],
    },
    ...dimensions,
    ...Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, m.value])),
  };
}
