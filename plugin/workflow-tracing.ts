/**
 * Workflow interceptor of the traced workflow bundles only (bundle-workflows.ts), after
 * @temporalio/interceptors-opentelemetry's: puts the run's pipeline and date on the workflow's
 * span (`RunWorkflow:runPipeline`), so a trace can be found by them. Runs in the sandbox: adds no
 * command, reads only the workflow's input.
 */
import { trace } from '@opentelemetry/api';
import { workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { WORKFLOW_TYPES } from '../common/constants';
import type { RunPipelineInput } from '../common/run-types';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      execute(input, next) {
        if (workflowInfo().workflowType === WORKFLOW_TYPES.runPipeline) {
          const run = input.args[0] as RunPipelineInput | undefined;
          trace.getActiveSpan()?.setAttributes({
            'sluice.pipeline': run?.pipeline?.name ?? 'unknown',
            ...(run?.ds ? { 'sluice.ds': run.ds } : {}),
          });
        }
        return next(input);
      },
    },
  ],
});
