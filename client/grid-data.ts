/**
 * The data behind `sluice grid` and `sluice ui` (issue #22): every date × every stage of a
 * pipeline, read from Temporal only.
 *
 * - Closed runs: visibility pages (ListWorkflowExecutions, 1,000 runs a call) carry each run's
 *   status search attribute and its memo, where `runPipeline` leaves the grid's record of its
 *   stages when it closes (common/grid-memo.ts). No call per run, no worker.
 * - Running runs: the status query, only when a worker polls the run's task queue (one
 *   DescribeTaskQueue call says so); a query with no worker would wait for one.
 * - Runs closed before the record existed: a cancelled run's memo (MEMO_KEYS.run), else the run's
 *   result or failure (one history read each).
 *
 * Memos go through the client's data converter, so encrypted payloads are decoded with the same
 * keys as every other command (SLUICE_PAYLOAD_KEYS); a memo this client cannot decode leaves its
 * run's stages unknown with the reason, while its state (a search attribute, never encrypted) shows.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { decodeMapFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { runsQuery } from '../activities/runs';
import { MEMO_KEYS, RUN_STATUS, SEARCH_ATTRIBUTE_NAMES } from '../common/constants';
import { dateRange } from '../common/dates';
import { runUiUrl, type RunTarget } from '../common/env';
import { asGridRecord, gridRecord, type GridRecord } from '../common/grid-memo';
import { statusQuery } from '../common/messages';
import { runWorkflowId } from '../common/naming';
import { stageCost, type PriceTable } from '../common/prices';
import type { RunStatus } from '../common/run-types';
import { loadPrices } from './costs';

/** A cell's state: what the grid shows in one date × stage. */
export type CellState =
  'succeeded' | 'failed' | 'running' | 'waiting' | 'late' | 'skipped' | 'cancelled' | 'pending' | 'never' | 'unknown';

export interface GridCell {
  state: CellState;
  kind?: string;
  startedAt?: string;
  endedAt?: string;
  durationSeconds?: number;
  jobId?: string;
  message?: string;
  /** A forEach stage or sub-runs: "48/50". */
  items?: { succeeded: number; total: number };
  /** What the stage cost (its job's figures at the price table's rates), when known. */
  usd?: number;
  waitingFor?: string;
}

export interface GridRun {
  ds: string;
  workflowId: string;
  runId: string;
  /** As `sluice runs` shows it: Running, Succeeded, Failed, Cancelled, or the execution's (TERMINATED, …). */
  status: string;
  startedAt: string;
  closedAt?: string;
  url?: string;
  /** Executions of this date's workflow ID in the listing (reruns): the grid shows the latest. */
  executions: number;
  /** Where the stages came from: the grid memo, the status query, the result, or nowhere. */
  source: 'memo' | 'query' | 'result' | 'none';
  /** Why the stages are unknown, when they are. */
  note?: string;
  cells: Record<string, GridCell>;
}

/** Temporal calls one grid cost (the bench prints them). */
export interface GridCalls {
  list: number;
  describeTaskQueue: number;
  query: number;
  result: number;
}

export interface GridData {
  pipeline: string;
  from: string;
  to: string;
  /** Stage ids in pipeline order (the union over the runs, first seen first). */
  stages: string[];
  kinds: Record<string, string>;
  /** Every date of the range, oldest first; dates with no run are absent from `runs`. */
  dates: string[];
  runs: Record<string, GridRun>;
  calls: GridCalls;
  /** Whether a worker polls the runs' task queue (running runs' stages are queried only then). */
  workerUp: boolean;
  loadMs: number;
}

export interface GridQuery {
  pipeline: string;
  from?: string;
  to?: string;
  prices?: PriceTable;
  /** Runs queried at once (running runs only). */
  queryConcurrency?: number;
}

const LIST_PAGE = 1000;
const STATUS_BY_EXECUTION: Record<string, string> = {
  COMPLETED: RUN_STATUS.succeeded,
  FAILED: RUN_STATUS.failed,
  CANCELLED: RUN_STATUS.cancelled,
  RUNNING: RUN_STATUS.running,
};
const EXECUTION_STATUS = temporal.api.enums.v1.WorkflowExecutionStatus;

function seconds(from?: string, to?: string): number | undefined {
  if (!from || !to) return undefined;
  return Math.round((Date.parse(to) - Date.parse(from)) / 100) / 10;
}

