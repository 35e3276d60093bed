/**
 * The pools' activities (workflows/pool.ts, workflows/pool-slot.ts): start a pool with a stage's
 * ask, learn a default pool's slots from AWS, and tell which holders' runs have closed.
 */
import { Context, log } from '@temporalio/activity';
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  isGrpcServiceError,
  type Workflow,
} from '@temporalio/client';
import {
  POOL_ASK_UPDATE,
  POOL_SIGNALS,
  POOL_WORKFLOW_TYPE,
  poolWorkflowId,
  type PoolAnswer,
  type PoolCapacity,
  type PoolLearn,
  type PoolRequest,
  type PoolTell,
} from '../common/pools';
import type { StageKind } from '../common/constants';
import { giveBackUpdate, releaseSignal } from '../common/messages';
import type { AwsClients } from './aws-clients';
import { STAGE_HANDLERS } from '../kinds/handlers';
import { stageContext } from './runner';

export interface EnsurePoolInput {
  name: string;
  learn?: PoolLearn;
  request: PoolRequest;
}

/** How a stage's ask starts its pool when it is not running: its ID, queue, input and summary in the UI. */
const poolStart = (taskQueue: string, input: EnsurePoolInput) => ({
  workflowId: poolWorkflowId(taskQueue, input.name),
  taskQueue,
  args: [{ name: input.name, ...(input.learn ? { learn: input.learn } : {}) }],
  staticSummary: `Pool ${input.name}: slots shared by every Sluice stage that uses it`,
});

/**
 * How long a stage waits for its pool to answer an ask before asking by signal instead. A pool
 * answers in tens of milliseconds; one that is busy replaying its history (after a refused
 * continue-as-new) or has its 10 updates in flight (Temporal's per-workflow limit) would hold the
 * run's workflow task — and every other date asking meanwhile — for seconds.
 */
const ASK_ANSWER_WITHIN_MS = 2_000;

/** gRPC's RESOURCE_EXHAUSTED: Temporal's limit of updates in flight per workflow (10 by default) reached. */
const GRPC_RESOURCE_EXHAUSTED = 8;

/** The pool has too many asks in flight to take one more update now (the error, or its cause). */
function isBusy(err: unknown): boolean {
  const cause = err instanceof Error ? err.cause : undefined;
  return [err, cause].some((e) => isGrpcServiceError(e) && Number(e.code) === GRPC_RESOURCE_EXHAUSTED);
}

/** The pool did not answer an update in time, or has too many in flight to take one more now. */
function isSlow(err: unknown): boolean {
  return err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err) || isBusy(err);
}

/** How many holders' runs are described at once. */
const DESCRIBE_CONCURRENCY = 16;
/** How many runs a pool signals at once. */
const TELL_CONCURRENCY = 32;

