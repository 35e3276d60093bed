/**
 * The waiting side of a pool (workflows/pool.ts), for any workflow that starts stages: ask the
 * pool for a slot (an update from a local activity, which starts the pool if it is not running),
 * take the slot from its answer or wait for its grant (a signal back: no timer, no poll), give the
 * slot back when the stage's job has ended.
 *
 * Cancelled while waiting, the ask is withdrawn; a run that closes without giving its slot back
 * (terminated) has it reclaimed by the pool. Deterministic: workflow APIs and pure helpers only.
 */
import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { SluiceActivities } from '../activities';
import { KINDS } from '../kinds';
import type { StageKind } from '../common/constants';
import {
  poolWorkflowId,
  stagePool,
  type PoolGrant,
  type PoolLearn,
  type PoolQueued,
  type PoolRequest,
  type StagePool,
} from '../common/pools';
import { POOL_PATCHES, acquireSignal, grantedSignal, queuedSignal, releaseSignal } from './pool';

/** Per workflow run (each run has its own module state): grants received, and who awaits a notice. */
const grants = new Map<string, PoolGrant>();
const onQueued = new Map<string, (q: PoolQueued) => void>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  setHandler(grantedSignal, (g) => {
    grants.set(g.id, g);
  });
  setHandler(queuedSignal, (q) => {
    onQueued.get(q.id)?.(q);
  });
}

export interface SlotAsk {
  pool: string;
  /** For a kind's default pool: how the pool learns its slots from AWS. */
  learn?: PoolLearn;
  pipeline: string;
  ds: string;
  /** The stage (a fan-out item: `<stage>[<i>]`); unique within the run. */
  stage: string;
  priority: number;
  fairnessKey: string;
}

/** Who asks: the run's pipeline, date, priority and fairness key (the backfill, or the run). */
export interface AskContext {
  pipeline: string;
  ds: string;
  priority: number;
  fairnessKey: string;
}

/**
 * The ask of a stage (or a fan-out item, `stageId` `<stage>[<i>]`) with its params as rendered: its
 * own pool, or its kind's default (learned from AWS); undefined when it takes none.
 */
export function stageSlotAsk(
  stage: { kind: StageKind; pool?: string },
  stageId: string,
  params: Record<string, unknown>,
  ctx: AskContext,
): SlotAsk | undefined {
  const descriptor = KINDS[stage.kind];
  const byDefault = descriptor.defaultPool;
  const pool = stagePool(stage, byDefault, params);
  if (pool === undefined) return undefined;
  const isDefault = byDefault?.(params) === pool;
  // A default pool the kind got later: runs that reached the stage before it replay without the ask.
  if (isDefault && stage.pool === undefined && descriptor.defaultPoolPatch && !patched(descriptor.defaultPoolPatch))
    return undefined;
  return { pool, ...(isDefault ? { learn: { kind: stage.kind, params } } : {}), stage: stageId, ...ctx };
}

export interface Slot {
  id: string;
  pool: string;
  grant: PoolGrant;
}

/** How a stage asks its pool: without the pool it cannot start, so keep trying (Temporal may be briefly unreachable). */
const ASK_OPTIONS = { startToCloseTimeout: '1m', retry: { initialInterval: '1s', maximumInterval: '1m' } } as const;

/** Runs that asked before the local ask: an activity that starts the pool with the ask. */
const ensurePoolFor = (ask: SlotAsk) =>
  proxyActivities<SluiceActivities>({ ...ASK_OPTIONS, summary: `start pool ${ask.pool} for ${ask.stage}` }).ensurePool;

/** A local activity named in the UI as the stage's ask of its pool. */
const askProxy = (ask: SlotAsk) =>
  proxyLocalActivities<SluiceActivities>({ ...ASK_OPTIONS, summary: `ask pool ${ask.pool} for ${ask.stage}` });

/**
 * Runs that asked before the update: a local activity that signals the ask (signal-with-start: the
 * pool is started if it is not running); the grant always came as a signal.
 */
const askLocally = (ask: SlotAsk) => askProxy(ask).ensurePool;

/**
 * Asks the pool with an update from a local activity (update-with-start): a free slot comes in the
 * answer, so the run starts its stage in the same workflow task — one marker in its history, no
 * signal back. A stage that must wait hears its grant as a signal.
 */
const askByUpdate = (ask: SlotAsk) => askProxy(ask).askPool;

