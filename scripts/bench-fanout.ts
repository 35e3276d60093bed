/**
 * npm run bench:fanout [-- --items 10000 --concurrency 200]
 *
 * One forEach fan-out of N items against the local stack (real Temporal dev server, an in-process
 * Sluice worker, the AWS SDK over HTTP to the local gateway in front of moto): a single `s3.copy`
 * stage run once per key under a prefix of N zero-length objects, `forEach.concurrency` C. Then the
 * same AWS calls made by a plain loop with at most C in flight, no Temporal. Prints items per
 * second and wall time of both, their ratio (orchestration overhead), and — over every execution of
 * the run (runPipeline, its fanOutStage child, every fanOutChunk) — the largest history in events
 * and the largest single payload in bytes, each against Temporal's limits (10,240 events, 256 KB).
 */
import { parseArgs } from 'node:util';
import {
  CopyObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createAwsClients } from '../activities/aws-clients';
import { startRun } from '../client/runs';
import { temporalSettings } from '../common/env';
import { definePipeline } from '../common/pipeline';
import type { RunStatus } from '../common/run-types';
import { createBucket, uniqueName } from '../test/support/aws';
import { applyLocalEnv } from '../test/support/env';
import { createSluiceWorker } from '../workers/worker';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '200' },
  },
});
for (const flag of ['items', 'concurrency'] as const) {
  const v = Number(values[flag]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`--${flag} must be a whole number >= 1 (received "${values[flag]}")`);
}
const N = Number(values.items);
const C = Number(values.concurrency);
const DS = '2024-06-30';
const SOURCE = 'src/';
const MAX_EVENTS = 10_240;
const MAX_PAYLOAD = 256 * 1024;

/** A window of at most `size` promises in flight: `run` waits for a free slot, then starts `fn`. */
function limiter(size: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;
  return {
    async run(fn: () => Promise<void>): Promise<void> {
      if (failure) throw failure;
      while (active >= size) await new Promise<void>((r) => waiting.push(r));
      active++;
      const p = fn()
        .catch((err: unknown) => {
          failure ??= err instanceof Error ? err : new Error(String(err));
        })
        .finally(() => {
          active--;
          inFlight.delete(p);
          waiting.shift()?.();
        });
      inFlight.add(p);
    },
    async drain(): Promise<void> {
      while (inFlight.size) await Promise.all(inFlight);
      if (failure) throw failure;
    },
  };
}

async function* keysUnder(s3: S3Client, Bucket: string, Prefix: string): AsyncGenerator<string[]> {
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket, Prefix, ContinuationToken }));
    yield (page.Contents ?? []).map((o) => o.Key ?? '').filter((k) => k !== '');
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
}

async function countUnder(s3: S3Client, Bucket: string, Prefix: string): Promise<number> {
  let n = 0;
  for await (const keys of keysUnder(s3, Bucket, Prefix)) n += keys.length;
  return n;
}

/**
 * The AWS calls of the fan-out without orchestration: the listing page by page, and for each key
 * what one s3.copy item does (CopyObject, then HeadObject for the copy's size), ≤ C in flight.
 */
async function plainLoop(s3: S3Client, bucket: string, dest: string): Promise<number> {
  const t0 = Date.now();
  const window = limiter(C);
  for await (const keys of keysUnder(s3, bucket, SOURCE))
    for (const key of keys)
      await window.run(async () => {
        const Key = `${dest}${key}`;
        await s3.send(new CopyObjectCommand({ Bucket: bucket, Key, CopySource: `${bucket}/${key}` }));
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key }));
      });
  await window.drain();
  return Date.now() - t0;
}

interface Payloadish {
  metadata?: Record<string, Uint8Array | null | undefined> | null;
  data?: Uint8Array | null;
}

function isPayload(v: unknown): v is Payloadish {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as Payloadish).data instanceof Uint8Array &&
    typeof (v as Payloadish).metadata === 'object'
  );
}

