/**
 * Push completion: the AWS state-change events (EventBridge) that end a waiting stage, and how
 * one is matched to the job Sluice waits on.
 *
 * Every job Sluice waits on has a watch key (`<kind>/<ids>`, built by the kind's handler from its
 * job id) and, while a stage waits, a small `watchJob` workflow whose ID is derived from that key.
 * The event consumer (plugin/stage-events.ts) maps each event to the same key and signals that
 * workflow: any worker's consumer can wake any worker's stage, and an event for a job Sluice did
 * not start (no such workflow), a duplicate or a late one (the watch already closed) is dropped.
 *
 * Pure and free of Node built-ins: the watch workflow imports the names.
 */
import { isNone, KINDS, terminalStates, type KindDescriptor } from '../kinds';

export const WATCH_WORKFLOW_TYPE = 'watchJob';
/** The consumer's signal: a watched job reached a terminal state. */
export const JOB_EVENT_SIGNAL = 'sluiceJobEvent';
/** The stage's signal: it no longer waits (it ended, or noticed the end by polling). */
export const RELEASE_WATCH_SIGNAL = 'sluiceReleaseWatch';

/** What the consumer tells the watch workflow (no payload of the job's own: ids and state only). */
export interface JobEventNotice {
  key: string;
  /** The state the event reports, in the service's own words (SUCCEEDED, FINISHED, Succeeded...). */
  state: string;
  /** The EventBridge event id and time, for the watch workflow's history. */
  eventId?: string;
  time?: string;
}

export interface WatchJobInput {
  key: string;
  /** For the Temporal UI: which stage waits. */
  stage?: string;
}

/** A job's watch key: its kind and the ids that name it (the handler's and the event's side alike). */
export function watchKey(kind: string, ...ids: string[]): string {
  return [kind, ...ids].join('/');
}

/** The watch workflow's ID for a key. */
export function watchWorkflowId(key: string): string {
  return `sluice-watch/${key}`;
}

type Detail = Record<string, unknown>;
interface EventType {
  /** The stage kind whose jobs the event is about. */
  kind: string;
  /** The detail fields that name the job, in the order of its watch key. */
  ids: readonly string[];
  /** The event's state field. */
  state: string;
  /** States that end the job; other events of the type (RUNNING, Started...) are not signalled. */
  terminal: readonly string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * `source` → `detail-type` → how to read it, from the kinds' descriptors (their `events`): the
 * terminal states are those whose outcome in the event's (or else the kind's) state table is not
 * `running`, so the handler's mapping and the events read one table.
 */
const EVENT_TYPES: Record<string, Record<string, EventType>> = {};
for (const d of Object.values(KINDS) as KindDescriptor[]) {
  if (isNone(d.events)) continue;
  for (const e of d.events) {
    const table = e.states ?? (isNone(d.states) ? {} : d.states);
    (EVENT_TYPES[e.source] ??= {})[e.detailType] = {
      kind: d.kind,
      ids: e.ids,
      state: e.stateField,
      terminal: terminalStates(table),
    };
  }
}

/** The watch key of the job an event is about, or undefined when the event lacks its ids. */
function eventKey(type: EventType, detail: Detail): string | undefined {
  const ids = type.ids.map((f) => str(detail[f]));
  return ids.every((id) => id !== undefined) ? watchKey(type.kind, ...ids) : undefined;
}

/** The sources and detail types Sluice reads, for an EventBridge rule on all of them (the local route). */
export const STAGE_EVENT_PATTERN = {
  source: Object.keys(EVENT_TYPES),
  'detail-type': Object.values(EVENT_TYPES).flatMap((types) => Object.keys(types)),
};

export interface StageEventRule {
  kind: string;
  source: string;
  detailType: string;
  /** The detail field holding the state, and the states that end a job: a rule can match only those. */
  stateField: string;
  terminal: readonly string[];
}

/** One rule per event type the given kinds wait on (the CDK stack makes exactly these). */
export function stageEventRules(kinds: Iterable<string>): StageEventRule[] {
  const wanted = new Set(kinds);
  const rules: StageEventRule[] = [];
  for (const [source, types] of Object.entries(EVENT_TYPES))
    for (const [detailType, t] of Object.entries(types))
      if (wanted.has(t.kind))
        rules.push({ kind: t.kind, source, detailType, stateField: t.state, terminal: t.terminal });
  return rules;
}

export type ParsedStageEvent =
  | { kind: 'terminal'; notice: JobEventNotice }
  /** An event of a known type that does not end the job (RUNNING, Started...). */
  | { kind: 'progress'; key: string; state: string }
  /** Not an event Sluice reads: another source or type, or one missing its ids. */
  | { kind: 'other'; reason: string };

/** Reads one EventBridge event (the SQS message body the rule delivers). */
export function parseStageEvent(body: unknown): ParsedStageEvent {
  if (typeof body !== 'object' || body === null) return { kind: 'other', reason: 'not a JSON object' };
  const event = body as Record<string, unknown>;
  const source = str(event.source);
  const detailType = str(event['detail-type']);
  const type = source && detailType ? EVENT_TYPES[source]?.[detailType] : undefined;
  if (!type) return { kind: 'other', reason: `not a stage event (${source ?? '?'} / ${detailType ?? '?'})` };
  const detail = typeof event.detail === 'object' && event.detail !== null ? (event.detail as Detail) : {};
  const key = eventKey(type, detail);
  const state = str(detail[type.state]);
  if (!key || !state) return { kind: 'other', reason: `${detailType} without its job ids or state` };
  if (!type.terminal.includes(state)) return { kind: 'progress', key, state };
  const notice: JobEventNotice = { key, state };
  const id = str(event.id);
  const time = str(event.time);
  if (id) notice.eventId = id;
  if (time) notice.time = time;
  return { kind: 'terminal', notice };
}