/** Asks `ask.pool` for a slot and waits for it. `queued` hears once that the ask waits, with the pool's counts. */
export async function acquirePoolSlot(ask: SlotAsk, queued?: (q: PoolQueued) => void): Promise<Slot> {
  install();
  const { workflowId, runId, taskQueue } = workflowInfo();
  const id = `${workflowId}/${runId}/${ask.stage}`;
  const request: PoolRequest = {
    id,
    workflowId,
    runId,
    pipeline: ask.pipeline,
    ds: ask.ds,
    stage: ask.stage,
    priority: ask.priority,
    fairnessKey: ask.fairnessKey,
    requestedAt: Date.now(),
  };
  if (queued) onQueued.set(id, queued);
  try {
    // The ask itself is not cancelled halfway: once sent it is withdrawn below.
    const pool = { name: ask.pool, ...(ask.learn ? { learn: ask.learn } : {}), request };
    await CancellationScope.nonCancellable(async () => {
      // Runs that asked before the update replay the way they asked: a local or plain signal.
      if (patched(POOL_PATCHES.updateAsk)) {
        const answer = await askByUpdate(ask)(pool);
        if ('granted' in answer) grants.set(id, answer.granted);
        return;
      }
      if (patched(POOL_PATCHES.localAsk)) return askLocally(ask)(pool);
      try {
        await getExternalWorkflowHandle(poolWorkflowId(taskQueue, ask.pool)).signal(acquireSignal, request);
      } catch {
        await ensurePoolFor(ask)(pool);
      }
    });
    await condition(() => grants.has(id));
  } catch (err) {
    await releasePoolSlot({ id, pool: ask.pool });
    throw err;
  } finally {
    onQueued.delete(id);
  }
  return { id, pool: ask.pool, grant: grants.get(id) as PoolGrant };
}

/** Gives a slot back (or withdraws an ask). Never fails the stage: a pool that missed it reclaims the slot. */
export async function releasePoolSlot(slot: Pick<Slot, 'id' | 'pool'>): Promise<void> {
  grants.delete(slot.id);
  await CancellationScope.nonCancellable(() =>
    getExternalWorkflowHandle(poolWorkflowId(workflowInfo().taskQueue, slot.pool))
      .signal(releaseSignal, { id: slot.id })
      .catch(() => undefined),
  );
}

/**
 * Runs `fn` (a stage's activity) holding a slot of `ask.pool`; without an ask, just `fn`. The stage's
 * status says what it waits for (`pool`), and its `startedAt` is when the slot was granted: waiting
 * is reported apart from the job's running time. The slot is given back once `fn` has settled:
 * its job has ended (succeeded, failed, stopped), not earlier and not later — by the activity
 * itself when it succeeds (`poolReleased`), else here.
 */
export async function withPoolSlot<T extends { poolReleased?: boolean }>(
  ask: SlotAsk | undefined,
  status: { pool?: StagePool; startedAt?: string },
  changed: () => void,
  fn: (slot?: Pick<Slot, 'id' | 'pool'>) => Promise<T>,
): Promise<T> {
  if (!ask) return fn();
  const requestedAt = Date.now();
  status.pool = { name: ask.pool, requestedAt: new Date(requestedAt).toISOString() };
  changed();
  const slot = await acquirePoolSlot(ask, (q) => {
    status.pool = { ...(status.pool as StagePool), slots: q.slots, held: q.held };
    changed();
  });
  const now = Date.now();
  status.pool = {
    ...status.pool,
    grantedAt: new Date(now).toISOString(),
    waitedMs: now - requestedAt,
    slots: slot.grant.slots,
    held: slot.grant.held,
  };
  status.startedAt = new Date(now).toISOString();
  changed();
  let released = false;
  try {
    const result = await fn({ id: slot.id, pool: slot.pool });
    // The activity gave the slot back itself the moment its job ended (one signal fewer here).
    released = result.poolReleased === true;
    return result;
  } finally {
    if (released) grants.delete(slot.id);
    else await releasePoolSlot(slot);
  }
}

/**
 * Runs `fn` in a scope of its own, kept in `scopes` under `key`: a cancel can withdraw one waiting
 * ask (cancel that scope) before the run stops any job, so a slot its stop frees never goes to it.
 */
export function inScope<K, T>(scopes: Map<K, CancellationScope>, key: K, fn: () => Promise<T>): Promise<T> {
  const own = new CancellationScope();
  scopes.set(key, own);
  return own.run(fn);
}
