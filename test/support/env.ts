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
