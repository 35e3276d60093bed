/**
 * The programmatic API behind `sluice run`: start (or attach to) the run of one pipeline for one
 * date, follow its stages, and wait for its outcome.
 */
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type ConnectionOptions,
  type WorkflowExecutionDescription,
  type WorkflowClient,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { failureOutcome } from '../common/outcomes';
import { MEMO_KEYS, SEARCH_ATTRIBUTE_NAMES, WORKFLOW_TYPES } from '../common/constants';
import { runUiUrl, temporalSettings, type RunTarget, type TemporalSettings } from '../common/env';
import { readConnectionConfig, type ConfigIssue } from '../common/connection';
import { CliConfigError, GenerationUnknownError, TemporalUnreachableError } from './errors';
import { isDirectSubRun, runWorkflowId } from '../common/naming';
import type { PipelineDefinition } from '../common/pipeline';
import type { RunStatus, StageStatus } from '../common/run-types';
import { runStartOptions } from '../common/run-start';
import { TRACE_ATTRIBUTES, traceAttributes } from '../common/tracing';
import { UserInputError } from './errors';
import type { runPipeline } from '../workflows';
import { statusQuery } from '../common/messages';
import type * as PluginModule from '../plugin/plugin';
import type * as PayloadKeysModule from '../plugin/payload-keys';

/**
 * The CLI's connection, from the same environment as a worker's (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE, read by the SDK's
 * envconfig and validated by common/connection.ts, as the worker's is): a CLI and a worker
 * configured alike reach the same cluster, mTLS included. The worker's own settings (SLUICE_HTTP_PORT,
 * …) are not read: a CLI never fails over them. Throws CliConfigError naming a bad variable;
 * touches no network.
 */
export function clientSettings(env: NodeJS.ProcessEnv = process.env): {
  settings: TemporalSettings;
  options: ConnectionOptions;
} {
  const issues: ConfigIssue[] = [];
  const config = readConnectionConfig(env, issues);
  if (!config) throw new CliConfigError(issues);
  // The UI link is derived from the resolved address (a profile may set it), as for the variables.
  const { uiUrl } = temporalSettings({
    ...env,
    TEMPORAL_ADDRESS: config.settings.address,
    TEMPORAL_NAMESPACE: config.settings.namespace,
  });
  return { settings: { ...config.settings, ...(uiUrl ? { uiUrl } : {}) }, options: config.connection };
}

/**
 * Sluice's plugin for the CLI's client, loaded when connecting: commands that never connect
 * (`sluice validate`) load nothing of plugin/. Its payload keys are the worker's
 * (SLUICE_PAYLOAD_KEYS or SLUICE_PAYLOAD_KEY_SECRET): a bad one is a PayloadKeyConfigError (exit 2).
 */
async function defaultPlugin(): Promise<PluginModule.SluicePlugin> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { SluicePlugin } = require('../plugin/plugin') as typeof PluginModule;
  const { loadPayloadKeys } = require('../plugin/payload-keys') as typeof PayloadKeysModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const keys = await loadPayloadKeys();
  return new SluicePlugin({ payloads: keys ? { keys } : {} });
}

/**
 * Connects; a server that does not answer is a TemporalUnreachableError naming the address and the fix.
 * The Client has SluicePlugin (Sluice's payload encoding), as a team's own Client would.
 */
export async function connectClient(
  settings: TemporalSettings,
  options?: ConnectionOptions,
  plugin?: PluginModule.SluicePlugin,
): Promise<Client> {
  plugin ??= await defaultPlugin();
  const connectOptions = options ?? {
    address: settings.address,
    ...(settings.apiKey ? { apiKey: settings.apiKey, tls: true } : {}),
  };
  let connection: Connection;
  try {
    connection = await Connection.connect(connectOptions);
  } catch (err) {
    throw new TemporalUnreachableError(connectOptions.address ?? settings.address, settings.namespace, err);
  }
  return new Client({ connection, namespace: settings.namespace, plugins: [plugin] });
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
  /** Run parameters (checked with runParams); the pipeline's defaults fill in the rest. */
  params?: Record<string, unknown>;
  /** Priority key of the run's waits for pools (1 first … 5 last); default the pipeline's, else 3. */
  priority?: number;
}

