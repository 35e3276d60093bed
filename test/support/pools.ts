/**
 * The pool activities for workflow tests that mock the stages' activities: the real ones (the
 * pools are real workflows, granting by signal), except that a pool does not ask AWS for its
 * slots (the mocked stages name jobs AWS does not have): it has `slots`, as `sluice pool set` would.
 */
import { createAwsClients } from '../../activities/aws-clients';
import { createPoolActivities } from '../../activities/pools';
import type { PoolCapacity } from '../../common/pools';
import { fastDefaults } from './timing';

export function testPoolActivities(slots = 1000) {
  const real = createPoolActivities(createAwsClients());
  return {
    ensurePool: real.ensurePool,
    askPool: real.askPool,
    closedPoolHolders: real.closedPoolHolders,
    tellPoolWaiters: real.tellPoolWaiters,
    async learnPoolCapacity(): Promise<PoolCapacity> {
      return { slots, source: 'test (AWS not asked)' };
    },
  };
}

/** Pipeline defaults of the pools' service tests: quick polls and retries, two attempts. */
export const FAST_POOLED = fastDefaults({
  poll: { max: '500ms' },
  timeout: { heartbeat: '5s' },
  retry: { initialInterval: '200ms', maximumAttempts: 2 },
});
/** Their backfill: six dates, all at once. */
export const SIX_DATES = {
  from: '2024-01-01',
  to: '2024-01-06',
  concurrency: 6,
  only: 'all',
  order: 'oldest',
} as const;
