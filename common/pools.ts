/**
 * Pools: named capacity shared by every run, backfill, schedule and worker of a namespace.
 *
 * A pool is one long-lived workflow (`sluicePool`, ID `sluice-pool/<name>`, workflows/pool.ts) that
 * holds its slots, its holders and its waiters. A stage asks it for a slot before it starts its AWS
 * job (a signal), waits for the grant (a signal back: no timer, no polling), and gives the slot back
 * when the job has ended. This module is the pool's pure logic — who is granted next, with
 * priority and fairness — and the names both sides use. Pure and free of Node built-ins: workflow
 * code imports it.
 */

export const POOL_WORKFLOW_TYPE = 'sluicePool';

/** Signals and the query of a pool workflow, and the signals it sends to the stages that wait. */
export const POOL_SIGNALS = {
  /** To the pool: a stage asks for a slot (a PoolRequest). */
  acquire: 'sluicePoolAcquire',
  /** To the pool: a stage gives its slot back, or withdraws its request ({ id }). */
  release: 'sluicePoolRelease',
  /** To the pool: `sluice pool set` / `delete` ({ slots: number | null }). */
  setSlots: 'sluicePoolSetSlots',
  /** To the waiting workflow: its request is granted (a PoolGrant). */
  granted: 'sluicePoolGranted',
  /** To the waiting workflow: its request waits (a PoolQueued), once per request. */
  queued: 'sluicePoolQueued',
} as const;
export const POOL_QUERY = 'sluicePool';
/**
 * The pool's update: a stage asks for a slot and hears at once whether it has one (a PoolAnswer).
 * A slot that is free is granted in the answer (no signal back, no workflow task of the run); a
 * stage that must wait is granted later by the `granted` signal.
 */
export const POOL_ASK_UPDATE = 'sluicePoolAsk';
/**
 * The pool's update by which a stage's activity gives its slot back ({ id }). An update, not the
 * `release` signal: a signal that reaches the pool while it continues as new makes Temporal refuse
 * the continue-as-new and the pool replay its whole history (seconds during which no ask is
 * answered), where an update that arrives then is retried by the client on the pool's new run.
 */
export const POOL_GIVE_BACK_UPDATE = 'sluicePoolGiveBack';

/**
 * The pool workflow's ID. A pool is shared by everything that runs Sluice stages on one task queue
 * (every `sluice worker` and every team worker with SluicePlugin on it) and runs on that queue, so
 * some worker always serves it; the queue is part of its name.
 */
export function poolWorkflowId(taskQueue: string, name: string): string {
  return `sluice-pool/${taskQueue}/${name}`;
}

/** Names a user gives a pool (`pool: warehouse`, `sluice pool set`). Default pools are named by Sluice. */
export const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,199}$/;

/** `pool: none` on a stage: it takes no pool, not even its kind's default. */
export const NO_POOL = 'none';

/** The pool a stage takes a slot of, with its params as rendered for the run; undefined: none. */
export function stagePool(
  stage: { pool?: string; forEach?: unknown },
  defaultPool: ((params: Record<string, unknown>) => string | undefined) | undefined,
  params: Record<string, unknown>,
): string | undefined {
  if (stage.pool === NO_POOL) return undefined;
  return stage.pool ?? defaultPool?.(params);
}

/** Priority keys, as Temporal's Task Queue Priority: 1 goes first, 5 last, 3 by default. */
export const PRIORITY = { min: 1, max: 5, default: 3 } as const;

/** A pool set by hand may hold at most this many slots. */
export const MAX_POOL_SLOTS = 10_000;

/** What the pool learns its slots from: a kind's default pool (its resource), or nothing (a named pool). */
export interface PoolLearn {
  kind: string;
  /** The stage's params as rendered for its run (the resource name is in them). */
  params: Record<string, unknown>;
}

/** What a stage asks a pool for. */
export interface PoolRequest {
  /** Unique per stage of a run: `<workflowId>/<runId>/<stage>`. The same id twice is one request. */
  id: string;
  workflowId: string;
  runId: string;
  pipeline: string;
  ds: string;
  stage: string;
  /** 1 (first) … 5 (last). */
  priority: number;
  /** Requests with the same key share the pool's turns among themselves: the backfill, or the run. */
  fairnessKey: string;
  /** Epoch ms. */
  requestedAt: number;
}

