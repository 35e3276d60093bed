/**
 * How a run of `<pipeline>/<ds>` is started, whoever starts it: the CLI and client API
 * (client/runs.ts), a backfill or schedule (workflows/date-run.ts), or a user's own workflow
 * (workflows/child.ts). One definition, so every run of a date has the same workflow ID, input,
 * summary and search attributes.
 */
import { runSummary, runWorkflowId } from './naming';
import type { PipelineDefinition } from './pipeline';
import type { RunPipelineInput } from './run-types';
import { runSearchAttributes } from './search-attributes';
import { RUN_SHAPE } from './run-shape';

export function runStartOptions(
  pipeline: PipelineDefinition,
  ds: string,
  generation: number,
  params?: Record<string, unknown>,
  /** How the run's stages wait for pools: its priority key and fairness key (common/pools.ts). */
  turn?: Pick<RunPipelineInput, 'priority' | 'fairnessKey'>,
) {
  const input: RunPipelineInput = {
    pipeline,
    ds,
    generation,
    ...(params ? { params } : {}),
    ...(turn?.priority !== undefined ? { priority: turn.priority } : {}),
    ...(turn?.fairnessKey !== undefined ? { fairnessKey: turn.fairnessKey } : {}),
    shape: RUN_SHAPE,
  };
  return {
    workflowId: runWorkflowId(pipeline.name, ds),
    args: [input] as [RunPipelineInput],
    // A date can run again (a rerun, a backfill of failed dates): a new run under the same ID.
    workflowIdReusePolicy: 'ALLOW_DUPLICATE' as const,
    staticSummary: runSummary(pipeline.name, ds, pipeline.stages.length),
    typedSearchAttributes: [...runSearchAttributes(pipeline.name, ds)],
  };
}