export function createPoolActivities(clients: AwsClients) {
  /** Starts the pool if it is not running, with the stage's ask (signal-with-start: one call either way). */
  const ensurePool = async (input: EnsurePoolInput): Promise<void> => {
    const ctx = Context.current();
    await ctx.client.workflow.signalWithStart(POOL_WORKFLOW_TYPE, {
      ...poolStart(ctx.info.taskQueue, input),
      signal: POOL_SIGNALS.acquire,
      signalArgs: [input.request],
    });
  };

  return {
    ensurePool,

    /**
     * Asks the pool for a slot and hears at once whether it has one (update-with-start: the pool is
     * started if it is not running). A pool that cannot take the update (a worker of a release
     * before it), or does not answer within ASK_ANSWER_WITHIN_MS, is asked as ensurePool asks
     * instead: the grant then comes as a signal.
     */
    async askPool(input: EnsurePoolInput): Promise<PoolAnswer> {
      const ctx = Context.current();
      try {
        return await ctx.client.withDeadline(Date.now() + ASK_ANSWER_WITHIN_MS, () =>
          ctx.client.workflow.executeUpdateWithStart<Workflow, PoolAnswer, [PoolRequest]>(POOL_ASK_UPDATE, {
            args: [input.request],
            startWorkflowOperation: new WithStartWorkflowOperation<Workflow>(POOL_WORKFLOW_TYPE, {
              ...poolStart(ctx.info.taskQueue, input),
              workflowIdConflictPolicy: 'USE_EXISTING',
            }),
          }),
        );
      } catch (err) {
        const slow = isSlow(err);
        if (!slow && !(err instanceof WorkflowUpdateFailedError)) throw err;
        // The same request by signal: an update the pool took meanwhile makes it a repeat (the
        // same grant, sent again as a signal), so the stage is never granted twice.
        if (slow) log.info('the pool did not answer the ask in time; asking by signal', { pool: input.name });
        else
          log.warn('the pool did not take the ask as an update; asking by signal', {
            pool: input.name,
            error: String((err as Error).cause ?? err),
          });
        await ensurePool(input);
        return { queued: true };
      }
    },

    /** The slots AWS states for a default pool's resource; undefined when the kind says nothing. */
    async learnPoolCapacity(input: { name: string; learn: PoolLearn }): Promise<PoolCapacity | undefined> {
      const kind = input.learn.kind as StageKind;
      const handler = STAGE_HANDLERS[kind] as (typeof STAGE_HANDLERS)[StageKind] | undefined;
      if (!handler?.capacity) return undefined;
      const sctx = stageContext(
        { pipeline: '', ds: '', stageId: input.name, params: input.learn.params, rendered: true, idempotencyKey: '' },
        clients,
      );
      const learned = await handler.capacity(sctx);
      log.info('pool slots learned', { pool: input.name, ...learned });
      return learned;
    },

    /**
     * Sends a pool's grants and notices (a local activity of the pool: one marker in its history
     * for a whole batch, where a signal per run would add two events and a workflow task each).
     * Returns the ids of requests whose runs have closed: they cannot take a grant. Any other
     * error fails the call, which is retried whole (a grant received twice is the same grant).
     */
    async tellPoolWaiters(input: { tells: PoolTell[] }): Promise<string[]> {
      const client = Context.current().client;
      return closedRuns(
        input.tells,
        TELL_CONCURRENCY,
        (t) => t.body.id,
        async (t) => {
          await client.workflow.getHandle(t.workflowId, t.runId).signal(POOL_SIGNALS[t.signal], t.body);
          return false;
        },
      );
    },

    /** The ids of holders whose runs are no longer open (cancelled, terminated, timed out, gone). */
    async closedPoolHolders(input: {
      holders: { id: string; workflowId: string; runId: string }[];
    }): Promise<string[]> {
      const client = Context.current().client;
      return closedRuns(
        input.holders,
        DESCRIBE_CONCURRENCY,
        (h) => h.id,
        async (h) => (await client.workflow.getHandle(h.workflowId, h.runId).describe()).status.name !== 'RUNNING',
      );
    },
  };
}

/**
 * Asks `closed` of every item, `concurrency` at a time; returns the ids of those whose runs have
 * closed: `closed` said so, or Temporal does not know the run (WorkflowNotFoundError, which is
 * also what a closed run answers a signal with). Any other error fails the whole call.
 */
async function closedRuns<T>(
  items: T[],
  concurrency: number,
  idOf: (item: T) => string,
  closed: (item: T) => Promise<boolean>,
): Promise<string[]> {
  const ids: string[] = [];
  const queue = [...items];
  const next = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      try {
        if (await closed(item)) ids.push(idOf(item));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) ids.push(idOf(item));
        else throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, next));
  return ids;
}

/**
 * A stage's activity gives its slot back itself, the moment its job has ended (nothing in the run's
 * history). By update (POOL_GIVE_BACK_UPDATE: a continue-as-new of the pool it meets is not
 * refused, the client retries it on the new run); a pool that does not answer within
 * ASK_ANSWER_WITHIN_MS, has too many updates in flight or predates the update is told by the
 * `release` signal. Giving back twice is harmless (the second finds no holder). False: the run will.
 */
export async function releaseSlotFromActivity(slot: { pool: string; id: string }): Promise<boolean> {
  const ctx = Context.current();
  const pool = ctx.client.workflow.getHandle(poolWorkflowId(ctx.info.taskQueue, slot.pool));
  try {
    try {
      await ctx.client.withDeadline(Date.now() + ASK_ANSWER_WITHIN_MS, () =>
        pool.executeUpdate(giveBackUpdate, { args: [{ id: slot.id }] }),
      );
    } catch (err) {
      if (!isSlow(err) && !(err instanceof WorkflowUpdateFailedError)) throw err;
      await pool.signal(releaseSignal, { id: slot.id });
    }
    return true;
  } catch (err) {
    log.warn('could not give the pool slot back from the activity; the run will', { ...slot, error: String(err) });
    return false;
  }
}
