/**
 * State-change events, as AWS emits them to EventBridge when a job ends ("Glue Job State Change",
 * "Athena Query State Change"...). The emulated runs' states are derived on read (lifecycle.ts), so
 * each run that can end gets a timer at its end (and at the end of a requested stop); when it
 * fires, the run's terminal view becomes one event, put to moto's EventBridge with PutEvents. The
 * local rule (ensureStageEventRoute) forwards it to the SQS queue Sluice's workers consume, as the
 * CDK stack's rule does in AWS.
 *
 * A scenario can drop a run's event (`events: "drop"`) or delay it (`eventDelayMs`): what AWS's
 * best-effort delivery and a slow consumer look like. GET /_sluice/events lists what was emitted.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { STAGE_EVENT_PATTERN } from '../../../common/stage-events.js';
import type { JsonObject, Moto } from './aws.js';
import { describeRun, type LifecycleSpec, type Run, type RunView } from './lifecycle.js';

/** The local route: a rule on the default bus → this queue (dead-letter queue beside it). */
export const STAGE_EVENTS_QUEUE = 'sluice-stage-events';
export const STAGE_EVENTS_DLQ = 'sluice-stage-events-dlq';
export const STAGE_EVENTS_RULE = 'sluice-stage-events';

export interface StageEvent {
  source: string;
  detailType: string;
  detail: JsonObject;
  resources?: string[];
}

export interface EmittedEvent extends StageEvent {
  /** epoch ms the run reached the state (the job's end) */
  endedAt: number;
  /** epoch ms the event was put (or would have been, when dropped) */
  emittedAt: number;
  dropped: boolean;
  /** The EventBridge event id, when put. */
  eventId?: string;
  error?: string;
}

interface Watched {
  run: Run;
  spec: LifecycleSpec;
  headers: IncomingHttpHeaders;
  build: (view: RunView) => StageEvent | undefined;
  emitted: boolean;
  timer?: NodeJS.Timeout;
}

const MAX_LOG = 10_000;
let moto: Moto | undefined;
let log: EmittedEvent[] = [];
const watched = new Map<Run, Watched>();

export function initEvents(client: Moto): void {
  moto = client;
}

/** moto routes a request by the service and region of its SigV4 credential scope (the signature is not checked). */
function scopedHeaders(service: string, region = process.env.AWS_REGION ?? 'us-east-1'): IncomingHttpHeaders {
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
  };
}

/** The region of a request's credential scope. */
export function regionOf(headers: IncomingHttpHeaders): string | undefined {
  return /Credential=[^/]+\/\d+\/([^/]+)\//.exec(headers.authorization ?? '')?.[1];
}

/** When the run ends on its own, or its stop completes: the instant its view turns terminal. */
function endOf(w: Watched): number | undefined {
  const { run, spec } = w;
  const natural = run.scenario.outcome === 'HANG' ? Infinity : run.startedAt + run.scenario.durationMs;
  if (run.stopRequestedAt !== undefined && run.stopRequestedAt < natural)
    return run.stopRequestedAt + (spec.stopping?.ms ?? 0);
  return Number.isFinite(natural) ? natural : undefined;
}

function arm(w: Watched): void {
  if (w.emitted) return;
  if (w.timer) clearTimeout(w.timer);
  const end = endOf(w);
  if (end === undefined) return; // runs until stopped: armed again by the stop
  const delay = Math.max(0, end - Date.now()) + (w.run.scenario.eventDelayMs ?? 0);
  w.timer = setTimeout(() => void fire(w), delay);
  w.timer.unref();
}