/**
 * How many runs this date had: the generation of its next run. When visibility cannot be read this
 * throws instead of guessing 0, which would reattach a rerun to the first run's finished jobs.
 */
async function previousRuns(client: Client, workflowId: string): Promise<number> {
  try {
    const { count } = await client.workflow.count(`WorkflowId = "${workflowId.replace(/"/g, '\\"')}"`);
    return count;
  } catch (err) {
    throw new GenerationUnknownError(workflowId, err);
  }
}

export async function startRun(
  client: Client,
  settings: RunTarget,
  pipeline: PipelineDefinition,
  ds: string,
  opts: StartRunOptions = {},
): Promise<StartedRun> {
  const workflowId = runWorkflowId(pipeline.name, ds);
  traceAttributes({
    [TRACE_ATTRIBUTES.pipeline]: pipeline.name,
    [TRACE_ATTRIBUTES.ds]: ds,
    [TRACE_ATTRIBUTES.workflowId]: workflowId,
  });
  const generation = opts.generation ?? (await previousRuns(client, workflowId));
  try {
    const handle = await client.workflow.start<typeof runPipeline>(WORKFLOW_TYPES.runPipeline, {
      ...runStartOptions(
        pipeline,
        ds,
        generation,
        opts.params,
        opts.priority !== undefined ? { priority: opts.priority } : undefined,
      ),
      taskQueue: settings.taskQueue,
      workflowIdConflictPolicy: 'FAIL',
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
 * A run's stages, read without a worker once it has closed: from its result (succeeded), its
 * failure's details (failed) or its memo (cancelled). Only a running run is asked by query. Runs
 * closed before Sluice recorded them this way (or terminated) fall back to the query, which a live
 * worker answers by replaying them. Undefined when there is no such run.
 */
export async function readRunStatus(
  workflows: WorkflowClient,
  workflowId: string,
  runId?: string,
): Promise<RunStatus | undefined> {
  let desc: WorkflowExecutionDescription;
  try {
    desc = await workflows.getHandle(workflowId, runId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  const handle = workflows.getHandle<typeof runPipeline>(workflowId, desc.runId);
  switch (desc.status.name) {
    case 'COMPLETED':
      return handle.result();
    case 'FAILED': {
      const recorded = await handle.result().then(
        () => undefined,
        (err: unknown) =>
          err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure
            ? (err.cause.details?.[0] as { run?: RunStatus } | undefined)?.run
            : undefined,
      );
      return recorded ?? queryStatus(handle);
    }
    case 'CANCELLED':
      return (desc.memo?.[MEMO_KEYS.run] as RunStatus | undefined) ?? queryStatus(handle);
    default:
      return queryStatus(handle);
  }
}

/**
 * Waits for the run; while waiting, reports each stage once when it starts and once when it ends
 * (the status query is polled every `intervalMs`; queries add nothing to the history).
 */
export async function waitForRun(
  handle: WorkflowHandle<typeof runPipeline>,
  onStage?: (s: StageStatus) => void,
  intervalMs = 1000,
): Promise<RunOutcome> {
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
    const status = await readRunStatus(handle.client, handle.workflowId);
    report(status);
    return { ...failureOf(err), ...(status ? { status } : {}) };
  } finally {
    done = true;
    await poller;
  }
}

export interface CancelOutcome {
  workflowId: string;
  /** False when the run was not running, or some job could not be confirmed stopped. */
  ok: boolean;
  message: string;
  status?: RunStatus;
}

/**
 * Cancels the run `workflowId` and (with `wait`) waits until it has closed, i.e. until AWS
 * confirmed that each job it started stopped. Names every job that was not confirmed stopped.
 */
export async function cancelRun(client: Client, workflowId: string, o: { wait: boolean }): Promise<CancelOutcome> {
  const handle = client.workflow.getHandle<typeof runPipeline>(workflowId);
  let desc: WorkflowExecutionDescription;
  try {
    desc = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new UserInputError(
        `no run ${workflowId} was found.\n  Fix: check the pipeline name and date with \`sluice runs --pipeline <name>\`.`,
      );
    throw err;
  }
  if (desc.status.name !== 'RUNNING') {
    return {
      workflowId,
      ok: false,
      message: `${workflowId} is not running (${desc.status.name.toLowerCase()}): nothing to cancel.`,
    };
  }
  await handle.cancel();
  if (!o.wait) return { workflowId, ok: true, message: `Cancel requested for ${workflowId}.` };
  const closed = await handle.result().then(
    () => 'completed before the cancel reached it',
    (err: unknown) =>
      err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure
        ? 'cancelled'
        : `ended: ${err instanceof Error ? err.message : String(err)}`,
  );
  const status = await readRunStatus(client.workflow, workflowId, desc.runId);
  if (closed !== 'cancelled')
    return { workflowId, ok: false, message: `${workflowId} ${closed}.`, ...(status ? { status } : {}) };
  const unstopped = (status?.stops ?? []).filter((o) => o.result === 'error' || o.result === 'unconfirmed');
  const stopped = (status?.stops ?? []).filter((o) => o.result === 'stopped').length;
  const message = unstopped.length
    ? `Run ${workflowId} cancelled; NOT confirmed stopped: ${unstopped.map((o) => `${o.stageId}: ${o.message}`).join('; ')}`
    : `Run ${workflowId} cancelled; ${stopped} AWS job${stopped === 1 ? '' : 's'} stopped, confirmed by AWS.`;
  return { workflowId, ok: unstopped.length === 0, message, ...(status ? { status } : {}) };
}

const CLOSED_UNRECORDED: readonly string[] = ['TERMINATED', 'TIMED_OUT'];

export interface SubRunRow {
  /** The step below the parent: the stage's id, with `[<index>]` for a forEach item. */
  stage: string;
  workflowId: string;
  runId: string;
  /** The sub-pipeline's name. */
  pipeline?: string;
  /** As `sluice runs` shows it: Running, Succeeded, Failed, Cancelled (or the execution's state). */
  status: string;
  startedAt: string;
}

/**
 * The sub-runs a run started (its `pipeline.run` stages, one per forEach item), through visibility:
 * workflow IDs one step below the run's, started since `since` (the run's own start, so an earlier
 * generation's sub-runs are left out), the latest execution of each, in the order of `stageOrder`
 * and then by item index. Visibility lags a little behind: a sub-run started a moment ago may be
 * missing for a moment.
 */
export async function listSubRuns(
  client: Client,
  workflowId: string,
  o: { since?: Date; stageOrder?: string[]; limit?: number } = {},
): Promise<SubRunRow[]> {
  const prefix = `${workflowId}/`.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const query = `WorkflowType = "${WORKFLOW_TYPES.runPipeline}" AND WorkflowId STARTS_WITH "${prefix}"`;
  const latest = new Map<string, SubRunRow>();
  let seen = 0;
  for await (const wf of client.workflow.list({ query })) {
    if (++seen > (o.limit ?? 10_000)) break;
    if (!isDirectSubRun(workflowId, wf.workflowId)) continue;
    if (o.since && wf.startTime.getTime() < o.since.getTime()) continue;
    const prev = latest.get(wf.workflowId);
    if (prev && Date.parse(prev.startedAt) >= wf.startTime.getTime()) continue;
    const sa = wf.searchAttributes;
    const pipeline = sa[SEARCH_ATTRIBUTE_NAMES.pipeline]?.[0];
    latest.set(wf.workflowId, {
      stage: wf.workflowId.slice(workflowId.length + 1),
      workflowId: wf.workflowId,
      runId: wf.runId,
      ...(typeof pipeline === 'string' ? { pipeline } : {}),
      // A run closed without recording its status (terminated, timed out) shows the execution's.
      status: CLOSED_UNRECORDED.includes(wf.status.name)
        ? wf.status.name
        : ((sa[SEARCH_ATTRIBUTE_NAMES.status]?.[0] as string | undefined) ?? wf.status.name),
      startedAt: wf.startTime.toISOString(),
    });
  }
  const order = o.stageOrder ?? [];
  const key = (r: SubRunRow): [number, number] => {
    const m = /^(.*?)(?:\[(\d+)\])?$/.exec(r.stage);
    const at = order.indexOf(m?.[1] ?? r.stage);
    return [at < 0 ? order.length : at, Number(m?.[2] ?? -1)];
  };
  return [...latest.values()].sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    return ka[0] - kb[0] || ka[1] - kb[1] || a.stage.localeCompare(b.stage);
  });
}
