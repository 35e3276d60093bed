/**
 * Notifications (issue #21): what a pipeline's `notify:` says, which events a run's transition
 * sends, and what each event carries.
 *
 *   notify:
 *     - to: arn:aws:sns:eu-west-1:123456789012:data-alerts          # an SNS topic
 *     - to: arn:aws:events:eu-west-1:123456789012:event-bus/data    # an EventBridge bus
 *       on: [failed, late, recovered, succeeded]
 *     - to: https://hooks.slack.com/services/T000/B000/XXXX         # a webhook (Slack-compatible body)
 *     - to: arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-hook   # a secret holding its URL
 *
 * Every event has a stable id (the same transition always gives the same id, so a send retried
 * after a worker died is recognisably one event). Pure and free of Node built-ins.
 */

export const NOTIFY_EVENTS = ['failed', 'late', 'succeeded', 'cancelled', 'recovered', 'backfill'] as const;
export type NotifyEventType = (typeof NOTIFY_EVENTS)[number];
/** What a destination hears when its `on` is not given: what needs a person, and the all-clear. */
export const DEFAULT_NOTIFY_ON: NotifyEventType[] = ['failed', 'late', 'recovered', 'backfill'];

export type Destination =
  | { type: 'sns'; topicArn: string }
  | { type: 'eventbridge'; busArn: string }
  | { type: 'webhook'; url: string }
  | { type: 'webhook-secret'; secretArn: string };

export interface NotifySpec {
  to: string;
  on?: NotifyEventType[];
}

export interface NotifyProblem {
  field: string;
  received: unknown;
  problem: string;
  fix: string;
}

const ARN = /^arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):(\d{12}):(.+)$/;
const TO_FIX =
  'write an SNS topic ARN (arn:aws:sns:…), an EventBridge bus ARN (arn:aws:events:…:event-bus/<name>), an https:// webhook URL, or a Secrets Manager secret ARN holding the URL';
