/**
 * Pools from the client side (common/pools.ts, workflows/pool.ts): list, describe, set and delete
 * them, and check the pools a pipeline names before anything starts. A pool lives on the task
 * queue of the workers that run its stages (SLUICE_TASK_QUEUE), so these read and steer that one.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { TemporalSettings } from '../common/env';
import { KINDS } from '../kinds';
import type { PipelineDefinition } from '../common/pipeline';
import { poolQuery, setSlotsSignal } from '../common/messages';
import {
  NO_POOL,
  POOL_WORKFLOW_TYPE,
  poolWorkflowId,
  slotsProblem,
  type PoolView,
  type StagePool,
} from '../common/pools';
import { renderDeep, templateContext } from '../common/templating';
import { UserInputError } from './errors';

/** Pools queried at once by `sluice pool list`. */
const QUERY_CONCURRENCY = 8;

function prefix(settings: Pick<TemporalSettings, 'taskQueue'>): string {
  return poolWorkflowId(settings.taskQueue, '');
}

/** The names of the pools running on the task queue (visibility). */
export async function poolNames(client: Client, settings: Pick<TemporalSettings, 'taskQueue'>): Promise<string[]> {
  const names: string[] = [];
  const query = `WorkflowType = '${POOL_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
  for await (const w of client.workflow.list({ query })) {
    if (w.workflowId.startsWith(prefix(settings))) names.push(w.workflowId.slice(prefix(settings).length));
  }
  return names.sort();
}

/** A running pool's state, or undefined when no such pool runs. */
export async function describePool(
  client: Client,
  settings: Pick<TemporalSettings, 'taskQueue'>,
  name: string,
): Promise<PoolView | undefined> {
  try {
    const handle = client.workflow.getHandle(poolWorkflowId(settings.taskQueue, name));
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') return undefined;
    return await handle.query(poolQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

export async function listPools(client: Client, settings: Pick<TemporalSettings, 'taskQueue'>): Promise<PoolView[]> {
  const names = await poolNames(client, settings);
  const views: PoolView[] = [];
  for (let i = 0; i < names.length; i += QUERY_CONCURRENCY) {
    const batch = await Promise.all(
      names.slice(i, i + QUERY_CONCURRENCY).map((n) => describePool(client, settings, n)),
    );
    for (const v of batch) if (v) views.push(v);
  }
  return views;
}

/** `sluice pool set`: the slots, at once, for stages already waiting too; starts the pool if it is not running. */
export async function setPoolSlots(
  client: Client,
  settings: Pick<TemporalSettings, 'taskQueue'>,
  name: string,
  slots: number,
): Promise<void> {
  const problem = slotsProblem(slots);
  if (problem) throw new UserInputError(`--slots: ${problem} (received ${String(slots)}).\n  Fix: e.g. --slots 4.`);
  await client.workflow.signalWithStart(POOL_WORKFLOW_TYPE, {
    workflowId: poolWorkflowId(settings.taskQueue, name),
    taskQueue: settings.taskQueue,
    args: [{ name }],
    signal: setSlotsSignal,
    signalArgs: [{ slots }],
    staticSummary: `Pool ${name}: slots shared by every Sluice stage that uses it`,
  });
}

/**
 * `sluice pool delete`: forgets what `pool set` said. An idle pool ends at once; one in use goes on
 * with the slots learned from AWS (or the default) until its stages are done, then ends.
 */
export async function deletePool(
  client: Client,
  settings: Pick<TemporalSettings, 'taskQueue'>,
  name: string,
): Promise<PoolView> {
  const view = await describePool(client, settings, name);
  if (!view) throw await noSuchPool(client, settings, name);
  await client.workflow.getHandle(poolWorkflowId(settings.taskQueue, name)).signal(setSlotsSignal, { slots: null });
  return view;
}

export async function noSuchPool(
  client: Client,
  settings: Pick<TemporalSettings, 'taskQueue'>,
  name: string,
): Promise<UserInputError> {
  const names = await poolNames(client, settings);
  return new UserInputError(
    `no pool "${name}" on task queue ${settings.taskQueue} (pools there: ${names.length ? names.join(', ') : 'none'}).\n  Fix: create it with \`sluice pool set ${name} --slots N\`, or name one of those.`,
  );
}