export interface PoolHolder extends PoolRequest {
  grantedAt: number;
}

export interface PoolGrant {
  id: string;
  pool: string;
  slots: number;
  held: number;
  /** How long the request waited (ms). */
  waitedMs: number;
}

export interface PoolQueued {
  id: string;
  pool: string;
  slots: number;
  held: number;
  /** Requests ahead of this one, or waiting beside it at the same priority. */
  waiting: number;
}

/** The pool's answer to an ask: the grant, or that the stage waits for the `granted` signal. */
export type PoolAnswer = { granted: PoolGrant } | { queued: true };

/** One message from a pool to a waiting or holding run: its grant, or the notice that it waits. */
export type PoolTell =
  | { workflowId: string; runId: string; signal: 'granted'; body: PoolGrant }
  | { workflowId: string; runId: string; signal: 'queued'; body: PoolQueued };

/** Where a pool's slots come from. */
export interface PoolCapacity {
  slots: number;
  /** For people: e.g. "Glue GetJob MaxConcurrentRuns", "sluice pool set". */
  source: string;
}

export interface PoolState {
  name: string;
  /** Set with `sluice pool set`: wins over what was learned. */
  override?: number;
  learned?: PoolCapacity & { at: number };
  holders: PoolHolder[];
  waiters: PoolRequest[];
  /** Totals since the pool started, for `sluice pool describe`. */
  stats: { granted: number; waitedMs: number; maxWaitMs: number; reclaimed: number };
}

export function newPoolState(name: string): PoolState {
  return { name, holders: [], waiters: [], stats: { granted: 0, waitedMs: 0, maxWaitMs: 0, reclaimed: 0 } };
}

/** Slots when neither a set value nor a learned one is known: one at a time, AWS's own default for a Glue job. */
export const DEFAULT_POOL_SLOTS = 1;

export function poolSlots(state: Pick<PoolState, 'override' | 'learned'>): PoolCapacity {
  if (state.override !== undefined) return { slots: state.override, source: 'sluice pool set' };
  return state.learned ?? { slots: DEFAULT_POOL_SLOTS, source: 'default' };
}

/** Adds a request; the same id again (a replayed or retried ask) changes nothing. */
export function enqueue(state: PoolState, req: PoolRequest): 'queued' | 'held' | 'known' {
  if (state.holders.some((h) => h.id === req.id)) return 'held';
  if (state.waiters.some((w) => w.id === req.id)) return 'known';
  state.waiters.push(req);
  return 'queued';
}

/** Removes a holder (its slot is free) or a waiter (it withdrew). */
export function releaseRequest(state: PoolState, id: string): 'released' | 'withdrawn' | 'unknown' {
  const h = state.holders.findIndex((x) => x.id === id);
  if (h >= 0) {
    state.holders.splice(h, 1);
    return 'released';
  }
  const w = state.waiters.findIndex((x) => x.id === id);
  if (w >= 0) {
    state.waiters.splice(w, 1);
    return 'withdrawn';
  }
  return 'unknown';
}

/**
 * Grants free slots: the lowest priority key first; within it, the fairness key holding the fewest
 * slots (two backfills share a pool about evenly, neither starves), ties to the key whose oldest
 * request is oldest; within a key, first come first served. Mutates the state; returns the grants.
 */
