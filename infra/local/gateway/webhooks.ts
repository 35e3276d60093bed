/**
 * A webhook receiver for notifications (issue #21): `notify: [{ to: http://127.0.0.1:<gateway>/_sluice/webhooks/<name> }]`
 * posts here, as it would to Slack. Per name it keeps what arrived, and can be told to fail or to
 * hold its answer (a destination that is down, or a worker killed mid-send).
 *
 *   POST   /_sluice/webhooks/<name>          a delivery: recorded, then answered (200, or as configured)
 *   GET    /_sluice/webhooks/<name>          { deliveries: [...], events: <distinct X-Sluice-Event-Id> }
 *   POST   /_sluice/webhooks/<name>/config   { fail?: n, status?: 500, delayMs?: ms } (the next n deliveries fail)
 *   DELETE /_sluice/webhooks/<name>          forget it
 */
export interface Delivery {
  /** The X-Sluice-Event-Id header: the same on every retry of one event. */
  eventId?: string;
  body: unknown;
  at: number;
  /** The status the receiver answered (or will, once its delay is over). */
  status: number;
}

interface Hook {
  deliveries: Delivery[];
  fail: number;
  status: number;
  delayMs: number;
}

const hooks = new Map<string, Hook>();

function hook(name: string): Hook {
  let h = hooks.get(name);
  if (!h) {
    h = { deliveries: [], fail: 0, status: 500, delayMs: 0 };
    hooks.set(name, h);
  }
  return h;
}

export function resetWebhooks(): void {
  hooks.clear();
}

/** Records a delivery; returns the status to answer and how long to wait first. */
export function receive(name: string, eventId: string | undefined, body: unknown): { status: number; delayMs: number } {
  const h = hook(name);
  const failing = h.fail > 0;
  if (failing) h.fail--;
  const status = failing ? h.status : 200;
  h.deliveries.push({ ...(eventId ? { eventId } : {}), body, at: Date.now(), status });
  return { status, delayMs: h.delayMs };
}

export function configure(name: string, raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return 'expected { fail?, status?, delayMs? }';
  const c = raw as Record<string, unknown>;
  const h = hook(name);
  for (const k of ['fail', 'status', 'delayMs'] as const) {
    const v = c[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return `${k} must be a whole number ≥ 0`;
    h[k] = v;
  }
  return undefined;
}

export function deliveries(name: string): { deliveries: Delivery[]; events: number } {
  const h = hooks.get(name);
  const list = h?.deliveries ?? [];
  return { deliveries: list, events: new Set(list.map((d) => d.eventId)).size };
}

export function forget(name: string): void {
  hooks.delete(name);
}
