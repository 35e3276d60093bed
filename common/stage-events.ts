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
  /** The watch key of the job the event is about, or undefined when the event lacks the ids. */
  key(detail: Detail): string | undefined;
  /** The event's state field. */
  state: string;
  /** States that end the job; other events of the type (RUNNING, Started...) are not signalled. */
  terminal: readonly string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
/** The key from the event's ids, when it has them all. */
const joined = (kind: string, ...ids: unknown[]): string | undefined =>
  ids.every((p) => str(p) !== undefined) ? watchKey(kind, ...(ids as string[])) : undefined;

/** `source` → `detail-type` → how to read it. Shapes from the EventBridge event reference. */
const EVENT_TYPES: Record<string, Record<string, EventType>> = {
  'aws.glue': {
    'Glue Job State Change': {
      kind: 'glue.job',
      key: (d) => joined('glue.job', d.jobRunId),
      state: 'state',
      terminal: ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'STOPPED', 'ERROR'],
    },
    'Glue Crawler State Change': {
      kind: 'glue.crawler',
      key: (d) => joined('glue.crawler', d.crawlerName),
      state: 'state',
      terminal: ['Succeeded', 'Failed', 'Cancelled', 'SUCCEEDED', 'FAILED', 'CANCELLED'],
    },
  },
  'aws.athena': {
    'Athena Query State Change': {
      kind: 'athena.query',
      key: (d) => joined('athena.query', d.queryExecutionId),
      state: 'currentState',
      terminal: ['SUCCEEDED', 'FAILED', 'CANCELLED'],
    },
  },
  'aws.emr': {
    'EMR Step Status Change': {
      kind: 'emr.step',
      key: (d) => joined('emr.step', d.clusterId, d.stepId),
      state: 'state',
      terminal: ['COMPLETED', 'CANCELLED', 'FAILED', 'INTERRUPTED'],
    },
  },
  'aws.emr-serverless': {
    'EMR Serverless Job Run State Change': {
      kind: 'emr-serverless.job',
      key: (d) => joined('emr-serverless.job', d.applicationId, d.jobRunId),
      state: 'state',
      terminal: ['SUCCESS', 'FAILED', 'CANCELLED'],
    },
  },
  'aws.states': {
    'Step Functions Execution Status Change': {
      kind: 'sfn.execution',
      key: (d) => joined('sfn.execution', d.executionArn),
      state: 'status',
      terminal: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
    },
  },
  'aws.redshift-data': {
    'Redshift Data Statement Status Change': {
      kind: 'redshift.sql',
      key: (d) => joined('redshift.sql', d.statementId),
      state: 'state',
      terminal: ['FINISHED', 'FAILED', 'ABORTED'],
    },
  },
};

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
  const key = type.key(detail);
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