/** Hosts a plain-http webhook may name: the machine itself (a local receiver in tests and demos). */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The destination `to` names, or why it names none. */
export function destinationOf(to: unknown, field = 'to'): Destination | NotifyProblem {
  if (typeof to !== 'string' || to.trim() === '')
    return { field, received: to, problem: 'a destination is a string', fix: TO_FIX };
  const arn = ARN.exec(to);
  if (arn) {
    const [, service, , , resource] = arn as unknown as [string, string, string, string, string];
    if (service === 'sns' && /^[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(resource)) return { type: 'sns', topicArn: to };
    if (service === 'events' && /^event-bus\/[A-Za-z0-9._\-/]{1,256}$/.test(resource))
      return { type: 'eventbridge', busArn: to };
    if (service === 'secretsmanager' && resource.startsWith('secret:') && resource.length > 7)
      return { type: 'webhook-secret', secretArn: to };
    return {
      field,
      received: to,
      problem: `an ARN of ${service} ${resource.split(/[:/]/)[0]}, which Sluice cannot notify`,
      fix: TO_FIX,
    };
  }
  if (/^https?:\/\//.test(to)) {
    let url: URL;
    try {
      url = new URL(to);
    } catch {
      return { field, received: to, problem: 'not a URL', fix: TO_FIX };
    }
    if (url.protocol === 'https:' || LOOPBACK.has(url.hostname)) return { type: 'webhook', url: to };
    return {
      field,
      received: to,
      problem: 'a webhook must be https (plain http only to this machine, for a local receiver)',
      fix: 'use the https:// URL of the webhook',
    };
  }
  return { field, received: to, problem: 'neither an ARN nor an https URL', fix: TO_FIX };
}

export function isNotifyProblem(x: Destination | NotifyProblem | undefined): x is NotifyProblem {
  return x !== undefined && 'problem' in x;
}

/** What is wrong with a pipeline's `notify:` as written, or undefined if it reads. */
export function notifyProblem(notify: unknown, field = 'notify'): NotifyProblem | undefined {
  if (!Array.isArray(notify))
    return {
      field,
      received: notify,
      problem: 'notify is a list of destinations',
      fix: 'write notify: [{ to: <ARN or https URL>, on: [failed, late] }]',
    };
  for (const [i, entry] of notify.entries()) {
    const at = `${field}[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      return { field: at, received: entry, problem: 'a destination is a map with to (and on)', fix: TO_FIX };
    const e = entry as Record<string, unknown>;
    const extra = Object.keys(e).find((k) => k !== 'to' && k !== 'on');
    if (extra)
      return {
        field: `${at}.${extra}`,
        received: e[extra],
        problem: `unknown field "${extra}"`,
        fix: 'a destination has to and on',
      };
    const dest = destinationOf(e.to, `${at}.to`);
    if (isNotifyProblem(dest)) return dest;
    if (e.on !== undefined) {
      const on: unknown = e.on;
      const bad: unknown = Array.isArray(on)
        ? (on as unknown[]).find((x) => !(NOTIFY_EVENTS as readonly unknown[]).includes(x))
        : on;
      if (!Array.isArray(on) || on.length === 0 || bad !== undefined)
        return {
          field: `${at}.on`,
          received: Array.isArray(on) && bad !== undefined ? bad : on,
          problem: Array.isArray(on) && on.length > 0 ? `not an event Sluice sends` : 'on is a list of events',
          fix: `choose from ${NOTIFY_EVENTS.join(', ')}`,
        };
    }
  }
  return undefined;
}

/** A run's end (or lateness), as the notifier needs it. */
export interface RunTransition {
  /** `late` when the date's deadline passed unmet; otherwise the run's end. */
  to: 'succeeded' | 'failed' | 'cancelled' | 'late';
  /** The date was late before this end (its deadline passed while it ran or waited). */
  wasLate?: boolean;
  /** An earlier run of the same date failed (a re-run, or a retried schedule). */
  failedBefore?: boolean;
}

/** The events a transition sends: a success after a failure or lateness also says it recovered. */
export function eventsOf(t: RunTransition): NotifyEventType[] {
  if (t.to === 'succeeded') return t.wasLate || t.failedBefore ? ['succeeded', 'recovered'] : ['succeeded'];
  return [t.to];
}

/** Whether destination `spec` hears events of `type`. */
export function hears(spec: NotifySpec, type: NotifyEventType): boolean {
  return (spec.on ?? DEFAULT_NOTIFY_ON).includes(type);
}

export interface NotifyEvent {
  /** Stable per transition: the same date, run and event always give the same id. */
  id: string;
  type: NotifyEventType;
  pipeline: string;
  /** The logical date (absent for a backfill's end). */
  ds?: string;
  /** The run's (or backfill's) status when the event was made. */
  status: string;
  /** The stage that failed or held the date up, its AWS job id and how long it had run. */
  stage?: { id: string; jobId?: string; runningMs?: number; message?: string };
  /** How late the date was (a late date that succeeded says by how much). */
  lateByMs?: number;
  /** What the run has cost so far, as `sluice runs` shows it (USD, a lower bound). */
  costUsd?: number;
  /** The run (or backfill) in the Temporal UI. */
  url?: string;
  /** A backfill's end: how many dates ended how. */
  counts?: Record<string, number>;
  /** When the transition happened (ISO 8601). */
  at: string;
}

/** The event id of `type` for the run `workflowId`/`runId`: one id per transition, retried or not. */
export function eventId(type: NotifyEventType, workflowId: string, runId: string): string {
  return `sluice:${type}:${workflowId}:${runId}`;
}

const ICON: Record<NotifyEventType, string> = {
  failed: ':x:',
  late: ':hourglass:',
  succeeded: ':white_check_mark:',
  cancelled: ':no_entry_sign:',
  recovered: ':large_green_circle:',
  backfill: ':calendar:',
};

function duration(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** One line a person reads: what happened, to which date, held up by what. */
export function eventText(e: NotifyEvent): string {
  const what = e.ds ? `${e.pipeline} ${e.ds}` : `${e.pipeline} backfill`;
  const parts = [`${ICON[e.type]} ${what}: ${e.type === 'backfill' ? `ended ${e.status}` : e.type}`];
  if (e.stage) {
    const ran = e.stage.runningMs !== undefined ? `, running ${duration(e.stage.runningMs)}` : '';
    parts.push(`stage ${e.stage.id}${e.stage.jobId ? ` (job ${e.stage.jobId}${ran})` : ran}`);
    if (e.stage.message) parts.push(e.stage.message);
  }
  if (e.lateByMs !== undefined && e.type !== 'late') parts.push(`${duration(e.lateByMs)} late`);
  if (e.counts)
    parts.push(
      Object.entries(e.counts)
        .map(([k, n]) => `${n} ${k}`)
        .join(', '),
    );
  if (e.costUsd !== undefined) parts.push(`cost ≥ $${e.costUsd.toFixed(3)}`);
  return parts.join(' — ');
}

/**
 * A webhook's body: Slack's incoming-webhook shape (`text`, with the run's link in Slack's
 * `<url|label>` form), and the whole event under `sluice` for receivers that read fields.
 */
export function webhookBody(e: NotifyEvent): { text: string; sluice: NotifyEvent } {
  const text = eventText(e);
  return { text: e.url ? `${text} — <${e.url}|open in Temporal>` : text, sluice: e };
}
