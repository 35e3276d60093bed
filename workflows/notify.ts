/**
 * Notifications (issue #21): a run's end (or a backfill's) starts `sluiceNotify`, a small workflow
 * of its own that sends the transition's events to the pipeline's `notify:` destinations.
 *
 * Why a child workflow, abandoned (ParentClosePolicy.ABANDON), and not an activity of the run:
 * - the run must neither fail nor wait on a destination: its close waits only for Temporal to
 *   record the notifier's start (one event, no AWS call); the sends and their retries (backoff
 *   up to hours while a webhook is down) happen after the run has closed. An activity the run did
 *   not await would be dropped when the run closes, and its retries with it.
 * - once per transition: the notifier's workflow ID is the transition's
 *   (`sluice-notify:<type>:<workflowId>:<runId>`), so a run whose workflow task is retried after
 *   its worker died starts it once; each event has a stable id (common/notifications.ts eventId)
 *   that goes with every send and every retry of it (activities/notify.ts).
 * - a destination that stays down leaves a failed notifier listing what it could not send.
 *
 * Deterministic: imports only @temporalio/workflow, shared constants/pure helpers and activity types.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  log,
  patched,
  proxyActivities,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { SluiceActivities } from '../activities';
import type { BackfillReport } from '../common/backfill-types';
import { WORKFLOW_TYPES } from '../common/constants';
import {
  eventId,
  eventsOf,
  hears,
  type NotifyEvent,
  type NotifyEventType,
  type NotifySpec,
  type RunTransition,
} from '../common/notifications';
import type { PipelineDefinition } from '../common/pipeline';
import { runCost } from '../common/prices';
import type { RunStatus, StageStatus } from '../common/run-types';
import { PINNED, versioned } from './versioning';

/** Patch id: a run (or backfill) of a pipeline with `notify:` starts its notifier when it ends. */
export const NOTIFY_PATCH = 'sluice-notify-1';

/** How a send is retried: backoff from 2 s to 10 min, for about 4 hours; then it is reported unsent. */
export const NOTIFY_RETRY = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '10m',
  maximumAttempts: 30,
} as const;

export interface NotifyInput {
  notify: NotifySpec[];
  transition: RunTransition;
  /** What every event of the transition carries (its id and type are added per event). */
  event: Omit<NotifyEvent, 'id' | 'type'>;
  /** The run (or backfill) the events are about. */
  link: { workflowId: string; runId: string };
}

export interface NotifyReport {
  sent: { id: string; destination: string; receipt: string }[];
  unsent: { id: string; to: number; message: string }[];
}

/** Temporal's statuses of a previous run after which a success is a recovery. */
const FAILED_BEFORE = ['FAILED', 'TIMED_OUT'];

const { sendNotification } = proxyActivities<SluiceActivities>({
  // A send takes a second or two (a webhook is given 10 s): a worker that died mid-send is retried after 20 s.
  startToCloseTimeout: '20s',
  retry: NOTIFY_RETRY,
  summary: 'send a notification',
});
const { previousRunStatus } = proxyActivities<SluiceActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 10 },
  summary: "read the date's previous run",
});

versioned(PINNED, sluiceNotify);
export async function sluiceNotify(input: NotifyInput): Promise<NotifyReport> {
  const { link } = input;
  let transition = input.transition;
  const heard = (type: NotifyEventType): boolean => input.notify.some((spec) => hears(spec, type));
  if (transition.to === 'succeeded' && !transition.failedBefore && heard('recovered')) {
    const previous = await previousRunStatus(link.workflowId, link.runId).catch(() => undefined);
    if (previous !== undefined && FAILED_BEFORE.includes(previous)) transition = { ...transition, failedBefore: true };
  }
  const report: NotifyReport = { sent: [], unsent: [] };
  const sends: Promise<void>[] = [];
  const types: NotifyEventType[] = input.event.counts ? ['backfill'] : eventsOf(transition);
  for (const type of types) {
    const event: NotifyEvent = { ...input.event, id: eventId(type, link.workflowId, link.runId), type };
    input.notify.forEach((spec, to) => {
      if (!hears(spec, type)) return;
      sends.push(
        sendNotification({ to: spec.to, event, link }).then(
          (r) => void report.sent.push({ id: event.id, ...r }),
          (err: unknown) => {
            const message = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : '';
            report.unsent.push({ id: event.id, to, message });
          },
        ),
      );
    });
  }
  await Promise.all(sends);
  // Unsent after every retry: the notifier fails, so `WorkflowType = "sluiceNotify" AND
  // ExecutionStatus = "Failed"` finds what nobody was told. The run it is about is not affected.
  if (report.unsent.length)
    throw ApplicationFailure.create({
      message: `${report.unsent.length} of ${report.unsent.length + report.sent.length} notifications not sent: ${report.unsent[0]?.message ?? ''}`,
      type: 'NotifyError',
      nonRetryable: true,
      details: [report],
    });
  return report;
}

