/**
 * Daily schedules on Temporal Schedules. A schedule starts `scheduledPipeline`, which derives the
 * logical date from the scheduled time and runs `<pipeline>/<ds>` as a child, so scheduled runs
 * look like any other run in the UI and never overlap a backfill of the same date.
 *
 * Defaults, and why:
 * - logical date = the day before the scheduled day, in the schedule's time zone (`dateOffsetDays` 1):
 *   a run at 02:00 processes the day that just closed;
 * - overlap ALLOW_ALL: consecutive runs are different dates, so a slow day must not delay or skip
 *   the next one (the same date can never run twice: the child's workflow ID prevents it);
 * - catch-up window 7 days: after an outage, the missed days run when the cluster is back; older
 *   ones are left to an explicit backfill;
 * - pause on failure off: one bad day should not stop the following days (an alarm should fire).
 */
import {
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptions,
} from '@temporalio/client';
import type { ScheduleOptionsAction } from '@temporalio/client/lib/schedule-types';
import type { ScheduledRunInput } from '../common/backfill-types';
import { WORKFLOW_TYPES } from '../common/constants';
import { addDays, isTimeZone, localDate } from '../common/dates';
import { runWorkflowId } from '../common/naming';
import type { RunTarget } from '../common/env';
import type { DurationSpec, PipelineDefinition } from '../common/pipeline';
import { UserInputError } from './errors';

export const OVERLAP_POLICIES = {
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'cancel-other': ScheduleOverlapPolicy.CANCEL_OTHER,
  'terminate-other': ScheduleOverlapPolicy.TERMINATE_OTHER,
} as const;
export type OverlapName = keyof typeof OVERLAP_POLICIES;

export const SCHEDULE_DEFAULTS = {
  dateOffsetDays: 1,
  overlap: 'allow-all' as OverlapName,
  catchupWindow: '7d',
  pauseOnFailure: false,
};

export interface DailyScheduleOptions {
  /** `HH:MM`, 24-hour clock, in `timezone`. */
  at: string;
  timezone: string;
  id?: string;
  dateOffsetDays?: number;
  overlap?: OverlapName;
  catchupWindow?: DurationSpec;
  pauseOnFailure?: boolean;
  note?: string;
  /** Run parameters for every scheduled run (checked with runParams). */
  params?: Record<string, unknown>;
}

export function defaultScheduleId(pipeline: string): string {
  return `${pipeline}/daily`;
}

export function parseAt(at: string): { hour: number; minute: number } {
  const m = /^(\d{1,2}):(\d{2})$/.exec(at);
  const hour = Number(m?.[1]);
  const minute = Number(m?.[2]);
  if (!m || hour > 23 || minute > 59)
    throw new UserInputError(
      `--at must be a time of day HH:MM on the 24-hour clock (received "${at}").\n  Fix: e.g. --at 02:00.`,
    );
  return { hour, minute };
}

export function validateScheduleOptions(o: DailyScheduleOptions): void {
  parseAt(o.at);
  if (!isTimeZone(o.timezone))
    throw new UserInputError(
      `--timezone must be an IANA time zone (received "${o.timezone}").\n  Fix: e.g. --timezone Europe/Berlin or --timezone UTC.`,
    );
  if (
    o.dateOffsetDays !== undefined &&
    (!Number.isInteger(o.dateOffsetDays) || o.dateOffsetDays < 0 || o.dateOffsetDays > 366)
  ) {
    throw new UserInputError(
      `--date-offset must be a whole number of days from 0 to 366 (received ${o.dateOffsetDays}).`,
    );
  }
  if (o.overlap !== undefined && !(o.overlap in OVERLAP_POLICIES)) {
    throw new UserInputError(
      `--overlap must be one of ${Object.keys(OVERLAP_POLICIES).join(', ')} (received "${o.overlap}").`,
    );
  }
}

function scheduleOptions(
  settings: RunTarget,
  pipeline: PipelineDefinition,
  o: DailyScheduleOptions,
): ScheduleOptions<ScheduleOptionsAction> {
  const { hour, minute } = parseAt(o.at);
  const input: ScheduledRunInput = {
    pipeline,
    timezone: o.timezone,
    dateOffsetDays: o.dateOffsetDays ?? SCHEDULE_DEFAULTS.dateOffsetDays,
    ...(o.params ? { params: o.params } : {}),
  };
  return {
    scheduleId: o.id ?? defaultScheduleId(pipeline.name),
    spec: { calendars: [{ hour, minute, comment: `daily at ${o.at} ${o.timezone}` }], timezone: o.timezone },
    action: {
      type: 'startWorkflow',
      workflowType: WORKFLOW_TYPES.scheduledPipeline,
      workflowId: `${pipeline.name}/scheduled`,
      taskQueue: settings.taskQueue,
      args: [input],
      staticSummary: `Scheduled run of ${pipeline.name} (daily at ${o.at} ${o.timezone}, logical date = scheduled day − ${input.dateOffsetDays})`,
    },
    policies: {
      overlap: OVERLAP_POLICIES[o.overlap ?? SCHEDULE_DEFAULTS.overlap],
      catchupWindow: o.catchupWindow ?? SCHEDULE_DEFAULTS.catchupWindow,
      pauseOnFailure: o.pauseOnFailure ?? SCHEDULE_DEFAULTS.pauseOnFailure,
    },
    state: { note: o.note ?? `created by sluice for pipeline ${pipeline.name}` },
  };
}