/** A payload's size: its data plus its metadata (keys and values). */
function payloadBytes(p: Payloadish): number {
  let n = p.data?.length ?? 0;
  for (const [k, v] of Object.entries(p.metadata ?? {})) n += k.length + (v?.length ?? 0);
  return n;
}

/** Every payload anywhere in a value (inputs, results, failure details...), with where it was. */
function* payloadsIn(v: unknown, where: string, depth = 0): Generator<{ where: string; bytes: number }> {
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array || depth > 20) return;
  if (isPayload(v)) {
    yield { where, bytes: payloadBytes(v) };
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) yield* payloadsIn(x, where, depth + 1);
    return;
  }
  for (const [k, x] of Object.entries(v)) yield* payloadsIn(x, k === 'payloads' ? where : `${where}.${k}`, depth + 1);
}

interface Execution {
  label: string;
  events: number;
  /** Workflow tasks that timed out or failed (a slow or overloaded worker), from the history. */
  taskTimeouts: number;
  /** The causes of the workflow tasks that failed (e.g. FORCE_CLOSE_COMMAND), one per failure. */
  taskFailures: string[];
  largest: { where: string; bytes: number };
  /** Each item (runStage activity): when it was scheduled, started and completed (ms). */
  items: { scheduled: number; started: number; closed: number }[];
}

type EventTime = { eventTime?: { seconds?: unknown; nanos?: number | null } | null };
const timeOf = (e: EventTime): number =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Time-averaged number of intervals open at once over [from, to). */
function averageOpen(spans: { from: number; to: number }[], from: number, to: number): number {
  if (to <= from) return NaN;
  let covered = 0;
  for (const r of spans) covered += Math.max(0, Math.min(r.to, to) - Math.max(r.from, from));
  return covered / (to - from);
}

/** Every execution of the run (the run, its fanOutStage child and its fanOutChunk children), measured. */
async function measureHistories(client: Client, workflowId: string, expected: number): Promise<Execution[]> {
  const query = `WorkflowId STARTS_WITH "${workflowId}" AND ExecutionStatus != "Running"`;
  for (let i = 0; (await client.workflow.count(query)).count < expected; i++) {
    if (i > 120) throw new Error(`visibility lists fewer than the ${expected} executions expected for ${workflowId}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const out: Execution[] = [];
  for await (const wf of client.workflow.list({ query })) {
    const events = (await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory()).events ?? [];
    const activityOf = new Map<string, string>();
    let largest = { where: '-', bytes: 0 };
    const items = new Map<string, { scheduled: number; started: number; closed: number }>();
    for (const e of events) {
      const id = String(e.eventId);
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (scheduled) activityOf.set(id, scheduled.activityType?.name ?? '?');
      if (scheduled?.activityType?.name === 'runStage')
        items.set(id, { scheduled: timeOf(e), started: NaN, closed: NaN });
      const started = e.activityTaskStartedEventAttributes;
      const item = items.get(String(started?.scheduledEventId ?? ''));
      if (item) item.started = timeOf(e);
      const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
      const done = items.get(String(closed?.scheduledEventId ?? ''));
      if (done) done.closed = timeOf(e);
      for (const [k, attrs] of Object.entries(e)) {
        if (!k.endsWith('EventAttributes') || !attrs) continue;
        const ref = (attrs as { scheduledEventId?: { toString(): string } | null }).scheduledEventId;
        const activity = activityOf.get(scheduled ? id : (ref?.toString() ?? ''));
        const what = `${k.replace(/EventAttributes$/, '')}${activity ? `(${activity})` : ''} #${id}`;
        for (const p of payloadsIn(attrs, what)) if (p.bytes > largest.bytes) largest = p;
      }
    }
    const rest = wf.workflowId.slice(workflowId.length);
    out.push({
      label: `${wf.type}${rest ? ` …${rest}` : ''}`,
      events: events.length,
      taskTimeouts: events.filter((e) => e.workflowTaskTimedOutEventAttributes).length,
      taskFailures: events.flatMap((e) => {
        const cause = e.workflowTaskFailedEventAttributes?.cause;
        if (cause === undefined) return [];
        const name = temporal.api.enums.v1.WorkflowTaskFailedCause[cause ?? 0] ?? String(cause);
        return [name.replace(/^WORKFLOW_TASK_FAILED_CAUSE_/, '')];
      }),
      largest,
      items: [...items.values()].filter((i) => Number.isFinite(i.started) && Number.isFinite(i.closed)),
    });
  }
  return out;
}

