/** Endpoints of the local stack, as tests see them (the same variables a user sets). */
export const GATEWAY_URL = process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566';

export function applyLocalEnv(env: NodeJS.ProcessEnv = process.env): void {
  env.TEMPORAL_ADDRESS ??= '127.0.0.1:7233';
  env.TEMPORAL_NAMESPACE ??= 'default';
  env.AWS_ENDPOINT_URL ??= 'http://127.0.0.1:4566';
  env.AWS_REGION ??= 'us-east-1';
  env.AWS_ACCESS_KEY_ID ??= 'testing';
  env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  env.SLUICE_UI_URL ??= 'http://127.0.0.1:8233';
}

/** The local stack's stage-event queue (infra/local/gateway/events.ts creates it on moto). */
export const LOCAL_EVENTS_QUEUE_URL =
  process.env.SLUICE_TEST_EVENTS_QUEUE_URL ?? 'http://127.0.0.1:5077/123456789012/sluice-stage-events';

/**
 * Tests poll unless they opt in to push completion (test/e2e/push-completion.test.ts): most of them
 * pace themselves on status calls ("the stage has polled twice, now kill the worker"). The queue of
 * the shell's environment is kept for the tests that use it.
 */
export function pollingByDefault(env: NodeJS.ProcessEnv = process.env): void {
  if (env.SLUICE_EVENTS_QUEUE_URL) env.SLUICE_TEST_EVENTS_QUEUE_URL ??= env.SLUICE_EVENTS_QUEUE_URL;
  delete env.SLUICE_EVENTS_QUEUE_URL;
}
