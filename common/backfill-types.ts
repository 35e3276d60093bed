/** Types of backfills and scheduled runs, shared by workflows, activities and the CLI, and the pure helpers on them. */
import type { FailureOutcome } from './outcomes';
import type { PipelineDefinition } from './pipeline';

export type BackfillOnly = 'missing' | 'failed' | 'all';
export type BackfillOrder = 'oldest' | 'newest';

export interface BackfillOptions {
  from: string;
  to: string;
  concurrency: number;
  only: BackfillOnly;
  order: BackfillOrder;
  /** Run parameters for every date (`--param`); the pipeline's defaults fill in the rest. */
  params?: Record<string, unknown>;
  /** Priority key of the dates' waits for pools (`--priority`); default one lower than the pipeline's. */
  priority?: number;
}

export interface BackfillInput extends BackfillOptions {
  pipeline: PipelineDefinition;
  /** Continue-as-new once history has this many events (default: when the server suggests it). */
  continueAsNewAfterEvents?: number;
  /** Carried across continue-as-new; absent on the first run. */
  carry?: BackfillState;
}

export interface DateFailure {
  ds: string;
  stage?: string;
  message: string;
}

export interface DateSkip {
  ds: string;
  reason: string;
}

/** Everything a backfill knows; small enough to carry across continue-as-new for thousands of dates. */
export interface BackfillState {
  /** Dates to run, in run order; `next` is the first not started yet. */
  queue: string[];
  /** Rerun generation per date (by position in `queue`). */
  generations: number[];
  next: number;
  succeeded: string[];
  failed: DateFailure[];
  skipped: DateSkip[];
  cancelled: string[];
  concurrency: number;
  paused: boolean;
  /** Runs of this backfill so far (continue-as-new count + 1). */
  segment: number;
  startedAt: string;
  /**
   * Dates still running when this run continued as new: the next run awaits them in its window
   * (absent in states carried by code that drained the window before continuing as new).
   */
  running?: CarriedDate[];
}

/** A date running across continue-as-new. */
export interface CarriedDate {
  ds: string;
  generation: number;
  /**
   * Ours: the backfill started this run (`runId`) and cancels it when the backfill is cancelled.
   * Not ours: it was already running when the backfill reached the date (a schedule, `sluice run`,
   * another backfill); it is awaited, never cancelled.
   */
  ours: boolean;
  /** Absent for a run of ours whose start was not confirmed yet: Temporal drops it, the next run starts it. */
  runId?: string;
}

export interface BackfillProgress extends BackfillOptions {
  pipeline: string;
  total: number;
  counts: { pending: number; running: number; succeeded: number; failed: number; skipped: number; cancelled: number };
  running: string[];
  failed: DateFailure[];
  paused: boolean;
  cancelling: boolean;
  segment: number;
  startedAt: string;
}

export interface BackfillReport {
  pipeline: string;
  from: string;
  to: string;
  succeeded: string[];
  failed: DateFailure[];
  skipped: DateSkip[];
  cancelled: string[];
  /** `running` only while the backfill runs (the report query). */
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
}

/** What visibility knows of one date's runs (input to the backfill's plan). */
export interface DateRuns {
  /** Status of the latest run: Running, Succeeded, Failed, Cancelled, or Terminated/TimedOut. */
  last: string;
  /** Executions of `<pipeline>/<ds>` so far: the next run's generation. */
  runs: number;
  /** Whether any run of that date succeeded. */
  everSucceeded: boolean;
}

export interface ScheduledRunInput {
  pipeline: PipelineDefinition;
  /** IANA zone of the schedule, used to turn the scheduled time into a date. */
  timezone: string;
  /** Logical date = (scheduled date in `timezone`) − this many days. Default 1: the day that just closed. */
  dateOffsetDays: number;
  /** Run parameters for every scheduled run (`--param`). */
  params?: Record<string, unknown>;
}

/** Outcome of one date run as the backfill or a scheduled launcher sees it. */
export type DateOutcome = { ok: true } | FailureOutcome;

/** Dates that need nothing more: succeeded, failed, skipped or cancelled (the progress bar's value). */
export function datesDone(c: BackfillProgress['counts']): number {
  return c.succeeded + c.failed + c.skipped + c.cancelled;
}