async function fire(w: Watched): Promise<void> {
  const now = Date.now();
  const view = describeRun(w.spec, w.run, now);
  if (!view.terminal) return arm(w); // a stop moved the end: armed for the new one
  if (w.emitted) return;
  w.emitted = true;
  watched.delete(w.run);
  const event = w.build(view);
  if (!event) return;
  const entry: EmittedEvent = {
    ...event,
    endedAt: view.endedAt ?? now,
    emittedAt: now,
    dropped: w.run.scenario.events === 'drop',
  };
  log.push(entry);
  if (log.length > MAX_LOG) log = log.slice(log.length - MAX_LOG / 2);
  if (entry.dropped || !moto) return;
  try {
    const { status, body } = await moto.json(
      'AWSEvents.PutEvents',
      {
        Entries: [
          {
            Source: event.source,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
            Resources: event.resources ?? [],
            Time: Math.floor(now / 1000),
          },
        ],
      },
      scopedHeaders('events', regionOf(w.headers)),
    );
    const first = (body as { Entries?: { EventId?: string; ErrorMessage?: string }[] } | undefined)?.Entries?.[0];
    if (status !== 200 || !first?.EventId) entry.error = first?.ErrorMessage ?? `PutEvents answered HTTP ${status}`;
    else entry.eventId = first.EventId;
  } catch (err) {
    entry.error = String(err);
  }
}

/**
 * Emits `build(view)` when `run` reaches a terminal state. Call when the run starts; call
 * {@link runStopRequested} after a stop request moves its end.
 */
export function emitOnEnd(
  spec: LifecycleSpec,
  run: Run,
  headers: IncomingHttpHeaders,
  build: (view: RunView) => StageEvent | undefined,
): void {
  const w: Watched = { run, spec, headers: { authorization: headers.authorization }, build, emitted: false };
  watched.set(run, w);
  arm(w);
}

export function runStopRequested(run: Run): void {
  const w = watched.get(run);
  if (w) arm(w);
}

export function listEvents(filter: { source?: string; contains?: string } = {}): EmittedEvent[] {
  return log.filter(
    (e) =>
      (filter.source === undefined || e.source === filter.source) &&
      (filter.contains === undefined || JSON.stringify(e.detail).includes(filter.contains)),
  );
}

export function resetEvents(): void {
  for (const w of watched.values()) if (w.timer) clearTimeout(w.timer);
  watched.clear();
  log = [];
}

/** ISO-8601 without milliseconds, as the events' own timestamps are. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Creates (idempotently) the local route of stage events: the dead-letter queue, the queue with
 * its redrive policy, the rule with Sluice's event pattern and its queue target. Returns the URL.
 */
export async function ensureStageEventRoute(client: Moto): Promise<string> {
  const sqs = async (op: string, input: JsonObject): Promise<JsonObject> => {
    const { status, body } = await client.json(
      `AmazonSQS.${op}`,
      input,
      scopedHeaders('sqs'),
      'application/x-amz-json-1.0',
    );
    if (status !== 200) throw new Error(`SQS ${op} answered HTTP ${status}: ${JSON.stringify(body)}`);
    return body as JsonObject;
  };
  const arnOf = async (url: string): Promise<string> => {
    const out = await sqs('GetQueueAttributes', { QueueUrl: url, AttributeNames: ['QueueArn'] });
    return String((out.Attributes as JsonObject).QueueArn);
  };
  const dlqUrl = String((await sqs('CreateQueue', { QueueName: STAGE_EVENTS_DLQ })).QueueUrl);
  const dlqArn = await arnOf(dlqUrl);
  const queueUrl = String(
    (
      await sqs('CreateQueue', {
        QueueName: STAGE_EVENTS_QUEUE,
        Attributes: {
          VisibilityTimeout: '30',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }),
        },
      })
    ).QueueUrl,
  );
  const queueArn = await arnOf(queueUrl);
  const events = async (op: string, input: JsonObject): Promise<void> => {
    const { status, body } = await client.json(`AWSEvents.${op}`, input, scopedHeaders('events'));
    if (status !== 200) throw new Error(`EventBridge ${op} answered HTTP ${status}: ${JSON.stringify(body)}`);
  };
  await events('PutRule', { Name: STAGE_EVENTS_RULE, EventPattern: JSON.stringify(STAGE_EVENT_PATTERN) });
  await events('PutTargets', { Rule: STAGE_EVENTS_RULE, Targets: [{ Id: 'stage-events-queue', Arn: queueArn }] });
  return queueUrl;
}
