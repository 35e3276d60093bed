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

/** Stage and run durations go from seconds to a day; the default buckets stop far short. */
const DURATION_BUCKETS_S = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400];

/**
 * Histogram buckets of Sluice's duration metrics, for a Runtime's Prometheus or OTel metrics
 * options (`histogramBucketOverrides`): what Sluice's own worker installs (workers/runtime.ts),
 * and what a team adding SluicePlugin to its worker can merge into its own Runtime.install.
 */
export const SLUICE_HISTOGRAM_BUCKETS: Record<string, number[]> = {
  [SLUICE_METRICS.stageDuration]: DURATION_BUCKETS_S,
  [SLUICE_METRICS.runDuration]: DURATION_BUCKETS_S,
};

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
  /** A succeeded stage's cost in USD at list prices (common/prices.ts), when its kind reports figures. */
  stageCost: 'StageCostUSD',
  /** A succeeded stage's Temporal actions (estimate: StageResult.temporalActions). */
  stageTemporalActions: 'StageTemporalActions',
} as const;

/** Dimension names (also the log line's fields carrying their values). */
export const EMF_DIMENSIONS = { pipeline: 'Pipeline', kind: 'StageKind' } as const;

type Unit = 'Count' | 'Seconds' | 'Milliseconds' | 'None';

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
