export { runPipeline, statusQuery } from './run-pipeline';
export {
  backfillPipeline,
  progressQuery,
  pauseSignal,
  resumeSignal,
  setConcurrencySignal,
  cancelSignal,
} from './backfill';
export { scheduledPipeline } from './scheduled';
export { fanOutStage, fanOutChunk } from './fan-out';
export { sluiceNotify } from './notify';
export { watchJob } from './watch-job';
export { sluicePool } from './pool';
