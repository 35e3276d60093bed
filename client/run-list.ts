/** `sluice runs`: the runs of a pipeline found through visibility (search attributes). */
import type { Client } from '@temporalio/client';
import type { RunStatus } from '../common/run-types';
import { formatUsd, type PriceTable, type StageCost } from '../common/prices';
import { loadPrices, runCost } from './costs';
import { runsQuery } from '../activities/runs';
import { RUN_STATUS, SEARCH_ATTRIBUTE_NAMES } from '../common/constants';
import { runUiUrl, type RunTarget } from '../common/env';
import { SA_DATE } from '../common/search-attributes';
import { UserInputError } from './errors';

export interface RunRow {
  ds: string;
  status: string;
  workflowId: string;
  runId: string;
  startedAt: string;
  durationSeconds?: number;
  url?: string;
  /** What the date cost, from its stages' own figures (a succeeded run's result); unknown otherwise. */
  cost: StageCost;
}

/** How many run results are read at once for the cost column. */
const COST_READS_AT_ONCE = 16;

async function costOf(client: Client, row: RunRow, completed: boolean, prices: PriceTable): Promise<StageCost> {
  if (!completed)
    return {
      note: `unknown: the run is ${row.status.toLowerCase()} (its stages' figures are read from a succeeded run)`,
    };
  try {
    const status = (await client.workflow.getHandle(row.workflowId, row.runId).result()) as RunStatus;
    return runCost(status, prices).total;
  } catch (err) {
    return { note: `unknown: its result could not be read (${String(err)})` };
  }
}

/** The cost column of `sluice runs`: the amount, "≥ amount" when some stages' figures are unknown, else "?". */
export function costCell(c: StageCost): string {
  if (c.usd === undefined) return '?';
  return c.note.startsWith('at least') ? `≥ ${formatUsd(c.usd)}` : formatUsd(c.usd);
}

const STATUSES = Object.values(RUN_STATUS) as string[];

export async function listRuns(
  client: Client,
  settings: RunTarget,
  o: { pipeline: string; from?: string; to?: string; status?: string; limit?: number; prices?: PriceTable },
): Promise<RunRow[]> {
  if (o.status !== undefined && !STATUSES.includes(o.status)) {
    throw new UserInputError(`--status must be one of ${STATUSES.join(', ')} (received "${o.status}").`);
  }
  let query = runsQuery(o.pipeline, o.from, o.to);
  if (o.status) query += ` AND ${SEARCH_ATTRIBUTE_NAMES.status} = "${o.status}"`;
  const prices = o.prices ?? loadPrices();
  const rows: RunRow[] = [];
  const completed = new Set<RunRow>();
  for await (const wf of client.workflow.list({ query })) {
    // The date from the run's search attribute: a sub-run's workflow ID is its parent's plus the stage.
    const date = wf.typedSearchAttributes.get(SA_DATE);
    const ds = date ? date.toISOString().slice(0, 10) : wf.workflowId.slice(o.pipeline.length + 1);
    const status = (wf.searchAttributes[SEARCH_ATTRIBUTE_NAMES.status]?.[0] as string | undefined) ?? wf.status.name;
    const end = wf.closeTime ?? undefined;
    const url = runUiUrl(settings, wf.workflowId, wf.runId);
    const row: RunRow = {
      ds,
      status,
      workflowId: wf.workflowId,
      runId: wf.runId,
      startedAt: wf.startTime.toISOString(),
      ...(end ? { durationSeconds: Math.round((end.getTime() - wf.startTime.getTime()) / 100) / 10 } : {}),
      ...(url ? { url } : {}),
      cost: { note: 'unknown' },
    };
    rows.push(row);
    if (wf.status.name === 'COMPLETED') completed.add(row);
    if (rows.length >= (o.limit ?? 1000)) break;
  }
  for (let i = 0; i < rows.length; i += COST_READS_AT_ONCE) {
    const batch = rows.slice(i, i + COST_READS_AT_ONCE);
    const costs = await Promise.all(batch.map((r) => costOf(client, r, completed.has(r), prices)));
    batch.forEach((r, j) => (r.cost = costs[j] as StageCost));
  }
  return rows.sort((a, b) => (a.ds === b.ds ? b.startedAt.localeCompare(a.startedAt) : a.ds.localeCompare(b.ds)));
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
