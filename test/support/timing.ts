/**
 * Pipeline defaults that keep a test's runs quick: its stages poll from 200 ms up to 1 s, a
 * heartbeat timeout of 3 s notices a dead worker soon, and retries wait 500 ms. A test file that
 * needs other figures names only those: `fastDefaults({ retry: { initialInterval: '200ms' } })`
 * (each of poll, timeout and retry is merged key by key).
 */
import type { PollSpec, RetrySpec, TimeoutSpec } from '../../common/pipeline';

export interface TestDefaults {
  poll: PollSpec;
  timeout: Extract<TimeoutSpec, object>;
  retry: RetrySpec;
}

export const FAST: Readonly<TestDefaults> = {
  poll: { initial: '200ms', max: '1s' },
  timeout: { heartbeat: '3s' },
  retry: { initialInterval: '500ms' },
};

export function fastDefaults(over: Partial<TestDefaults> = {}): TestDefaults {
  return {
    poll: { ...FAST.poll, ...over.poll },
    timeout: { ...FAST.timeout, ...over.timeout },
    retry: { ...FAST.retry, ...over.retry },
  };
}
