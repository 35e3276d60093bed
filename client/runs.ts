/**
 * The programmatic API behind `sluice run`: start (or attach to) the run of one pipeline for one
 * date, follow its stages, and wait for its outcome.
 */
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type ConnectionOptions, type WorkflowHandle } from '@temporalio/client';
import { failureOutcome } from '../common/outcomes';
import { WORKFLOW_TYPES } from '../common/constants';
import { runUiUrl, temporalSettings, type TemporalSettings } from '../common/env';
import { loadWorkerConfig } from '../workers/config';
import { runSummary, runWorkflowId } from '../common/naming';
import type { PipelineDefinition } from '../common/pipeline';
import type { RunPipelineInput, RunStatus, StageStatus } from '../common/run-types';
import { runSearchAttributes } from '../common/search-attributes';
import type { runPipeline } from '../workflows';
import { statusQuery } from '../workflows/run-pipeline';

/**
 * The CLI's connection, from the same environment as a worker's (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE, read by the SDK's
 * envconfig and validated by loadWorkerConfig): a CLI and a worker configured alike reach the same
 * cluster, mTLS included. Throws WorkerConfigError naming a bad variable; touches no network.
 */
export function clientSettings(env: NodeJS.ProcessEnv = process.env): { settings: TemporalSettings; options: ConnectionOptions } {
  const config = loadWorkerConfig(env);
  const base = temporalSettings({ ...env, TEMPORAL_ADDRESS: config.settings.address, TEMPORAL_NAMESPACE: config.settings.namespace });
  return { settings: { ...base, taskQueue: config.settings.taskQueue }, options: config.connection };
}

export async function connectClient(settings: TemporalSettings, options?: ConnectionOptions): Promise<Client> {
  const connection = await Connection.connect(
    options ?? {
      address: settings.address,
      ...(settings.apiKey ? { apiKey: settings.apiKey, tls: true } : {}),
    },
  );
  return new Client({ connection, namespace: settings.namespace });
}

export interface StartedRun {
  workflowId: string;
  runId: string;
  url?: string;
  /** True when the date was already running and this call attached to that run. */
  attached: boolean;
  generation: number;
  handle: WorkflowHandle<typeof runPipeline>;
}

export interface StartRunOptions {
  /** Rerun generation; default: the number of earlier runs of this date, so a rerun starts fresh jobs. */
  generation?: number;
}

async function previousRuns(client: Client, workflowId: string): Promise<number> {
  try {
    const { count } = await client.workflow.count(`WorkflowId = "${workflowId.replace(/"/g, '\\"')}"`);
    return count;
  } catch {
    return 0; // visibility unavailable: fall back to generation 0 (reattach semantics)
  }
}

export async function startRun(client: Client, settings: TemporalSettings, pipeline: PipelineDefinition, ds: string, opts: StartRunOptions = {}): Promise<StartedRun> {
  const workflowId = runWorkflowId(pipeline.name, ds);
  const generation = opts.generation ?? (await previousRuns(client, workflowId));
  const input: RunPipelineInput = { pipeline, ds, generation };
  try {
    const handle = await client.workflow.start<typeof runPipeline>(WORKFLOW_TYPES.runPipeline, {
      workflowId,
      taskQueue: settings.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: runSummary(pipeline.name, ds, pipeline.stages.length),
      typedSearchAttributes: [...runSearchAttributes(pipeline.name, ds)],
    });
    const runId = handle.firstExecutionRunId;
    const url = runUiUrl(settings, workflowId, runId);
    return { workflowId, runId, ...(url ? { url } : {}), attached: false, generation, handle };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const handle = client.workflow.getHandle<typeof runPipeline>(workflowId);
    const desc = await handle.describe();
    const url = runUiUrl(settings, workflowId, desc.runId);
    return { workflowId, runId: desc.runId, ...(url ? { url } : {}), attached: true, generation, handle };
  }
}

export type RunOutcome =
  | { ok: true; status: RunStatus }
  | { ok: false; cancelled: boolean; message: string; stage?: string; kind?: string; status?: RunStatus };

/** The stage-level story of a failed run, from the workflow's failure chain. */
function failureOf(err: WorkflowFailedError): Omit<Extract<RunOutcome, { ok: false }>, 'status'> {
  return failureOutcome(err.cause ?? err);
}

export async function queryStatus(handle: WorkflowHandle): Promise<RunStatus | undefined> {
  try {
    return await handle.query(statusQuery);
  } catch {
    return undefined;
  }
}

/**
 * Waits for the run; while waiting, reports each stage once when it starts and once when it ends
 * (the status query is polled every `intervalMs`; queries add nothing to the history).
 */
export async function waitForRun(handle: WorkflowHandle<typeof runPipeline>, onStage?: (s: StageStatus) => void, intervalMs = 1000): Promise<RunOutcome> {
  const seen = new Map<string, string>();
  const report = (status: RunStatus | undefined): void => {
    if (!status || !onStage) return;
    for (const s of status.stages) {
      if (s.state !== 'pending' && seen.get(s.id) !== s.state) {
        seen.set(s.id, s.state);
        onStage(s);
      }
    }
  };
  let done = false;
  const poller = (async () => {
    while (!done) {
      report(await queryStatus(handle));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  try {
    const status = await handle.result();
    report(status);
    return { ok: true, status };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const status = await queryStatus(handle);
    report(status);
    return { ...failureOf(err), ...(status ? { status } : {}) };
  } finally {
    done = true;
    await poller;
  }
}
