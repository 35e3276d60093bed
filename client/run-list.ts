/** `sluice runs`: the runs of a pipeline found through visibility (search attributes). */
import type { Client } from '@temporalio/client';
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
}

const STATUSES = Object.values(RUN_STATUS) as string[];

export async function listRuns(
  client: Client,
  settings: RunTarget,
  o: { pipeline: string; from?: string; to?: string; status?: string; limit?: number },
): Promise<RunRow[]> {
  if (o.status !== undefined && !STATUSES.includes(o.status)) {
    throw new UserInputError(`--status must be one of ${STATUSES.join(', ')} (received "${o.status}").`);
  }
  let query = runsQuery(o.pipeline, o.from, o.to);
  if (o.status) query += ` AND ${SEARCH_ATTRIBUTE_NAMES.status} = "${o.status}"`;
  const rows: RunRow[] = [];
  for await (const wf of client.workflow.list({ query })) {
    // The date from the run's search attribute: a sub-run's workflow ID is its parent's plus the stage.
    const date = wf.typedSearchAttributes.get(SA_DATE);
    const ds = date ? date.toISOString().slice(0, 10) : wf.workflowId.slice(o.pipeline.length + 1);
    const status = (wf.searchAttributes[SEARCH_ATTRIBUTE_NAMES.status]?.[0] as string | undefined) ?? wf.status.name;
    const end = wf.closeTime ?? undefined;
    const url = runUiUrl(settings, wf.workflowId, wf.runId);
    rows.push({
      ds,
      status,
      workflowId: wf.workflowId,
      runId: wf.runId,
      startedAt: wf.startTime.toISOString(),
      ...(end ? { durationSeconds: Math.round((end.getTime() - wf.startTime.getTime()) / 100) / 10 } : {}),
      ...(url ? { url } : {}),
    });
    if (rows.length >= (o.limit ?? 1000)) break;
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