export function grantNext(state: PoolState, now: number): PoolHolder[] {
  const granted: PoolHolder[] = [];
  const { slots } = poolSlots(state);
  const heldBy = new Map<string, number>();
  for (const h of state.holders) heldBy.set(h.fairnessKey, (heldBy.get(h.fairnessKey) ?? 0) + 1);
  while (state.holders.length < slots && state.waiters.length > 0) {
    const top = Math.min(...state.waiters.map((w) => w.priority));
    let pick: PoolRequest | undefined;
    for (const w of state.waiters) {
      if (w.priority !== top) continue;
      if (pick === undefined) {
        pick = w;
        continue;
      }
      const a = heldBy.get(w.fairnessKey) ?? 0;
      const b = heldBy.get(pick.fairnessKey) ?? 0;
      if (a < b || (a === b && w.requestedAt < pick.requestedAt)) pick = w;
    }
    const chosen = pick as PoolRequest;
    state.waiters.splice(state.waiters.indexOf(chosen), 1);
    const holder: PoolHolder = { ...chosen, grantedAt: now };
    state.holders.push(holder);
    heldBy.set(chosen.fairnessKey, (heldBy.get(chosen.fairnessKey) ?? 0) + 1);
    const waited = Math.max(0, now - chosen.requestedAt);
    state.stats.granted++;
    state.stats.waitedMs += waited;
    state.stats.maxWaitMs = Math.max(state.stats.maxWaitMs, waited);
    granted.push(holder);
  }
  return granted;
}

/** What `sluice pool describe` and `list` show of a pool (its query's answer). */
export interface PoolView {
  name: string;
  slots: number;
  source: string;
  override?: number;
  learned?: PoolCapacity & { at: string };
  held: number;
  waiting: number;
  holders: (PoolHolderView & { heldMs: number })[];
  waiters: PoolHolderView[];
  stats: PoolState['stats'];
}

export interface PoolHolderView {
  pipeline: string;
  ds: string;
  stage: string;
  workflowId: string;
  priority: number;
  fairnessKey: string;
  requestedAt: string;
  /** How long it waited (holders) or has waited so far (waiters), ms. */
  waitedMs: number;
}

export function poolView(state: PoolState, now: number): PoolView {
  const { slots, source } = poolSlots(state);
  const view = (r: PoolRequest, until: number): PoolHolderView => ({
    pipeline: r.pipeline,
    ds: r.ds,
    stage: r.stage,
    workflowId: r.workflowId,
    priority: r.priority,
    fairnessKey: r.fairnessKey,
    requestedAt: new Date(r.requestedAt).toISOString(),
    waitedMs: Math.max(0, until - r.requestedAt),
  });
  return {
    name: state.name,
    slots,
    source,
    ...(state.override !== undefined ? { override: state.override } : {}),
    ...(state.learned ? { learned: { ...state.learned, at: new Date(state.learned.at).toISOString() } } : {}),
    held: state.holders.length,
    waiting: state.waiters.length,
    holders: state.holders.map((h) => ({ ...view(h, h.grantedAt), heldMs: Math.max(0, now - h.grantedAt) })),
    waiters: state.waiters.map((w) => view(w, now)),
    stats: state.stats,
  };
}

/** A stage's pool as the run sees it (StageStatus.pool). */
export interface StagePool {
  name: string;
  /** Epoch-ms ISO: when the stage asked. */
  requestedAt: string;
  /** When the slot was granted; absent while waiting. */
  grantedAt?: string;
  waitedMs?: number;
  /** As the pool last said (queued or granted). */
  slots?: number;
  held?: number;
}

/** "waiting for pool glue:my-job (2/2 held)": one line for people, in every view of a waiting stage. */
export function poolWaitLine(p: StagePool): string {
  const counts = p.slots !== undefined && p.held !== undefined ? ` (${p.held}/${p.slots} held)` : '';
  return `waiting for pool ${p.name}${counts}`;
}

/** The priority key a run's stages ask with: `--priority`, else the pipeline's, else 3; backfill dates one lower. */
export function runPriority(opts: { explicit?: number; pipeline?: number; backfill?: boolean }): number {
  if (opts.explicit !== undefined) return opts.explicit;
  const base = opts.pipeline ?? PRIORITY.default;
  return opts.backfill ? Math.min(PRIORITY.max, base + 1) : base;
}

/** A priority given on the command line or in a pipeline file: the problem, or undefined. */
export function priorityProblem(v: unknown): string | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= PRIORITY.min && v <= PRIORITY.max
    ? undefined
    : `expected a whole number from ${PRIORITY.min} (first) to ${PRIORITY.max} (last)`;
}

/** Slots given to `sluice pool set`: the problem, or undefined. */
export function slotsProblem(v: unknown): string | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_POOL_SLOTS
    ? undefined
    : `expected a whole number of slots from 1 to ${MAX_POOL_SLOTS}`;
}
