/**
 * `pipeline.run`: a sub-pipeline's run for the same date, started by runPipeline as a child
 * workflow (workflows/run-pipeline.ts), not as an activity. This handler exists so every kind has
 * one; it is reached only by a stage input made by hand, and says so.
 */
import { stageInputFailure } from '../../activities/errors';
import type { ImmediateHandler } from '../../activities/stage-handler';

export const pipelineRun: ImmediateHandler = {
  kind: 'pipeline.run',
  mode: 'immediate',
  service: 'Temporal',
  run() {
    return Promise.reject(
      stageInputFailure('pipeline.run stages run as child workflows of runPipeline, never as a runStage activity'),
    );
  },
};