async function main(): Promise<void> {
  applyLocalEnv();
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const settings = { ...temporalSettings(), taskQueue: uniqueName('bench-fanout') };
  const nc = await NativeConnection.connect({ address: settings.address });
  const worker = await createSluiceWorker({
    settings,
    connection: nc,
    // Every item an activity, plus the chunks' listings.
    maxConcurrentActivityTaskExecutions: C + 50,
    maxConcurrentWorkflowTaskExecutions: 100,
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: settings.address });
  const client = new Client({ connection, namespace: settings.namespace });
  const aws = createAwsClients();
  const s3 = aws.s3;
  try {
    console.log(
      `bench:fanout — ${N} items × 1 s3.copy stage (forEach.s3, concurrency ${C}), zero-length objects, local stack`,
    );
    // Setup, not timed: N zero-length objects under the source prefix.
    const bucket = await createBucket(uniqueName('bench-fanout'));
    const width = String(N - 1).length;
    const put = limiter(100);
    for (let i = 0; i < N; i++) {
      const Key = `${SOURCE}item-${String(i).padStart(width, '0')}`;
      await put.run(async () => {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: new Uint8Array(0), ContentLength: 0 }));
      });
    }
    await put.drain();
    const listed = await countUnder(s3, bucket, SOURCE);
    if (listed !== N) throw new Error(`setup: ${listed} objects under s3://${bucket}/${SOURCE}, expected ${N}`);

    const pipeline = definePipeline({
      name: uniqueName('bench-fanout'),
      defaults: { poll: { initial: '200ms', max: '1s' }, timeout: { heartbeat: '30s' } },
      stages: [
        {
          id: 'copy',
          kind: 's3.copy',
          forEach: { s3: { Bucket: bucket, Prefix: SOURCE }, concurrency: C },
          params: { Bucket: bucket, CopySource: `${bucket}/{{ item }}`, Key: 'copied/{{ item }}' },
        },
      ],
    });

    const t0 = Date.now();
    const started = await startRun(client, settings, pipeline, DS);
    console.log(`  run ${started.workflowId} on task queue ${settings.taskQueue}`);
    let status: RunStatus;
    try {
      status = await started.handle.result();
    } catch (err) {
      if (err instanceof WorkflowFailedError)
        throw new Error(`the run ${started.workflowId} failed: ${err.cause?.message ?? err.message}`, { cause: err });
      throw err;
    }
    const sluiceMs = Date.now() - t0;
    const stage = status.stages[0];
    const output = stage?.result?.output as { items?: number; succeeded?: number; failed?: number } | undefined;
    if (status.status !== 'succeeded' || output?.succeeded !== N)
      throw new Error(`the run ended ${status.status}: ${JSON.stringify(stage?.result ?? stage?.error)}`);
    const copied = await countUnder(s3, bucket, `copied/${SOURCE}`);
    if (copied !== N) throw new Error(`${copied} objects under s3://${bucket}/copied/${SOURCE}, expected ${N}`);

    const plainMs = await plainLoop(s3, bucket, 'plain/');
    const plainCopied = await countUnder(s3, bucket, `plain/${SOURCE}`);
    if (plainCopied !== N) throw new Error(`plain loop: ${plainCopied} objects under plain/${SOURCE}, expected ${N}`);

    const chunks = Math.ceil(N / 500);
    const executions = await measureHistories(client, started.workflowId, 2 + chunks);
    const mostEvents = executions.reduce((a, b) => (b.events > a.events ? b : a));
    const biggest = executions.reduce((a, b) => (b.largest.bytes > a.largest.bytes ? b : a));
    const chunkEvents = executions.filter((e) => e.label.startsWith('fanOutChunk')).map((e) => e.events);

    const items = executions.flatMap((e) => e.items);
    const waits = items.map((i) => i.started - i.scheduled).sort((a, b) => a - b);
    const runs = items.map((i) => i.closed - i.started).sort((a, b) => a - b);
    const [firstItem, lastItem] = [Math.min(...items.map((i) => i.scheduled)), Math.max(...items.map((i) => i.closed))];
    const inFlight = averageOpen(
      items.map((i) => ({ from: i.scheduled, to: i.closed })),
      firstItem,
      lastItem,
    );
    const runningAtOnce = averageOpen(
      items.map((i) => ({ from: i.started, to: i.closed })),
      firstItem,
      lastItem,
    );
    const troubled = executions.filter((e) => e.taskTimeouts || e.taskFailures.length);
    const causes = new Map<string, number>();
    for (const c of troubled.flatMap((e) => e.taskFailures)) causes.set(c, (causes.get(c) ?? 0) + 1);
    const rate = (ms: number) => (N / (ms / 1000)).toFixed(1);
    const rows: [string, string][] = [
      ['items', String(N)],
      ['concurrency', String(C)],
      ['Sluice items/s', rate(sluiceMs)],
      ['Sluice wall time', `${(sluiceMs / 1000).toFixed(1)} s`],
      ['plain loop items/s', rate(plainMs)],
      ['plain loop wall time', `${(plainMs / 1000).toFixed(1)} s`],
      ['overhead (Sluice / plain wall time)', `${(sluiceMs / plainMs).toFixed(2)} ×`],
      ['before the first item (start, listing, chunks)', `${((firstItem - t0) / 1000).toFixed(1)} s`],
      ['items scheduled at once (time-averaged)', `${inFlight.toFixed(1)} of ${C}`],
      ['items running at once (time-averaged)', `${runningAtOnce.toFixed(1)} of ${C}`],
      ['item queue wait p50 / p99 (scheduled → started)', `${percentile(waits, 50)} / ${percentile(waits, 99)} ms`],
      ['item run time p50 / p99 (started → completed)', `${percentile(runs, 50)} / ${percentile(runs, 99)} ms`],
      ['executions (run + fanOutStage + chunks)', String(executions.length)],
      [
        'events per chunk (min / max)',
        chunkEvents.length ? `${Math.min(...chunkEvents)} / ${Math.max(...chunkEvents)}` : '-',
      ],
      [
        'workflow task timeouts / failures',
        `${troubled.reduce((n, e) => n + e.taskTimeouts, 0)} / ${troubled.reduce((n, e) => n + e.taskFailures.length, 0)}` +
          (causes.size ? ` (${[...causes].map(([c, n]) => `${c} ×${n}`).join(', ')})` : '') +
          (troubled.length ? ` in ${troubled.length} of ${executions.length} executions` : ''),
      ],
      [
        'largest history',
        `${mostEvents.events} events in ${mostEvents.label} — ${mostEvents.events < MAX_EVENTS ? 'under' : 'NOT under'} ${MAX_EVENTS}`,
      ],
      [
        'largest payload',
        `${biggest.largest.bytes} B in ${biggest.label}, ${biggest.largest.where} — ${biggest.largest.bytes < MAX_PAYLOAD ? 'under' : 'NOT under'} 256 KB`,
      ],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
  } finally {
    aws.destroy();
    worker.shutdown();
    await running;
    await nc.close();
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
