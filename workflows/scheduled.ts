/**
 * `scheduledPipeline`: what a daily Temporal Schedule starts. It turns the scheduled time into the
 * logical date (by default the day before, in the schedule's time zone: the data interval that
 * just closed) and runs `<pipeline>/<ds>` as a child, so a scheduled run has the same workflow ID,
 * search attributes and summary as any run of that date, and never overlaps a backfill of it.
 */
import { ApplicationFailure, CancelledFailure, workflowInfo } from '@temporalio/workflow';
import type { DateOutcome, ScheduledRunInput } from '../common/backfill-types';
import { addDays, localDate } from '../common/dates';
import { listDateRuns, runDate } from './date-run';
import { ERROR_TYPES } from '../common/constants';
import { SA_SCHEDULED_START_TIME } from '../common/search-attributes';
import { AUTO_UPGRADE, versioned } from './versioning';

export function scheduledDate(scheduledAtMs: number, timezone: string, dateOffsetDays: number): string {
  return addDays(localDate(scheduledAtMs, timezone), -dateOffsetDays);
}

// On a versioned worker: AUTO_UPGRADE (moves to the current build at its next workflow task; see workflows/versioning.ts).
versioned(AUTO_UPGRADE, scheduledPipeline);
export async function scheduledPipeline(input: ScheduledRunInput): Promise<{ ds: string; outcome: DateOutcome }> {
  const info = workflowInfo();
  const scheduledAt = info.typedSearchAttributes.get(SA_SCHEDULED_START_TIME) ?? info.startTime;
  const ds = scheduledDate(scheduledAt.getTime(), input.timezone, input.dateOffsetDays);
  const earlier = (await listDateRuns(input.pipeline.name, ds, ds))[ds];
  const outcome = await runDate(input.pipeline, ds, earlier?.runs ?? 0, input.params ? { params: input.params } : {});
  if (outcome.ok) return { ds, outcome };
  if (outcome.cancelled) throw new CancelledFailure(`run ${input.pipeline.name}/${ds} was cancelled`);
  throw ApplicationFailure.create({
    message: outcome.message,
    type: ERROR_TYPES.stageFailed,
    nonRetryable: true,
    details: [{ ds, ...outcome }],
  });
}
