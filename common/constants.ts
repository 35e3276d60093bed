/**
 * Names shared by the workflows, activities, worker and CLI. Declared once here and imported
 * everywhere, so a rename can never leave one side speaking an old name.
 *
 * This module must stay free of Node built-ins and side effects: workflow code imports it.
 */

/** Default task queue for Sluice workers; override with `SLUICE_TASK_QUEUE`. */
export const DEFAULT_TASK_QUEUE = 'sluice';

export const WORKFLOW_TYPES = {
  runPipeline: 'runPipeline',
  backfillPipeline: 'backfillPipeline',
  /** What a daily schedule starts: derives the logical date, then runs `<pipeline>/<ds>` as a child. */
  scheduledPipeline: 'scheduledPipeline',
  /** A forEach stage: its items in chunks (workflows/fan-out.ts). */
  fanOutStage: 'fanOutStage',
  /** One chunk of a forEach stage's items. */
  fanOutChunk: 'fanOutChunk',
  /** Sends one transition's events to a pipeline's `notify:` destinations (workflows/notify.ts). */
  notify: 'sluiceNotify',
} as const;

export const QUERY_NAMES = {
  /** Returns a {@link RunStatus}: every stage's state. */
  status: 'status',
  /** Returns a BackfillProgress. */
  progress: 'progress',
  /** Returns a BackfillReport: what ran so far, and what was cancelled (also after the backfill ended). */
  report: 'report',
} as const;

export const SIGNAL_NAMES = {
  pause: 'pause',
  resume: 'resume',
  setConcurrency: 'setConcurrency',
  /** Kept for clients of before: `sluice backfill cancel` requests the workflow's cancellation instead. */
  cancel: 'cancel',
} as const;

/** Backfill limits. Temporal allows 2,000 pending child workflows per execution; stay well below. */
export const BACKFILL_LIMITS = {
  maxConcurrency: 500,
  /** Dates in one backfill without `--force` (about a year). */
  maxDatesWithoutForce: 400,
  /** Dates in one backfill at all (the plan travels in workflow payloads). */
  maxDates: 20_000,
} as const;

/**
 * Custom search attributes. They must be registered on the namespace
 * (the local stack passes them to `temporal server start-dev --search-attribute`).
 *
 * `SluiceDate` is a Datetime holding midnight UTC of the logical date, so visibility queries can use
 * ranges, written half-open (`<` the day after the last date: `<=` an exact midnight does not match
 * on every visibility store): `SluicePipeline = "sales" AND SluiceDate >= "2024-03-01T00:00:00Z"
 * AND SluiceDate < "2024-04-01T00:00:00Z"`.
 */
export const SEARCH_ATTRIBUTE_NAMES = {
  pipeline: 'SluicePipeline',
  date: 'SluiceDate',
  status: 'SluiceStatus',
} as const;

/** Values of the `SluiceStatus` search attribute, kept current by `runPipeline`. */
export const RUN_STATUS = {
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
} as const;
export type RunStatusValue = (typeof RUN_STATUS)[keyof typeof RUN_STATUS];

/**
 * `ApplicationFailure.type` values. Activities throw them; workflows and the CLI read them.
 * See activities/errors.ts for when each is thrown.
 */
export const ERROR_TYPES = {
  /** An AWS job ended FAILED / TIMEOUT. Non-retryable: rerunning the same request gives the same result. */
  jobFailed: 'JobFailedError',
  /** An AWS job ended STOPPED / CANCELLED without Sluice asking. Never a success. Non-retryable. */
  jobStopped: 'JobStoppedError',
  /** AWS refused the request (validation, access denied, not found). Non-retryable: fix the pipeline or permissions. */
  awsRequest: 'AwsRequestError',
  /** Throttling, 5xx, network, concurrency limits. Retried with backoff. */
  awsTransient: 'AwsTransientError',
  /** A sensor (s3.wait) did not see its object before the stage deadline. Non-retryable. */
  sensorTimeout: 'SensorTimeoutError',
  /** The stage input is wrong in a way only visible at run time (e.g. a BodyFile the worker cannot read). */
  stageInput: 'StageInputError',
  /** A stage's `expect` check did not hold (e.g. a query returned no rows). Non-retryable. */
  qualityCheck: 'QualityCheckError',
  /** More items of a forEach stage failed than it tolerates; each item's own job has ended or was stopped. */
  itemsFailed: 'ItemsFailedError',
  /** A stage failed; thrown by runPipeline so the run's failure names the stage. */
  stageFailed: 'StageFailedError',
  /** A backfill ended with at least one failed date; details carry the report. */
  backfillFailed: 'BackfillFailedError',
  /** runPipeline was started with a pipeline whose stages do not form a valid DAG (not through the CLI). Non-retryable. */
  pipelineInvalid: 'PipelineValidationError',
} as const;

/**
 * Memo keys. A closed run's stages are read from its result, its failure's details or this memo
 * (cancelled runs), never by a query: a query on a closed run needs a live worker to replay it.
 */
export const MEMO_KEYS = {
  /** The final RunStatus of a cancelled run (stage outputs left out to keep the memo small). */
  run: 'sluiceRun',
  /** Every closed run's stages in a few hundred bytes (common/grid-memo.ts): what `sluice grid` reads. */
  grid: 'sluiceGrid',
  /** The final BackfillReport of a cancelled backfill. */
  backfillReport: 'sluiceBackfillReport',
  /**
   * On a date's run that a backfill started through an activity (around continue-as-new, see
   * workflows/backfill.ts): which start made it, so a retried start recognises its own run.
   */
  startedBy: 'sluiceStartedBy',
} as const;

/** Error types that retrying cannot fix; the stage retry policy never retries them. */
export const NON_RETRYABLE_ERROR_TYPES: readonly string[] = [
  ERROR_TYPES.jobFailed,
  ERROR_TYPES.jobStopped,
  ERROR_TYPES.awsRequest,
  ERROR_TYPES.sensorTimeout,
  ERROR_TYPES.stageInput,
  ERROR_TYPES.qualityCheck,
];

// Stage kinds: declared by their descriptors (common/kinds/index.ts), re-exported for the files
// that import them from here. common/kinds never imports this module, so there is no cycle.
export { CHILD_RUN_KINDS, RESULT_KINDS, SENSOR_KINDS, STAGE_KINDS, type StageKind } from '../kinds';
export { EMR_CLUSTER_TAGS } from '../kinds/emr-cluster/kind';

/** Template names usable as `{{ name }}` in any string param. */
export const TEMPLATE_NAMES = ['ds', 'ds_nodash', 'year', 'month', 'day', 'prev_ds', 'next_ds', 'pipeline'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];
