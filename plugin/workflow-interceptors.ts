/**
 * Workflow interceptor bundled with the workflows (bundle-workflows.ts): counts runs started and
 * ended, by pipeline and outcome, through the workflow metric meter (Prometheus) and one CloudWatch
 * EMF log line per ended run. Deterministic: both the meter and the workflow logger emit nothing
 * while a workflow replays, so a run is counted once however many workers replay it.
 */
import {
  CancelledFailure,
  ContinueAsNew,
  isCancellation,
  log,
  metricMeter,
  workflowInfo,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { WORKFLOW_TYPES } from '../common/constants';
import type { RunPipelineInput } from '../common/run-types';
import { EMF_DIMENSIONS, EMF_METRICS, emfFields, SLUICE_METRICS } from './emf';

type RunOutcome = 'succeeded' | 'failed' | 'cancelled';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async execute(input, next) {
        const info = workflowInfo();
        if (info.workflowType !== WORKFLOW_TYPES.runPipeline) return next(input);
        const pipeline = (input.args[0] as RunPipelineInput | undefined)?.pipeline?.name ?? 'unknown';
        metricMeter.createCounter(SLUICE_METRICS.runsStarted, '1', 'Pipeline runs started').add(1, { pipeline });
        log.info(
          'run started',
          emfFields(Date.now(), { [EMF_DIMENSIONS.pipeline]: pipeline }, [[EMF_DIMENSIONS.pipeline], []], {
            [EMF_METRICS.runStarted]: { value: 1, unit: 'Count' },
          }),
        );
        let outcome: RunOutcome = 'succeeded';
        try {
          return await next(input);
        } catch (err) {
          if (err instanceof ContinueAsNew) throw err;
          outcome = err instanceof CancelledFailure || isCancellation(err) ? 'cancelled' : 'failed';
          throw err;
        } finally {
          const seconds = (Date.now() - info.runStartTime.getTime()) / 1000;
          metricMeter
            .createCounter(SLUICE_METRICS.runsCompleted, '1', 'Pipeline runs ended, by outcome')
            .add(1, { pipeline, outcome });
          metricMeter
            .createHistogram(SLUICE_METRICS.runDuration, 'float', 's', 'Pipeline run durations')
            .record(seconds, { pipeline, outcome });
          const metrics = {
            [EMF_METRICS.runSucceeded]: { value: outcome === 'succeeded' ? 1 : 0, unit: 'Count' as const },
            [EMF_METRICS.runFailed]: { value: outcome === 'failed' ? 1 : 0, unit: 'Count' as const },
            [EMF_METRICS.runCancelled]: { value: outcome === 'cancelled' ? 1 : 0, unit: 'Count' as const },
            [EMF_METRICS.runDuration]: { value: seconds, unit: 'Seconds' as const },
          };
          log[outcome === 'failed' ? 'warn' : 'info'](`run ${outcome}`, {
            ...emfFields(Date.now(), { [EMF_DIMENSIONS.pipeline]: pipeline }, [[EMF_DIMENSIONS.pipeline], []], metrics),
            outcome,
            ds: (input.args[0] as RunPipelineInput | undefined)?.ds,
          });
        }
      },
    },
  ],
});
