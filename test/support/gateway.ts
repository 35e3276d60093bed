/** Client of the local gateway's control API (infra/local/gateway): scenarios, faults, call counts. */
import { GATEWAY_URL } from './env';

export interface Scenario {
  service: 'glue' | 'athena' | 'lambda' | (string & {});
  match: string;
  durationMs?: number;
  outcome?: 'SUCCEEDED' | 'FAILED' | 'TIMEOUT' | 'HANG';
  message?: string;
  result?: { columns: string[]; rows: (string | null)[][] };
  /** The emulated job's reported usage: athena `bytesScanned`; emr-serverless `vCPU`, `memoryGB`, `storageGB`. */
  usage?: Record<string, number>;
  /** The run's state-change event: emitted (default) or dropped, as a lost event. */
  events?: 'emit' | 'drop';
  eventDelayMs?: number;
}

export interface CallRecordView {
  service: string;
  operation: string;
  resource?: string;
  at: string;
}

export interface EmittedEventView {
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  endedAt: number;
  emittedAt: number;
  dropped: boolean;
  eventId?: string;
  error?: string;
}

async function control(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${GATEWAY_URL}/_sluice/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`gateway ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export interface WebhookDelivery {
  eventId?: string;
  body: { text: string; sluice: Record<string, unknown> & { id: string; type: string } };
  at: number;
  status: number;
}

export const gateway = {
  /** The local webhook receiver (infra/local/gateway/webhooks.ts): its URL, what it received, how it answers. */
  webhookUrl: (name: string) => `${GATEWAY_URL}/_sluice/webhooks/${name}`,
  webhook: async (name: string) =>
    (await control('GET', `webhooks/${name}`)) as { deliveries: WebhookDelivery[]; events: number },
  configureWebhook: (name: string, c: { fail?: number; status?: number; delayMs?: number }) =>
    control('POST', `webhooks/${name}/config`, c),
  setScenario: (s: Scenario) => control('POST', 'scenarios', s),
  /** Account quotas the gateway enforces as AWS does (capacity.ts), for one Region or (no region) all. */
  setLimits: (l: {
    region?: string;
    athena?: { activeQueries?: number | null; activeDdlQueries?: number | null };
    lambda?: { unreservedConcurrency?: number | null };
    emrServerless?: { maxConcurrentVcpus?: number | null };
  }) => control('POST', 'limits', l),
  /** Per service and resource: active now, the peak, starts accepted and refused for capacity. */
  capacity: async (): Promise<
    Record<string, Record<string, { active: number; peak: number; accepted: number; refused: number; limit?: number }>>
  > => ((await control('GET', 'capacity')) as { capacity: never }).capacity,
  addFault: (f: {
    service: string;
    operation: string;
    resource?: string;
    kind: 'throttle' | 'server-error' | 'latency' | 'partial-failure' | 'access-denied' | 'error';
    times?: number;
    latencyMs?: number;
    /** partial-failure: how many records (the first ones) of the call fail, and with which ErrorCode. */
    records?: number;
    /** partial-failure: the per-record ErrorCode; error: the AWS error code (e.g. ValidationException). */
    errorCode?: string;
    /** access-denied / error: AWS's message (default: its wording for access denied). */
    message?: string;
    /** error: a 4xx HTTP status (default 400). */
    status?: number;
  }) => control('POST', 'faults', f),
  async callLog(filter: { service?: string; operation?: string; resource?: string }): Promise<CallRecordView[]> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) q.set(k, v);
    return ((await control('GET', `calls?${q.toString()}`)) as { calls: CallRecordView[] }).calls;
  },
  /** The state-change events the gateway emitted (or dropped) whose detail contains `contains`. */
  async events(contains: string): Promise<EmittedEventView[]> {
    const q = new URLSearchParams({ contains });
    return ((await control('GET', `events?${q.toString()}`)) as { events: EmittedEventView[] }).events;
  },
  async calls(filter: { service?: string; operation?: string; resource?: string }): Promise<number> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) q.set(k, v);
    const out = (await control('GET', `calls?${q.toString()}`)) as { count: number };
    return out.count;
  },
};