/**
 * The pools a pipeline names itself (`pool: <name>`, other than its stages' default pools) that do
 * not exist: a typo would otherwise make a pool of its own and share nothing. Exit 2 before anything starts.
 */
export async function checkNamedPools(
  client: Client,
  settings: Pick<TemporalSettings, 'taskQueue'>,
  pipeline: PipelineDefinition,
  source: string,
): Promise<void> {
  const named = namedPools(pipeline);
  if (!named.length) return;
  const existing = new Set(await poolNames(client, settings));
  const missing = named.filter((n) => !existing.has(n.pool));
  if (!missing.length) return;
  throw new UserInputError(
    `${source}: ${missing.map((m) => `stage ${m.stage}: pool "${m.pool}" does not exist`).join('; ')} (pools on task queue ${settings.taskQueue}: ${existing.size ? [...existing].join(', ') : 'none'}).\n  Fix: create it first with \`sluice pool set ${missing[0]!.pool} --slots N\`, or correct the name.`,
  );
}

/** Stages with a pool named by hand (not `none`, not the stage's own default pool). */
export function namedPools(pipeline: PipelineDefinition): { stage: string; pool: string }[] {
  const ctx = templateContext(pipeline.name, '2024-01-01');
  return pipeline.stages.flatMap((s) => {
    if (s.pool === undefined || s.pool === NO_POOL) return [];
    let byDefault: string | undefined;
    try {
      byDefault = KINDS[s.kind].defaultPool?.(renderDeep<Record<string, unknown>>(s.params, ctx));
    } catch {
      byDefault = undefined;
    }
    return s.pool === byDefault ? [] : [{ stage: s.id, pool: s.pool }];
  });
}

/** A waiting stage's pool with the pool's counts of now (the run's are those of when it queued). */
export async function livePool(
  client: Client,
  settings: Pick<TemporalSettings, 'taskQueue'>,
  pool: StagePool,
): Promise<StagePool> {
  if (pool.grantedAt) return pool;
  const view = await describePool(client, settings, pool.name).catch(() => undefined);
  return view ? { ...pool, slots: view.slots, held: view.held } : pool;
}

/** A pool's share that one backfill (or run) holds and waits for: its fairness key's requests. */
export interface PoolShare {
  name: string;
  slots: number;
  held: number;
  waiting: number;
  /** Of these, this backfill's. */
  heldHere: number;
  waitingHere: number;
}

/** The pools where `fairnessKey` (a backfill's workflow ID) holds or waits, read from every pool of the task queue. */
export async function poolShares(
  client: Client,
  settings: Pick<TemporalSettings, 'taskQueue'>,
  fairnessKey: string,
): Promise<PoolShare[]> {
  const views = await listPools(client, settings);
  return views.flatMap((v) => {
    const heldHere = v.holders.filter((h) => h.fairnessKey === fairnessKey).length;
    const waitingHere = v.waiters.filter((w) => w.fairnessKey === fairnessKey).length;
    if (!heldHere && !waitingHere) return [];
    return [{ name: v.name, slots: v.slots, held: v.held, waiting: v.waiting, heldHere, waitingHere }];
  });
}

/** "waiting for pool glue:my-job (2/2 held): 8 dates" — the pools a backfill's dates wait on, for its progress line. */
export function poolSharesLine(shares: PoolShare[]): string {
  return shares
    .filter((s) => s.waitingHere > 0)
    .map((s) => `waiting for pool ${s.name} (${s.held}/${s.slots} held): ${s.waitingHere}`)
    .join('; ');
}
