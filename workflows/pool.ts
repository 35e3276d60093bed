/**
 * `sluicePool`: one pool's slots, holders and waiters (common/pools.ts). One workflow per pool,
 * `sluice-pool/<task queue>/<name>`, shared by every run, backfill, schedule and worker of the
 * namespace that runs its stages on that task queue.
 *
 * - Stages ask with an update (askUpdate): a free slot is granted in its answer. A stage that must
 *   wait is granted later with a signal back: a waiting stage costs no timer and no poll. The
 *   pool's work is batched: each workflow task grants as many as are free, and the batch's grants
 *   go out in one local activity.
 * - Slots are learned from AWS (the kind's `capacity`, by an activity) when the pool starts and
 *   again every LEARN_EVERY while it is in use; `sluice pool set` overrides them at once.
 * - A slot is never leaked: a holder whose run closed (cancelled, terminated, timed out) is found
 *   when a grant to it fails, and, while any slot is held, by a sweep every SWEEP_EVERY
 *   that asks Temporal which holders' runs are still open.
 * - The history stays short: the pool continues as new every CONTINUE_AFTER events, carrying its state.
 *
 * Deterministic: imports only @temporalio/workflow, pure helpers and activity types.
 */
import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { SluiceActivities } from '../activities';
import {
  enqueue,
  grantNext,
  newPoolState,
  poolSlots,
  poolView,
  releaseRequest,
  type PoolAnswer,
  type PoolGrant,
  type PoolHolder,
  type PoolLearn,
  type PoolRequest,
  type PoolState,
  type PoolTell,
} from '../common/pools';
import { AUTO_UPGRADE, versioned } from './versioning';

export interface PoolInput {
  name: string;
  /** How to learn the slots from AWS (a kind's default pool); absent for a pool named by hand. */
  learn?: PoolLearn;
  /** Carried across continue-as-new. */
  state?: PoolState;
}

import {
  acquireSignal,
  askUpdate,
  giveBackUpdate,
  grantedSignal,
  poolQuery,
  queuedSignal,
  releaseSignal,
  setSlotsSignal,
} from '../common/messages';

// The pool's messages are defined once (common/messages.ts); exported here as before.
export {
  acquireSignal,
  askUpdate,
  giveBackUpdate,
  grantedSignal,
  poolQuery,
  queuedSignal,
  releaseSignal,
  setSlotsSignal,
};

/** Changes to the pools' workflows that runs in flight replay around (`patched`). */
export const POOL_PATCHES = {
  /** The pool sends a batch of grants and notices with one local activity (tellPoolWaiters), not a signal each. */
  localTell: 'sluice-pool-local-tell-1',
  /** A stage asks its pool with a local activity (signal-with-start), not a signal and a fallback activity. */
  localAsk: 'sluice-pool-local-ask-1',
  /** A stage asks its pool with an update (update-with-start): a free slot comes in the answer, no signal back. */
  updateAsk: 'sluice-pool-update-ask-1',
  /** The pool continues as new after SHORT_HISTORY_EVENTS, not CONTINUE_AFTER_EVENTS. */
  shortHistory: 'sluice-pool-short-history-1',
} as const;

/**
 * While any slot is held, how often to look for holders whose runs have closed (one
 * visibility read of the holders; a terminated run gives its slot back within this).
 */
const SWEEP_EVERY_MS = 15_000;
/** How often a pool in use asks AWS again for its slots (a job's MaxConcurrentRuns may change). */
const LEARN_EVERY_MS = 10 * 60_000;
/** A waiter told the pool's counts ("waiting for pool X (2/2 held)") once it has waited this long. */
const NOTICE_AFTER_MS = 5_000;
/** An idle pool (no holder, no waiter, nothing set by hand) ends after this; the next ask starts it anew. */
const IDLE_END_MS = 60 * 60_000;
/** Events before the pool continues as new (replay of a pool's history stays cheap): pools of before shortHistory. */
const CONTINUE_AFTER_EVENTS = 4_000;
/**
 * Events before the pool continues as new. A busy pool's continue-as-new often meets a signal that
 * arrived meanwhile: Temporal refuses it (UNHANDLED_COMMAND) and the SDK replays the pool's whole
 * history before trying again, while every ask waits. A short history keeps that stall short.
 */
const SHORT_HISTORY_EVENTS = 1_000;