export async function createDailySchedule(
  client: Client,
  settings: RunTarget,
  pipeline: PipelineDefinition,
  o: DailyScheduleOptions,
) {
  validateScheduleOptions(o);
  return client.schedule.create(scheduleOptions(settings, pipeline, o));
}

export async function updateDailySchedule(
  client: Client,
  settings: RunTarget,
  id: string,
  pipeline: PipelineDefinition,
  o: DailyScheduleOptions,
): Promise<void> {
  validateScheduleOptions(o);
  const next = scheduleOptions(settings, pipeline, { ...o, id });
  await client.schedule
    .getHandle(id)
    .update((prev) => ({ ...prev, spec: next.spec, action: next.action, policies: next.policies }));
}

export interface ScheduleView {
  id: string;
  pipeline?: string;
  timezone?: string;
  paused: boolean;
  note?: string;
  spec: string;
  /** Upcoming times, UTC (ISO 8601). */
  nextRuns: string[];
  /** The same times on the schedule's clock: `YYYY-MM-DD HH:MM <zone>`. */
  nextRunsLocal: string[];
  recentRuns: RecentRun[];
}

export interface RecentRun {
  scheduledAt: string;
  /** The launcher workflow the schedule started (`<pipeline>/scheduled-<time>`). */
  workflowId: string;
  /** The logical date the launcher derived from the scheduled time, and the run of that date. */
  ds?: string;
  run?: string;
}

/** What a schedule starts: the pipeline and the rule turning a scheduled time into a logical date. */
function inputOf(d: ScheduleDescription): ScheduledRunInput | undefined {
  return (d.action as { args?: ScheduledRunInput[] }).args?.[0];
}

/**
 * The logical date of a run scheduled at `scheduledAt`: the same rule as scheduledPipeline's
 * (workflows/scheduled.ts): the scheduled day in the schedule's zone, minus the offset.
 */
export function logicalDateOf(
  input: Pick<ScheduledRunInput, 'timezone' | 'dateOffsetDays'>,
  scheduledAt: Date,
): string {
  return addDays(localDate(scheduledAt.getTime(), input.timezone), -input.dateOffsetDays);
}

/** `2024-03-02 02:00 Europe/Berlin`: an instant on the schedule's clock. */
export function zonedTime(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${timeZone}`;
}

function recentRunOf(
  input: ScheduledRunInput | undefined,
  a: ScheduleDescription['info']['recentActions'][number],
): RecentRun {
  const workflowId = a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : '';
  if (!input) return { scheduledAt: a.scheduledAt.toISOString(), workflowId };
  const ds = logicalDateOf(input, a.scheduledAt);
  return { scheduledAt: a.scheduledAt.toISOString(), workflowId, ds, run: runWorkflowId(input.pipeline.name, ds) };
}

export function viewOf(id: string, d: ScheduleDescription): ScheduleView {
  const input = inputOf(d);
  const cal = d.spec.calendars?.[0] as { comment?: string } | undefined;
  const timezone = input?.timezone ?? d.spec.timezone;
  const next = d.info.nextActionTimes.slice(0, 5);
  return {
    id,
    ...(input?.pipeline.name ? { pipeline: input.pipeline.name } : {}),
    ...(timezone ? { timezone } : {}),
    paused: d.state.paused,
    ...(d.state.note ? { note: d.state.note } : {}),
    spec: cal?.comment ?? JSON.stringify(d.spec),
    nextRuns: next.map((t) => t.toISOString()),
    nextRunsLocal: next.map((t) => zonedTime(t, timezone ?? 'UTC')),
    recentRuns: d.info.recentActions.slice(-5).map((a) => recentRunOf(input, a)),
  };
}

/**
 * Triggers the schedule now and waits (briefly) for the schedule to take the action, to say which
 * launcher it started and which date that runs. Undefined when the action did not show up in time
 * (e.g. an overlap policy skipped it).
 */
export async function triggerSchedule(handle: ScheduleHandle, waitMs = 10_000): Promise<RecentRun | undefined> {
  const before = (await handle.describe()).info.numActionsTaken;
  await handle.trigger();
  const deadline = Date.now() + waitMs;
  for (;;) {
    const d = await handle.describe();
    const last = d.info.recentActions.at(-1);
    if (d.info.numActionsTaken > before && last) return recentRunOf(inputOf(d), last);
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 200));
  }
}
