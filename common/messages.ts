/**
 * Every signal, query and update of Sluice's workflows, as the SDK's typed definitions: whoever
 * sends one (the client, an activity, the stage-event consumer) sends this definition, so its
 * name and its arguments' type are written once and checked at every call.
 *
 * The names on the wire are the constants of common/constants.ts, common/stage-events.ts and
 * common/pools.ts, unchanged: runs in flight and the committed histories carry them.
 *
 * Workflow-safe (defineSignal, defineQuery and defineUpdate only build a name and a type; they
 * need no workflow context): the workflows may set their handlers with these same definitions.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BackfillProgress, BackfillReport } from './backfill-types';
import { QUERY_NAMES, SIGNAL_NAMES } from './constants';
import {
  POOL_ASK_UPDATE,
  POOL_GIVE_BACK_UPDATE,
  POOL_QUERY,
  POOL_SIGNALS,
  type PoolAnswer,
  type PoolGrant,
  type PoolQueued,
  type PoolRequest,
  type PoolView,
} from './pools';
import type { RunStatus } from './run-types';
import { JOB_EVENT_SIGNAL, RELEASE_WATCH_SIGNAL, type JobEventNotice } from './stage-events';

// runPipeline: a date's run.
/** Every stage's state. */
export const statusQuery = defineQuery<RunStatus>(QUERY_NAMES.status);

// backfillPipeline.
export const progressQuery = defineQuery<BackfillProgress>(QUERY_NAMES.progress);
/** What ran so far, and what was cancelled (also after the backfill ended). */
export const reportQuery = defineQuery<BackfillReport>(QUERY_NAMES.report);
export const pauseSignal = defineSignal(SIGNAL_NAMES.pause);
export const resumeSignal = defineSignal(SIGNAL_NAMES.resume);
export const setConcurrencySignal = defineSignal<[number]>(SIGNAL_NAMES.setConcurrency);
/** Kept for clients of before: `sluice backfill cancel` requests the workflow's cancellation instead. */
export const cancelSignal = defineSignal(SIGNAL_NAMES.cancel);

// watchJob: a waiting stage's mailbox (push completion).
/** From the stage-event consumer: the watched job reached a terminal state. */
export const jobEventSignal = defineSignal<[JobEventNotice]>(JOB_EVENT_SIGNAL);
/** From the stage: it no longer waits. */
export const releaseWatchSignal = defineSignal(RELEASE_WATCH_SIGNAL);

// sluicePool: a pool's slots, and what it tells the stages that wait.
export const acquireSignal = defineSignal<[PoolRequest]>(POOL_SIGNALS.acquire);
export const releaseSignal = defineSignal<[{ id: string }]>(POOL_SIGNALS.release);
/** `sluice pool set` (a number) and `sluice pool delete` (null). */
export const setSlotsSignal = defineSignal<[{ slots: number | null }]>(POOL_SIGNALS.setSlots);
export const grantedSignal = defineSignal<[PoolGrant]>(POOL_SIGNALS.granted);
export const queuedSignal = defineSignal<[PoolQueued]>(POOL_SIGNALS.queued);
export const poolQuery = defineQuery<PoolView>(POOL_QUERY);
export const askUpdate = defineUpdate<PoolAnswer, [PoolRequest]>(POOL_ASK_UPDATE);
/** From a stage's activity: its job has ended, the slot goes back (a continue-as-new it meets is not refused). */
export const giveBackUpdate = defineUpdate<void, [{ id: string }]>(POOL_GIVE_BACK_UPDATE);
