/**
 * Where Sluice connects, from the ecosystem's own variables: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY (Temporal Cloud), and for AWS the SDK's own AWS_REGION / AWS_ENDPOINT_URL and
 * default credential chain (read by the AWS SDK itself, not here).
 */
import { DEFAULT_TASK_QUEUE } from './constants';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  /** Base URL of the Temporal Web UI, for links. */
  uiUrl?: string;
}

/**
 * What the client API needs of the settings: where runs go (the task queue a worker with
 * SluicePlugin polls) and, for links, the namespace and Web UI. A team's code passes just these.
 */
export type RunTarget = Pick<TemporalSettings, 'namespace' | 'taskQueue'> & Partial<Pick<TemporalSettings, 'uiUrl'>>;

const LOCAL = /^(localhost|127\.0\.0\.1|\[::1\]):7233$/;

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const address = env.TEMPORAL_ADDRESS || 'localhost:7233';
  const namespace = env.TEMPORAL_NAMESPACE || 'default';
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const uiUrl =
    env.SLUICE_UI_URL ||
    (LOCAL.test(address)
      ? 'http://localhost:8233'
      : address.endsWith('.tmprl.cloud:7233')
        ? 'https://cloud.temporal.io'
        : undefined);
  return {
    address,
    namespace,
    taskQueue: env.SLUICE_TASK_QUEUE || DEFAULT_TASK_QUEUE,
    ...(apiKey ? { apiKey } : {}),
    ...(uiUrl ? { uiUrl } : {}),
  };
}

/** The Temporal Web UI page of one run. */
export function runUiUrl(
  settings: Pick<TemporalSettings, 'uiUrl' | 'namespace'>,
  workflowId: string,
  runId?: string,
): string | undefined {
  if (!settings.uiUrl) return undefined;
  const base = `${settings.uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}
