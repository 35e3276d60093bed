/**
 * `emr.step`: AddJobFlowSteps (one step, on a running cluster) → DescribeStep → CancelSteps.
 *
 * AddJobFlowSteps has no client token, so the step's Name carries the stage's key:
 * `<Name> [sluice:<16 hex of sha256(key)>]`, and `find` looks for a step of that name on the
 * cluster (ListSteps, newest first, back to the moment the stage was first scheduled). A found step
 * is adopted, whatever its state, instead of adding another.
 */
import { watchKey } from '../../common/stage-events';
import { createHash } from 'node:crypto';
import {
  AddJobFlowStepsCommand,
  CancelStepsCommand,
  DescribeStepCommand,
  ListStepsCommand,
  type AddJobFlowStepsCommandInput,
  type StepConfig,
  type StepStatus,
  StepState as SERVICE_STATES,
} from '@aws-sdk/client-emr';
import { jobStatus, type JobHandler, type JobStatus } from '../../activities/stage-handler';
import { emrStep as emrStepKind } from './kind';

/** EMR step names are at most 256 characters. */
const MAX_STEP_NAME = 256;
/** ListSteps pages (50 steps each) read when no scheduling time bounds the search. */
const FIND_PAGES = 20;

function clusterId(params: Record<string, unknown>): string {
  return String(params.JobFlowId);
}

function theStep(params: Record<string, unknown>): StepConfig {
  const steps = params.Steps;
  // Also checked when the pipeline is loaded (its descriptor, kind.ts); this guards hand-built StageInputs.
  if (!Array.isArray(steps) || steps.length !== 1) throw new Error('emr.step needs exactly one step in Steps');
  return steps[0] as StepConfig;
}

/** The step name carrying the key: a retried attempt finds the step by it. */
export function taggedStepName(name: string | undefined, idempotencyKey: string): string {
  const tag = ` [sluice:${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 16)}]`;
  return `${(name ?? 'step').slice(0, MAX_STEP_NAME - tag.length)}${tag}`;
}

/** EMR's StepState, mapped once. */
export function mapEmrStepState(status: StepStatus | undefined): JobStatus {
  const details = status?.FailureDetails;
  const parts = [details?.Reason, details?.Message].filter((p, i, all): p is string => !!p && all.indexOf(p) === i);
  let message = parts.length ? parts.join(': ') : status?.StateChangeReason?.Message;
  if (message && details?.LogFile) message += ` (log: ${details.LogFile})`;
  // INTERRUPTED (e.g. the cluster was terminated under the step): ended without finishing, never a success.
  return jobStatus(emrStepKind.states, status?.State ?? 'UNKNOWN', message || undefined);
}

export const emrStep: JobHandler = {
  kind: emrStepKind.kind,
  mode: 'job',
  serviceStates: Object.values(SERVICE_STATES),
  service: 'EMR',
  watchKey: (ctx, jobId) => watchKey('emr.step', clusterId(ctx.params), jobId),
  async find(ctx) {
    const ClusterId = clusterId(ctx.params);
    const name = taggedStepName(theStep(ctx.params).Name, ctx.idempotencyKey);
    const since = ctx.firstScheduledAtMs;
    let Marker: string | undefined;
    for (let page = 0; page < FIND_PAGES; page++) {
      const out = await ctx.clients.emr.send(new ListStepsCommand({ ClusterId, Marker }));
      const steps = out.Steps ?? [];
      const found = steps.find((s) => s.Name === name);
      if (found?.Id) return found.Id;
      Marker = out.Marker;
      // Newest first: past a step created before this stage was scheduled, ours cannot be.
      const oldest = steps.at(-1)?.Status?.Timeline?.CreationDateTime;
      if (!Marker || (since !== undefined && oldest !== undefined && oldest.getTime() < since)) break;
    }
    return undefined;
  },
  async start(ctx) {
    const request = ctx.params as unknown as AddJobFlowStepsCommandInput;
    const step = theStep(ctx.params);
    const out = await ctx.clients.emr.send(
      new AddJobFlowStepsCommand({
        ...request,
        Steps: [{ ...step, Name: taggedStepName(step.Name, ctx.idempotencyKey) }],
      }),
    );
    const id = out.StepIds?.[0];
    if (!id) throw new Error('EMR AddJobFlowSteps returned no StepId');
    return id;
  },
  async describe(ctx, jobId) {
    const out = await ctx.clients.emr.send(
      new DescribeStepCommand({ ClusterId: clusterId(ctx.params), StepId: jobId }),
    );
    return mapEmrStepState(out.Step?.Status);
  },
  async stop(ctx, jobId) {
    const out = await ctx.clients.emr.send(
      new CancelStepsCommand({
        ClusterId: clusterId(ctx.params),
        StepIds: [jobId],
        StepCancellationOption: 'SEND_INTERRUPT',
      }),
    );
    const info = out.CancelStepsInfoList?.find((i) => i.StepId === jobId);
    if (info?.Status !== 'FAILED') return;
    // Refused: fine if the step has already ended (judged by its state, not by the reason's wording).
    if ((await emrStep.describe(ctx, jobId)).state === 'running') {
      throw Object.assign(new Error(info.Reason ?? `CancelSteps refused to cancel ${jobId}`), {
        name: 'EmrCancelStepsError',
      });
    }
  },
  async collect(ctx, jobId) {
    const ClusterId = clusterId(ctx.params);
    const out = await ctx.clients.emr.send(new DescribeStepCommand({ ClusterId, StepId: jobId }));
    const t = out.Step?.Status?.Timeline;
    const seconds =
      t?.StartDateTime && t.EndDateTime
        ? Math.round((t.EndDateTime.getTime() - t.StartDateTime.getTime()) / 1000)
        : undefined;
    return {
      summary: `EMR step ${jobId} on cluster ${ClusterId} completed${seconds !== undefined ? ` in ${seconds}s` : ''}`,
      output: {
        clusterId: ClusterId,
        stepId: jobId,
        stepName: out.Step?.Name ?? null,
        ...(seconds !== undefined ? { seconds } : {}),
      },
    };
  },
};
