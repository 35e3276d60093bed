/**
 * The pool activities for workflow tests that mock the stages' activities: the real ones (the
 * pools are real workflows, granting by signal), except that a pool does not ask AWS for its
 * slots (the mocked stages name jobs AWS does not have): it has `slots`, as `sluice pool set` would.
 */
import { createAwsClients } from '../../activities/aws-clients';
import { createPoolActivities } from '../../activities/pools';
import type { PoolCapacity } from '../../common/pools';

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