/** Starts the notifier of a transition; never throws and never waits for a send. */
async function startNotifier(notify: NotifySpec[], transition: RunTransition, event: NotifyInput['event']) {
  const { workflowId, runId } = workflowInfo();
  const type: NotifyEventType = event.counts ? 'backfill' : transition.to;
  await CancellationScope.nonCancellable(async () => {
    try {
      await startChild(WORKFLOW_TYPES.notify, {
        workflowId: `sluice-notify:${type}:${workflowId}:${runId}`,
        args: [{ notify, transition, event, link: { workflowId, runId } } satisfies NotifyInput],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `notify ${type}: ${event.pipeline}${event.ds ? ` ${event.ds}` : ' backfill'}`,
      });
    } catch (err) {
      // The notifier of this transition exists already (a reset run): the events went out then.
      log.warn('notifier not started', { type, error: err instanceof Error ? err.message : String(err) });
    }
  });
}

/** The stage that failed (or holds the date up): its id, job, how long it ran and AWS's message. */
function stageOf(st: StageStatus | undefined, nowMs: number): NotifyEvent['stage'] {
  if (!st) return undefined;
  const started = st.startedAt ? Date.parse(st.startedAt) : undefined;
  const ended = st.endedAt ? Date.parse(st.endedAt) : nowMs;
  const jobId = st.jobId ?? st.error?.jobId;
  return {
    id: st.id,
    ...(jobId ? { jobId } : {}),
    ...(started !== undefined ? { runningMs: Math.max(0, ended - started) } : {}),
    ...(st.error?.message ? { message: st.error.message } : {}),
  };
}

/**
 * What run-pipeline calls as the run ends (`run.status` set): the run's events go to the
 * pipeline's destinations, in a notifier the run does not wait on. Nothing for a pipeline without
 * `notify:` (no command: runs of before replay unchanged).
 */
export async function notifyRunEnd(pipeline: PipelineDefinition, run: RunStatus, failed?: StageStatus): Promise<void> {
  if (!pipeline.notify?.length || run.status === 'running' || !patched(NOTIFY_PATCH)) return;
  const now = Date.now();
  const stage = run.status === 'failed' ? stageOf(failed, now) : undefined;
  const usd = runCost(run).total.usd;
  await startNotifier(
    pipeline.notify,
    { to: run.status },
    {
      pipeline: pipeline.name,
      ds: run.ds,
      status: run.status,
      ...(stage ? { stage } : {}),
      ...(usd !== undefined ? { costUsd: usd } : {}),
      at: new Date(now).toISOString(),
    },
  );
}

/** What backfill.ts calls with its final report: the backfill's end, with its counts. */
export async function notifyBackfillEnd(pipeline: PipelineDefinition, report: BackfillReport): Promise<void> {
  if (!pipeline.notify?.length || report.status === 'running' || !patched(NOTIFY_PATCH)) return;
  const first = report.failed[0];
  await startNotifier(
    pipeline.notify,
    { to: report.status },
    {
      pipeline: pipeline.name,
      status: report.status,
      counts: {
        succeeded: report.succeeded.length,
        failed: report.failed.length,
        skipped: report.skipped.length,
        cancelled: report.cancelled.length,
      },
      ...(first ? { stage: { id: first.stage ?? '?', message: `${first.ds}: ${first.message}` } } : {}),
      at: new Date().toISOString(),
    },
  );
}
