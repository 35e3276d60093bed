/**
 * The activities a Sluice worker registers. Built by a factory that takes the AWS clients, so
 * tests and embedders inject their own.
 */
import type { StageInput, StageResult, StopJobInput, StopOutcome, StopRunJobsInput } from '../common/run-types';
import { createAwsClients, type AwsClientOptions, type AwsClients } from './aws-clients';
import { STAGE_HANDLERS } from '../kinds/handlers';
import { createFanOutActivities } from './fan-out';
import { createNotifyActivities } from './notify';
import { createPoolActivities, releaseSlotFromActivity } from './pools';
import { createRunActivities } from './runs';
import { stageEventSettings, type StageEventsOptions } from './stage-events-config';
import { runWithHandler, stageContext, stopAndConfirm } from './runner';
import { stopRunJobs } from './stop';

export interface ActivityDeps {
  clients?: AwsClients;
  /** Options of the clients made when `clients` is not given. */
  aws?: AwsClientOptions;
  /** Push completion (state-change events). Default: from SLUICE_EVENTS_QUEUE_URL / SLUICE_EVENTS / SLUICE_EVENTS_FALLBACK_POLL. */
  stageEvents?: StageEventsOptions;
}

export function createActivities(deps: ActivityDeps = {}) {
  const clients = deps.clients ?? createAwsClients(deps.aws);
  const stageEvents = deps.stageEvents ?? stageEventSettings();
  return {
    ...createRunActivities(),
    ...createFanOutActivities(clients),
    ...createPoolActivities(clients),
    ...createNotifyActivities(clients),
    /** Runs one stage: start its AWS job once, wait for it with heartbeats, stop it if cancelled. */
    async runStage(input: StageInput): Promise<StageResult> {
      const result = await runWithHandler(STAGE_HANDLERS[input.kind], input, clients, stageEvents);
      // Its job has ended and the stage succeeded: the slot goes back now (on failure the run gives it
      // back once no attempt is left, since a retried attempt holds it too).
      return input.poolSlot && (await releaseSlotFromActivity(input.poolSlot))
        ? { ...result, poolReleased: true }
        : result;
    },
    /**
     * Stops the jobs of a run's stages (the run is cancelled, or a stage's attempts are gone with
     * its job still running). Any worker can do it: see activities/stop.ts.
     */
    async stopRunJobs(input: StopRunJobsInput): Promise<StopOutcome[]> {
      return stopRunJobs(input, clients);
    },
    /** One job by id: what runs started before `stopRunJobs` existed call when they replay. */
    async stopStageJob(input: StopJobInput): Promise<string> {
      const handler = STAGE_HANDLERS[input.kind];
      if (handler.mode !== 'job' || !handler.stop) return 'nothing to stop';
      const sctx = stageContext({ ...input, stageId: 'cleanup', idempotencyKey: '' }, clients);
      const final = await stopAndConfirm(handler, sctx, input.jobId);
      return final
        ? `${handler.service} job ${input.jobId} ${final.awsState}`
        : `${handler.service} job ${input.jobId}: stop requested`;
    },
  };
}

export type SluiceActivities = ReturnType<typeof createActivities>;
