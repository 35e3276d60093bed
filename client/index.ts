/**
 * `sluice`: the library. Pipelines (load a YAML file or define one in code, validate it), the
 * client API for runs, backfills and schedules (what the `sluice` CLI calls), and SluicePlugin
 * for a team's own Temporal Worker and Client. Sluice's workflows are `sluice/workflows`; the
 * helper that runs a pipeline as a child of a team's own workflow is `sluice/workflows/child`.
 *
 * Loading this module loads neither the stage code (the AWS SDK) nor the worker's native runtime.
 */

// Pipelines
export {
  definePipeline,
  formatIssues,
  PipelineValidationError,
  validateLogicalDate,
  validatePipeline,
  type PipelineDefinition,
  type PipelineIssue,
  type StageDefinition,
} from '../common/pipeline';
export { loadPipelineFile, runParams } from './load-pipeline';

// Connecting
export { temporalSettings, runUiUrl, type RunTarget, type TemporalSettings } from '../common/env';
export { clientSettings, connectClient } from './runs';

// Runs
export {
  cancelRun,
  queryStatus,
  readRunStatus,
  startRun,
  waitForRun,
  type CancelOutcome,
  type RunOutcome,
  type StartedRun,
  type StartRunOptions,
} from './runs';
export { listRuns, type RunRow } from './run-list';
export type { RunPipelineInput, RunStatus, StageStatus, StageResult, StageError } from '../common/run-types';

// Backfills
export {
  backfillHandle,
  backfillProgress,
  backfillReport,
  backfillWorkflowId,
  formatReport,
  startBackfill,
  steer,
  validateBackfillOptions,
  waitForBackfill,
  type BackfillOutcome,
  type StartedBackfill,
} from './backfills';
export type {
  BackfillOnly,
  BackfillOptions,
  BackfillOrder,
  BackfillProgress,
  BackfillReport,
} from '../common/backfill-types';

// Schedules
export {
  createDailySchedule,
  defaultScheduleId,
  OVERLAP_POLICIES,
  SCHEDULE_DEFAULTS,
  triggerSchedule,
  updateDailySchedule,
  validateScheduleOptions,
  viewOf,
  type DailyScheduleOptions,
  type OverlapName,
  type ScheduleView,
} from './schedules';

// Names and search attributes every run has, whoever starts it
export { runSummary, runWorkflowId } from '../common/naming';
export { runStartOptions } from '../common/run-start';
export { SA_DATE, SA_PIPELINE, SA_STATUS } from '../common/search-attributes';
export {
  DEFAULT_TASK_QUEUE,
  QUERY_NAMES,
  RUN_STATUS,
  SEARCH_ATTRIBUTE_NAMES,
  SIGNAL_NAMES,
  STAGE_KINDS,
  WORKFLOW_TYPES,
  type StageKind,
} from '../common/constants';

// The Temporal plugin
export { SluicePlugin, WORKFLOW_INTERCEPTORS_PATH, type SluicePluginOptions } from '../plugin/plugin';
export { sluiceDataConverter, type SluicePayloadOptions } from '../plugin/payloads';
export type { AwsClientOptions } from '../activities/aws-clients';
export { SLUICE_HISTOGRAM_BUCKETS, SLUICE_METRICS } from '../plugin/emf';

// Errors
export { CliConfigError, GenerationUnknownError, TemporalUnreachableError, UserInputError } from './errors';