/** A run's cells from its grid record, priced with `prices`. */
export function cellsOf(record: GridRecord, prices: PriceTable): Record<string, GridCell> {
  const cells: Record<string, GridCell> = {};
  for (const s of record.stages) {
    const state: CellState = s.waitingFor ? 'waiting' : s.state;
    const cost = s.state === 'succeeded' ? stageCost(s.usage, prices, s.temporalActions) : undefined;
    const d = seconds(s.startedAt, s.endedAt);
    cells[s.id] = {
      state,
      kind: s.kind,
      ...(s.startedAt ? { startedAt: s.startedAt } : {}),
      ...(s.endedAt ? { endedAt: s.endedAt } : {}),
      ...(d !== undefined ? { durationSeconds: d } : {}),
      ...(s.jobId ? { jobId: s.jobId } : {}),
      ...(s.message ? { message: s.message } : {}),
      ...(s.items ? { items: s.items } : {}),
      ...(cost?.usd !== undefined ? { usd: cost.usd } : {}),
      ...(s.waitingFor ? { waitingFor: s.waitingFor } : {}),
    };
  }
  return cells;
}

/** Runs `fn` over `items`, `n` at a time. */
async function eachAtMost<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  });
  await Promise.all(lanes);
}

interface Listed {
  ds: string;
  info: temporal.api.workflow.v1.IWorkflowExecutionInfo;
  executions: number;
}