versioned(AUTO_UPGRADE, sluicePool);
export async function sluicePool(input: PoolInput): Promise<void> {
  const state = input.state ?? newPoolState(input.name);
  const { learnPoolCapacity, closedPoolHolders } = proxyActivities<SluiceActivities>({
    startToCloseTimeout: '1m',
    retry: { maximumAttempts: 3, initialInterval: '1s' },
    summary: `pool ${input.name}`,
  });
  const { tellPoolWaiters } = proxyLocalActivities<SluiceActivities>({
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 4, initialInterval: '200ms', maximumInterval: '2s' },
  });
  // Pools started before the local tells replay the signals they sent.
  const localTell = patched(POOL_PATCHES.localTell);
  const shortHistory = patched(POOL_PATCHES.shortHistory);
  const continueAfter = shortHistory ? SHORT_HISTORY_EVENTS : CONTINUE_AFTER_EVENTS;
  let dirty = true;
  let deleted = false;
  /** Requests told they wait (once each); grants and notices not yet confirmed by the server. */
  const told = new Set<string>(state.waiters.map((w) => w.id));
  const sending = new Set<Promise<void>>();
  /** Holders that asked again (a replayed ask): the grant is sent to them once more. */
  const regrant = new Set<string>();

  /** Holders granted in an ask's answer of another stage (a release freed more): told by the loop. */
  const handed: PoolHolder[] = [];
  /** False until the pool knows its slots (learned from AWS at its start): asks wait for the loop meanwhile. */
  let ready = false;

  const grantBody = (h: PoolHolder): PoolGrant => ({
    id: h.id,
    pool: input.name,
    slots: poolSlots(state).slots,
    held: state.holders.length,
    waitedMs: h.grantedAt - h.requestedAt,
  });

  // An ask answered at once: a free slot is granted in the answer (the asking run needs no signal
  // and no workflow task to hear it); otherwise it waits like a signalled ask, for the `granted` signal.
  setHandler(askUpdate, (req): PoolAnswer => {
    dirty = true;
    if (enqueue(state, req) === 'held') {
      // Asked again while holding (a retried ask): the same grant again.
      const holder = state.holders.find((h) => h.id === req.id) as PoolHolder;
      return { granted: grantBody(holder) };
    }
    if (!ready) return { queued: true };
    let mine: PoolHolder | undefined;
    for (const h of grantNext(state, Date.now())) {
      if (h.id === req.id) mine = h;
      else handed.push(h);
    }
    return mine ? { granted: grantBody(mine) } : { queued: true };
  });
  setHandler(acquireSignal, (req) => {
    const how = enqueue(state, req);
    // Asked again while holding (a replayed ask): the grant may not have reached it; send it again.
    if (how === 'held') regrant.add(req.id);
    dirty = true;
  });
  const release = ({ id }: { id: string }): void => {
    releaseRequest(state, id);
    told.delete(id);
    dirty = true;
  };
  setHandler(releaseSignal, release);
  // A stage's activity gives its slot back by update (a continue-as-new it meets is not refused).
  setHandler(giveBackUpdate, release);
  setHandler(setSlotsSignal, ({ slots }) => {
    if (slots === null) {
      delete state.override;
      deleted = true;
    } else {
      state.override = slots;
      deleted = false;
    }
    dirty = true;
  });
  setHandler(poolQuery, () => poolView(state, Date.now()));

  const learn = async (): Promise<void> => {
    if (!input.learn) return;
    try {
      const learned = await learnPoolCapacity({ name: input.name, learn: input.learn });
      if (learned) state.learned = { ...learned, at: Date.now() };
    } catch (err) {
      // The pool keeps what it knew (or the default) and tries again later.
      log.warn('pool could not learn its slots from AWS', { pool: input.name, error: String(err) });
      if (state.learned) state.learned.at = Date.now();
      else state.learned = { ...poolSlots(state), at: Date.now() };
    }
    dirty = true;
  };

  const send = (p: Promise<void>): void => {
    const tracked = p.finally(() => sending.delete(tracked));
    sending.add(tracked);
  };

  /** A run that has closed cannot take its grant or notice: its slot (or place) is free again. */
  const closedRun = (t: PoolTell): void => {
    const how = releaseRequest(state, t.body.id);
    if (t.signal === 'granted' && how !== 'unknown') state.stats.reclaimed++;
    dirty = true;
  };

  const signalOne = (t: PoolTell): void => {
    const h = getExternalWorkflowHandle(t.workflowId, t.runId);
    send(
      (t.signal === 'granted' ? h.signal(grantedSignal, t.body) : h.signal(queuedSignal, t.body)).catch(() =>
        closedRun(t),
      ),
    );
  };

  /**
   * Tells runs their grants and notices: one local activity for the batch (the pool's throughput
   * is its workflow tasks: a signal each would cost two events and a task), or, for a pool
   * started before that, a signal each. A batch the activity could not send goes by signals.
   */
  const tell = async (tells: PoolTell[]): Promise<void> => {
    if (!tells.length) return;
    if (!localTell) return tells.forEach(signalOne);
    let closed: string[];
    try {
      closed = await tellPoolWaiters({ tells });
    } catch (err) {
      log.warn('pool could not send its grants in one batch; signalling each run', {
        pool: input.name,
        error: String(err),
      });
      return tells.forEach(signalOne);
    }
    const gone = new Set(closed);
    for (const t of tells) if (gone.has(t.body.id)) closedRun(t);
  };

  const granted = (h: PoolHolder): PoolTell => ({
    workflowId: h.workflowId,
    runId: h.runId,
    signal: 'granted',
    body: grantBody(h),
  });

  const queued = (w: PoolRequest): PoolTell => ({
    workflowId: w.workflowId,
    runId: w.runId,
    signal: 'queued',
    body: {
      id: w.id,
      pool: input.name,
      slots: poolSlots(state).slots,
      held: state.holders.length,
      waiting: state.waiters.length,
    },
  });

  /** Frees the slots of holders whose runs have closed (the pool is full and others wait). */
  const sweep = async (): Promise<void> => {
    const holders = state.holders.map((h) => ({ id: h.id, workflowId: h.workflowId, runId: h.runId }));
    try {
      const closed = await closedPoolHolders({ holders });
      for (const id of closed) if (releaseRequest(state, id) === 'released') state.stats.reclaimed++;
      if (closed.length) log.info('pool reclaimed the slots of closed runs', { pool: input.name, ids: closed });
    } catch (err) {
      log.warn('pool could not check its holders', { pool: input.name, error: String(err) });
    }
    dirty = true;
  };

  const showDetails = (): void => {
    const { slots, source } = poolSlots(state);
    setCurrentDetails(`${state.holders.length}/${slots} held (${source}), ${state.waiters.length} waiting`);
  };

  if (!state.learned || Date.now() - state.learned.at >= LEARN_EVERY_MS) await learn();
  ready = true;
  let sweepTimer: Promise<void> | undefined;
  let sweepDue = false;
  let learnTimer: Promise<void> | undefined;
  let learnDue = false;
  let noticeTimer: Promise<void> | undefined;
  let noticeDue = false;

  for (;;) {
    if (dirty) {
      dirty = false;
      const tells: PoolTell[] = [];
      for (const h of [...handed.splice(0), ...grantNext(state, Date.now())]) {
        told.delete(h.id);
        tells.push(granted(h));
      }
      for (const id of regrant) {
        const h = state.holders.find((x) => x.id === id);
        if (h) tells.push(granted(h));
      }
      regrant.clear();
      showDetails();
      await tell(tells);
    }
    const busy = state.holders.length > 0 || state.waiters.length > 0;
    // Waiters hear the pool's counts once they have waited NOTICE_AFTER (one signal each): most
    // waits of a busy pool are shorter, and a notice costs the waiting run a workflow task.
    const untold = state.waiters.some((w) => !told.has(w.id));
    if (untold && !noticeTimer) {
      noticeTimer = sleep(NOTICE_AFTER_MS).then(() => {
        noticeDue = true;
        noticeTimer = undefined;
      });
    }
    if (noticeDue) {
      noticeDue = false;
      const now = Date.now();
      const tells: PoolTell[] = [];
      for (const w of state.waiters) {
        if (told.has(w.id) || now - w.requestedAt < NOTICE_AFTER_MS) continue;
        told.add(w.id);
        tells.push(queued(w));
      }
      await tell(tells);
      continue;
    }
    // Holders are checked every SWEEP_EVERY while any hold a slot: a holder whose run closed
    // without giving it back (terminated; a cancel that raced its grant) loses it within that.
    if (state.holders.length > 0 && !sweepTimer) {
      sweepTimer = sleep(SWEEP_EVERY_MS).then(() => {
        sweepDue = true;
        sweepTimer = undefined;
      });
    }
    if (busy && input.learn && !learnTimer) {
      learnTimer = sleep(LEARN_EVERY_MS).then(() => {
        learnDue = true;
        learnTimer = undefined;
      });
    }
    if (sweepDue) {
      sweepDue = false;
      if (state.holders.length > 0) await sweep();
      continue;
    }
    if (learnDue) {
      learnDue = false;
      if (busy) await learn();
      continue;
    }
    if (workflowInfo().historyLength >= continueAfter || workflowInfo().continueAsNewSuggested) {
      // Every grant and notice confirmed (or failed and handled) before the state is carried over.
      while (sending.size > 0) await Promise.allSettled([...sending]);
      if (!dirty) {
        await continueAsNew<typeof sluicePool>({
          name: input.name,
          ...(input.learn ? { learn: input.learn } : {}),
          state,
        });
      }
      continue;
    }
    if (!busy && state.override === undefined) {
      // Idle and set by nobody: end after a while; a `sluice pool delete` ends it at once.
      const woke = deleted ? false : await condition(() => dirty, IDLE_END_MS);
      if (!woke && !dirty && state.holders.length === 0 && state.waiters.length === 0) {
        while (sending.size > 0) await Promise.allSettled([...sending]);
        if (!dirty) return;
      }
      continue;
    }
    await condition(() => dirty || sweepDue || learnDue || noticeDue);
  }
}
