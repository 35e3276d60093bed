/**
 * Activities that use Temporal itself (through the worker's own client): what visibility knows of
 * each date's runs (a backfill's plan), waiting on a run the caller is not the parent of, and a
 * backfill's request for its own cancellation.
 */
import { Context, getClient, heartbeat, log } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { DateOutcome, DateRuns } from '../common/backfill-types';
import { MEMO_KEYS, RUN_STATUS, SEARCH_ATTRIBUTE_NAMES, WORKFLOW_TYPES } from '../common/constants';
import { addDays } from '../common/dates';
import { runWorkflowId } from '../common/naming';
import { failureOutcome } from '../common/outcomes';
import { runStartOptions } from '../common/run-start';
import type { RunPipelineInput } from '../common/run-types';

/** A date's run for a backfill to start without being its parent (see `startDateRun`). */
export interface StartDateRunRequest {
  input: RunPipelineInput;
  taskQueue: string;
  /** Unique to this start (the backfill's run, the date and its generation): kept in the run's memo. */
  startedBy: string;
}

export type StartedDateRun = { ours: true; runId: string } | { ours: false };

const STATUS_BY_EXECUTION: Record<string, string> = {
  RUNNING: RUN_STATUS.running,
  COMPLETED: RUN_STATUS.succeeded,
  FAILED: RUN_STATUS.failed,
  CANCELLED: RUN_STATUS.cancelled,
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
};

/**
 * The visibility query for one pipeline's runs from `from` to `to`, both dates included; either end
 * may be left open. The range is half-open (`>= from AND < to + 1 day`): the dev server's SQLite
 * visibility does not match a Datetime with `<=` or `=` its exact instant, so `<= "<to>T00:00:00Z"`
 * silently left out the run of `to` (a backfill then saw its last date as never run).
 */
export function runsQuery(pipeline: string, from?: string, to?: string): string {
  const { pipeline: P, date: D } = SEARCH_ATTRIBUTE_NAMES;
  return [
    `WorkflowType = "${WORKFLOW_TYPES.runPipeline}"`,
    `${P} = "${pipeline}"`,
    ...(from ? [`${D} >= "${from}T00:00:00Z"`] : []),
    ...(to ? [`${D} < "${addDays(to, 1)}T00:00:00Z"`] : []),
  ].join(' AND ');
}

/**
 * Per date with any run from `from` to `to`: the latest run's status, how many runs there were, and
 * whether one succeeded — what a backfill's plan rests on (the workflow's `listDateRuns` activity
 * and `sluice backfill --dry-run` read it the same way).
 */
export async function readDateRuns(
  client: Client,
  pipeline: string,
  from: string,
  to: string,
  onPage: (seen: number) => void = () => undefined,
): Promise<Record<string, DateRuns>> {
  const out: Record<string, DateRuns & { latestMs: number }> = {};
  let seen = 0;
  for await (const wf of client.workflow.list({ query: runsQuery(pipeline, from, to) })) {
    const ds = wf.workflowId.slice(pipeline.length + 1);
    if (wf.workflowId !== runWorkflowId(pipeline, ds)) continue;
    const status = STATUS_BY_EXECUTION[wf.status.name] ?? wf.status.name;
    const startMs = wf.startTime.getTime();
    const cur = (out[ds] ??= { last: status, runs: 0, everSucceeded: false, latestMs: startMs });
    cur.runs++;
    if (status === RUN_STATUS.succeeded) cur.everSucceeded = true;
    if (startMs >= cur.latestMs) {
      cur.latestMs = startMs;
      cur.last = status;
    }
    if (++seen % 500 === 0) onPage(seen);
  }
  return Object.fromEntries(Object.entries(out).map(([ds, { latestMs: _l, ...r }]) => [ds, r]));
}

export function createRunActivities() {
  return {
    /** Per date with any run: the latest run's status, how many runs there were, and whether one succeeded. */
    async listDateRuns(pipeline: string, from: string, to: string): Promise<Record<string, DateRuns>> {
      return readDateRuns(getClient(), pipeline, from, to, (seen) => heartbeat(seen));
    },

    /**
     * Waits for a run the caller is not the parent of, heartbeating meanwhile: one someone else
     * started (a daily schedule, `sluice run`, another backfill; `runId` absent: the current run),
     * or one a backfill started before it continued as new (`runId`: exactly that run). Cancelling
     * this wait does not cancel that run; a backfill cancels its own runs itself.
     */
    async awaitRun(workflowId: string, runId?: string): Promise<DateOutcome> {
      const handle = getClient().workflow.getHandle(workflowId, runId);
      const ctx = Context.current();
      const result = handle.result().then(
        (): DateOutcome => ({ ok: true }),
        (err: unknown): DateOutcome => {
          if (err instanceof WorkflowFailedError) return failureOutcome(err.cause ?? err);
          throw err;
        },
      );
      for (;;) {
        const tick = ctx.sleep(10_000).then(() => undefined);
        const outcome = await Promise.race([result, tick]);
        if (outcome) return outcome;
        heartbeat();
        log.debug('still waiting for a run started elsewhere', { workflowId });
      }
    },

    /**
     * Starts a date's run as a workflow of its own, the same run a backfill's child would be (ID
     * `<pipeline>/<ds>`, summary, search attributes) but with no parent, so its end sends no event
     * to the backfill (see workflows/backfill.ts, hand-over). Exactly once across retries: the
     * run carries `startedBy` in its memo, and a retry that finds the latest run of the ID carrying
     * it returns that run instead of starting another. A run already there from elsewhere is not ours.
     */
    async startDateRun(req: StartDateRunRequest): Promise<StartedDateRun> {
      const { pipeline, ds, generation, params, priority, fairnessKey } = req.input;
      const start = runStartOptions(pipeline, ds, generation ?? 0, params, {
        ...(priority !== undefined ? { priority } : {}),
        ...(fairnessKey !== undefined ? { fairnessKey } : {}),
      });
      const { workflowId } = start;
      const client = getClient();
      const mine = async (): Promise<StartedDateRun | undefined> => {
        try {
          const d = await client.workflow.getHandle(workflowId).describe();
          return d.memo?.[MEMO_KEYS.startedBy] === req.startedBy ? { ours: true, runId: d.runId } : undefined;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        }
      };
      if (Context.current().info.attempt > 1) {
        const found = await mine();
        if (found) return found;
      }
      try {
        const handle = await client.workflow.start(WORKFLOW_TYPES.runPipeline, {
          ...start,
          taskQueue: req.taskQueue,
          memo: { [MEMO_KEYS.startedBy]: req.startedBy },
        });
        return { ours: true, runId: handle.firstExecutionRunId };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        return (await mine()) ?? { ours: false };
      }
    },

    /**
     * Requests the cancellation of a workflow run, as `sluice backfill cancel` does: how a backfill
     * cancelled by the (older) cancel signal gets Temporal's cancellation request, which a
     * workflow cannot make for itself, so it ends CANCELED.
     */
    async requestCancel(workflowId: string, runId: string): Promise<void> {
      await getClient().workflow.getHandle(workflowId, runId).cancel();
    },
  };
}
