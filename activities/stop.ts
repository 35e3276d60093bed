/**
 * Stopping a run's AWS jobs from any worker, at once, whatever state each stage is in.
 *
 * A cancel reaches a stage attempt only on a heartbeat response (at most every ~48 s at the
 * defaults), never reaches an attempt whose worker died, and an attempt waiting for its retry has
 * no code running at all. So a cancelled run does not rely on its stage attempts to stop their
 * jobs: it runs `stopRunJobs`, which finds each stage's job
 *
 *   1. from what the workflow already knows (an attempt's failure or last heartbeat), else
 *   2. from the run's own description: the server keeps the last heartbeat of every pending
 *      activity, between attempts too, and each heartbeat carries the stage's idempotency key, else
 *   3. by the key itself, for kinds whose jobs carry it (Glue argument, EMR step name, tags),
 *
 * asks AWS to stop it and waits until AWS confirms. Every job is stopped in parallel; each outcome
 * (stopped, none started, unconfirmed, refused) is reported so the run can name what it could not stop.
 */
import { getClient, heartbeat, log } from '@temporalio/activity';
import type { Payload } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { StageHeartbeat, StopOutcome, StopRunJobsInput, StopTarget } from '../common/run-types';
import type { AwsClients } from './aws-clients';
import { awsCall } from './errors';
import { STAGE_HANDLERS } from '../kinds/handlers';
import { stageContext, stopAndConfirm } from './runner';

/** The activity type whose heartbeats carry job ids (see workflows/run-pipeline.ts). */
const STAGE_ACTIVITY = 'runStage';

/** Job ids by idempotency key, from the last heartbeat of each pending stage activity of the run. */
export async function heartbeatedJobs(workflowId: string, runId: string): Promise<Map<string, string>> {
  const client = getClient();
  const desc = await client.workflow.getHandle(workflowId, runId).describe();
  const jobs = new Map<string, string>();
  for (const pa of desc.raw.pendingActivities ?? []) {
    if (pa.activityType?.name !== STAGE_ACTIVITY) continue;
    const payloads = pa.heartbeatDetails?.payloads as Payload[] | undefined;
    if (!payloads?.length) continue;
    const hb = await decodeFromPayloadsAtIndex<StageHeartbeat | undefined>(
      client.options.loadedDataConverter,
      0,
      payloads,
    );
    if (hb?.key && hb.jobId) jobs.set(hb.key, hb.jobId);
  }
  return jobs;
}

async function stopOne(
  target: StopTarget,
  input: StopRunJobsInput,
  known: Map<string, string>,
  clients: AwsClients,
): Promise<StopOutcome> {
  const handler = STAGE_HANDLERS[target.kind];
  const base = { stageId: target.stageId };
  if (handler.mode !== 'job' || !handler.stop)
    return {
      ...base,
      result: 'unstoppable',
      message: `${target.kind} has no AWS job to stop; its attempt is cancelled`,
    };
  const sctx = stageContext(
    {
      pipeline: input.pipeline,
      ds: input.ds,
      stageId: target.stageId,
      params: target.params,
      idempotencyKey: target.idempotencyKey,
      ...(target.rendered ? { rendered: true } : {}),
    },
    clients,
  );
  if (target.scheduledAtMs !== undefined) sctx.firstScheduledAtMs = target.scheduledAtMs;
  let jobId = target.jobId ?? known.get(target.idempotencyKey);
  try {
    if (!jobId && handler.find)
      jobId = await awsCall({ service: handler.service, operation: 'find' }, () => handler.find!(sctx));
    if (!jobId) return { ...base, result: 'none', message: `no ${handler.service} job had been started` };
    const final = await stopAndConfirm(handler, sctx, jobId);
    if (!final)
      return {
        ...base,
        jobId,
        result: 'unconfirmed',
        message: `${handler.service} job ${jobId}: stop requested, AWS did not confirm it ended`,
      };
    return {
      ...base,
      jobId,
      result: 'stopped',
      awsState: final.awsState,
      message: `${handler.service} job ${jobId} stopped on cancellation (${final.awsState})`,
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return {
      ...base,
      ...(jobId ? { jobId } : {}),
      result: 'error',
      message: `could not stop the ${handler.service} job${jobId ? ` ${jobId}` : ''}: ${message}`,
    };
  }
}

export async function stopRunJobs(input: StopRunJobsInput, clients: AwsClients): Promise<StopOutcome[]> {
  let known = new Map<string, string>();
  try {
    known = await heartbeatedJobs(input.workflowId, input.runId);
  } catch (err) {
    // Without the description the known ids and the key lookups still stop most jobs.
    log.warn('could not read the run description for heartbeated job ids', {
      workflowId: input.workflowId,
      error: String(err),
    });
  }
  const ticker = setInterval(() => heartbeat(), 5_000);
  try {
    const outcomes = await Promise.all(input.stages.map((t) => stopOne(t, input, known, clients)));
    for (const o of outcomes)
      log.info('stage job stop', {
        workflowId: input.workflowId,
        stage: o.stageId,
        jobId: o.jobId,
        result: o.result,
        awsState: o.awsState,
      });
    return outcomes;
  } finally {
    clearInterval(ticker);
  }
}
