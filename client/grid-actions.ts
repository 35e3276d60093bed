/**
 * What the page of `sluice ui` starts (issue #22): a date's re-run and a backfill of the failed
 * dates of a selection, through the same functions as `sluice run` and `sluice backfill`
 * (startRun, startBackfill). The pipeline is the one the date's latest run ran, read from that
 * run's start event (its input, decoded with the client's payload keys): the grid reads Temporal
 * only, and a re-run runs what ran before, with the same parameters.
 */
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { runsQuery } from '../activities/runs';
import type { BackfillOptions } from '../common/backfill-types';
import type { RunTarget } from '../common/env';
import { runWorkflowId } from '../common/naming';
import { validateLogicalDate } from '../common/pipeline';
import type { RunPipelineInput } from '../common/run-types';
import { startBackfill, validateBackfillOptions } from './backfills';
import { UserInputError } from './errors';
import { startRun } from './runs';

/** The input the run `workflowId` (its latest execution, or `runId`) was started with. */
export async function runInput(client: Client, workflowId: string, runId?: string): Promise<RunPipelineInput> {
  const history = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, ...(runId ? { runId } : {}) },
    maximumPageSize: 1,
  });
  const started = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started) throw new UserInputError(`the run ${workflowId} has no start event to read its pipeline from.`);
  return decodeFromPayloadsAtIndex<RunPipelineInput>(client.options.loadedDataConverter, 0, started.input?.payloads);
}

/** The latest run of `pipeline` among `dates` (visibility, one page): where a backfill's definition comes from. */
async function latestRunIn(
  client: Client,
  pipeline: string,
  from: string,
  to: string,
): Promise<{ workflowId: string; runId: string }> {
  let best: { workflowId: string; runId: string; start: number } | undefined;
  for await (const wf of client.workflow.list({ query: runsQuery(pipeline, from, to), pageSize: 1000 })) {
    if (wf.workflowId !== runWorkflowId(pipeline, wf.workflowId.slice(pipeline.length + 1))) continue;
    if (!best || wf.startTime.getTime() > best.start)
      best = { workflowId: wf.workflowId, runId: wf.runId, start: wf.startTime.getTime() };
  }
  if (!best)
    throw new UserInputError(
      `no run of ${pipeline} from ${from} to ${to} to take the pipeline from.\n  Fix: start it with \`sluice backfill --pipeline <file>\`.`,
    );
  return best;
}

export interface RerunStarted {
  workflowId: string;
  runId: string;
  url?: string;
  attached: boolean;
  generation: number;
}

/** Re-runs `ds` (a new generation: fresh AWS jobs) with the pipeline and parameters of its latest run. */
export async function rerunDate(
  client: Client,
  settings: RunTarget,
  pipeline: string,
  ds: string,
): Promise<RerunStarted> {
  validateLogicalDate(ds, 'date');
  const workflowId = runWorkflowId(pipeline, ds);
  const input = await runInput(client, workflowId).catch((err: unknown) => {
    throw new UserInputError(
      `${ds} has no run of ${pipeline} to re-run (${err instanceof Error ? err.message : String(err)}).\n  Fix: start its first run with \`sluice run --pipeline <file> --date ${ds}\`.`,
    );
  });
  const started = await startRun(client, settings, input.pipeline, ds, {
    ...(input.params ? { params: input.params } : {}),
    ...(input.priority !== undefined ? { priority: input.priority } : {}),
  });
  return {
    workflowId: started.workflowId,
    runId: started.runId,
    ...(started.url ? { url: started.url } : {}),
    attached: started.attached,
    generation: started.generation,
  };
}

export interface BackfillStarted {
  workflowId: string;
  runId: string;
  url?: string;
  attached: boolean;
}

/** Starts a backfill of the failed dates from `from` to `to` (only: failed), with the latest run's pipeline. */
export async function backfillFailed(
  client: Client,
  settings: RunTarget,
  pipeline: string,
  o: { from: string; to: string; concurrency?: number },
): Promise<BackfillStarted> {
  const options: BackfillOptions = validateBackfillOptions(
    { from: o.from, to: o.to, concurrency: o.concurrency ?? 4, only: 'failed', order: 'oldest' },
    // The page asked for confirmation with the number of dates.
    true,
  );
  const latest = await latestRunIn(client, pipeline, o.from, o.to);
  const input = await runInput(client, latest.workflowId, latest.runId);
  const started = await startBackfill(client, settings, input.pipeline, {
    ...options,
    ...(input.params ? { params: input.params } : {}),
  });
  return {
    workflowId: started.workflowId,
    runId: started.runId,
    ...(started.url ? { url: started.url } : {}),
    attached: started.attached,
  };
}