/** The latest execution of each date's run in the range, by visibility pages. */
async function listLatest(client: Client, q: GridQuery, calls: GridCalls): Promise<Map<string, Listed>> {
  const latest = new Map<string, Listed>();
  const query = runsQuery(q.pipeline, q.from, q.to);
  let nextPageToken: Uint8Array | undefined;
  do {
    calls.list++;
    const page = await client.workflowService.listWorkflowExecutions({
      namespace: client.options.namespace,
      query,
      pageSize: LIST_PAGE,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    for (const info of page.executions) {
      const workflowId = info.execution?.workflowId ?? '';
      const ds = workflowId.slice(q.pipeline.length + 1);
      // A sub-run of another pipeline carries this pipeline's name too: only `<pipeline>/<date>` counts.
      if (workflowId !== runWorkflowId(q.pipeline, ds)) continue;
      const prev = latest.get(ds);
      const start = Number(info.startTime?.seconds ?? 0) * 1000 + (info.startTime?.nanos ?? 0) / 1e6;
      const prevStart = prev
        ? Number(prev.info.startTime?.seconds ?? 0) * 1000 + (prev.info.startTime?.nanos ?? 0) / 1e6
        : -1;
      latest.set(ds, {
        ds,
        info: start > prevStart ? info : (prev?.info ?? info),
        executions: (prev?.executions ?? 0) + 1,
      });
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return latest;
}

function isoOf(ts: temporal.api.workflow.v1.IWorkflowExecutionInfo['startTime']): string | undefined {
  if (!ts) return undefined;
  return new Date(Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

function statusName(code: temporal.api.enums.v1.WorkflowExecutionStatus | null | undefined): string {
  const name = EXECUTION_STATUS[code ?? 0] ?? 'UNKNOWN';
  return name.replace('WORKFLOW_EXECUTION_STATUS_', '').replace('CANCELED', 'CANCELLED');
}

/** Whether some worker polls `taskQueue` for workflow tasks: one DescribeTaskQueue call. */
async function workerPolls(client: Client, taskQueue: string, calls: GridCalls): Promise<boolean> {
  calls.describeTaskQueue++;
  try {
    const r = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    return (r.pollers ?? []).length > 0;
  } catch {
    return false;
  }
}

/** A closed run's status from its result or failure (runs closed before the grid memo existed). */
async function closedStatus(client: Client, run: GridRun, calls: GridCalls): Promise<RunStatus | undefined> {
  calls.result++;
  const handle = client.workflow.getHandle(run.workflowId, run.runId, { followRuns: false });
  return handle.result().then(
    (r) => r as RunStatus,
    (err: unknown) =>
      err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure
        ? (err.cause.details?.[0] as { run?: RunStatus } | undefined)?.run
        : undefined,
  );
}

/** Loads the grid of `q.pipeline` over `q.from`..`q.to` (default: the first to the last date with a run). */
export async function loadGrid(client: Client, settings: RunTarget, q: GridQuery): Promise<GridData> {
  const t0 = performance.now();
  const prices = q.prices ?? loadPrices();
  const calls: GridCalls = { list: 0, describeTaskQueue: 0, query: 0, result: 0 };
  const latest = await listLatest(client, q, calls);
  const converter = client.options.loadedDataConverter;
  const runs: Record<string, GridRun> = {};
  const toQuery: GridRun[] = [];
  const toRead: GridRun[] = [];
  const taskQueues = new Set<string>();
  for (const { ds, info, executions } of latest.values()) {
    const workflowId = info.execution?.workflowId ?? '';
    const runId = info.execution?.runId ?? '';
    const execution = statusName(info.status);
    const sa = info.searchAttributes?.indexedFields?.[SEARCH_ATTRIBUTE_NAMES.status];
    const saStatus = sa?.data ? (JSON.parse(Buffer.from(sa.data).toString()) as string) : undefined;
    const closedAt = isoOf(info.closeTime);
    const url = runUiUrl(settings, workflowId, runId);
    const run: GridRun = {
      ds,
      workflowId,
      runId,
      status:
        execution === 'RUNNING' || execution in STATUS_BY_EXECUTION
          ? (saStatus ?? STATUS_BY_EXECUTION[execution] ?? execution)
          : execution,
      startedAt: isoOf(info.startTime) ?? '',
      ...(closedAt ? { closedAt } : {}),
      ...(url ? { url } : {}),
      executions,
      source: 'none',
      cells: {},
    };
    runs[ds] = run;
    let memo: Record<string, unknown> | undefined;
    try {
      memo = await decodeMapFromPayloads(converter, info.memo?.fields, {
        type: 'workflow',
        namespace: client.options.namespace,
        workflowId,
      });
    } catch (err) {
      run.note = `its stages could not be decoded: ${err instanceof Error ? err.message : String(err)}`;
      continue;
    }
    const record = asGridRecord(memo?.[MEMO_KEYS.grid]);
    const cancelled = memo?.[MEMO_KEYS.run] as RunStatus | undefined;
    if (record) {
      run.cells = cellsOf(record, prices);
      run.source = 'memo';
    } else if (execution === 'RUNNING') {
      toQuery.push(run);
      if (info.taskQueue) taskQueues.add(info.taskQueue);
    } else if (cancelled?.stages) {
      run.cells = cellsOf(gridRecord(cancelled), prices);
      run.source = 'memo';
    } else if (execution === 'COMPLETED' || execution === 'FAILED') {
      toRead.push(run);
    } else {
      run.note = `the run was ${execution.toLowerCase().replace('_', ' ')}: its stages were not recorded`;
    }
  }
  let workerUp = false;
  for (const tq of taskQueues) workerUp = (await workerPolls(client, tq, calls)) || workerUp;
  const n = q.queryConcurrency ?? 16;
  await Promise.all([
    eachAtMost(workerUp ? toQuery : [], n, async (run) => {
      calls.query++;
      const status = await client.workflow
        .getHandle(run.workflowId, run.runId)
        .query(statusQuery)
        .catch(() => undefined);
      if (status) {
        run.cells = cellsOf(gridRecord(status), prices);
        run.source = 'query';
      } else run.note = 'its stages are not known: the status query was not answered';
    }),
    eachAtMost(toRead, n, async (run) => {
      const status = await closedStatus(client, run, calls).catch(() => undefined);
      if (status) {
        run.cells = cellsOf(gridRecord(status), prices);
        run.source = 'result';
      } else run.note = 'its stages could not be read from its result';
    }),
  ]);
  if (!workerUp)
    for (const run of toQuery) run.note = 'its stages are not known: no worker is up to answer the status query';

  const stages: string[] = [];
  const kinds: Record<string, string> = {};
  const ordered = Object.values(runs).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  // The latest run's stage order first, then stages only older runs had.
  for (const run of ordered)
    for (const [id, c] of Object.entries(run.cells)) {
      if (!(id in kinds)) stages.push(id);
      if (c.kind) kinds[id] ??= c.kind;
    }
  const known = Object.keys(runs).sort();
  const from = q.from ?? known[0];
  const to = q.to ?? known[known.length - 1];
  return {
    pipeline: q.pipeline,
    from: from ?? '',
    to: to ?? '',
    stages,
    kinds,
    dates: from && to ? dateRange(from, to) : [],
    runs,
    calls,
    workerUp,
    loadMs: Math.round(performance.now() - t0),
  };
}

export function totalCalls(c: GridCalls): number {
  return c.list + c.describeTaskQueue + c.query + c.result;
}
