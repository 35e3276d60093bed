/**
 * `sluice backfill --dry-run`: the plan a backfill would follow (the same `planBackfill` over the
 * same visibility read as the backfill workflow), and an estimate of its wall time from the
 * pipeline's past succeeded runs (median per stage, the critical path through the stages, waves
 * of `concurrency` dates) and its cost (the stages' median costs from their usage figures). Starts nothing.
 */
import type { Client } from '@temporalio/client';
import { readDateRuns, runsQuery } from '../activities/runs';
import { planBackfill } from '../common/backfill-plan';
import type { BackfillOptions, DateSkip } from '../common/backfill-types';
import { RUN_STATUS, SEARCH_ATTRIBUTE_NAMES } from '../common/constants';
import { runWorkflowId } from '../common/naming';
import { DEFAULT_PRICES, formatUsd, stageCost, type PriceTable } from '../common/prices';
import type { PipelineDefinition } from '../common/pipeline';
import { backfillWorkflowId } from './backfills';
import type { runPipeline } from '../workflows';
import type { TemporalSettings } from '../common/env';
import { KINDS } from '../kinds';
import { stagePool } from '../common/pools';
import { renderDeep, templateContext } from '../common/templating';
import { describePool } from './pools';

/** How many of the latest succeeded runs an estimate reads (one result each). */
export const ESTIMATE_PAST_RUNS = 20;

export interface StageEstimate {
  id: string;
  kind: string;
  /** Median of the stage's durations in the past runs where it succeeded; absent with no such run. */
  medianSeconds?: number;
  samples: number;
  /** Median of the stage's cost in those runs (from its usage figures); absent when unknown. */
  medianUsd?: number;
}

export interface BackfillEstimate {
  /** Succeeded runs of the pipeline the estimate rests on (the latest, any date). */
  pastRuns: number;
  stages: StageEstimate[];
  /** The longest chain of stage medians through `dependsOn` (stages without figures count 0). */
  perDateSeconds?: number;
  /** Median of the past runs' own durations (start to close): orchestration included. */
  medianRunSeconds?: number;
  /**
   * Dates to run in waves of `concurrency`, each wave as long as a date; or longer when a stage's
   * pool lets fewer of its runs go at once (dates × its median ÷ its slots): `limitedBy` says which.
   */
  wallSeconds?: number;
  /** The pools the stages hold while their job runs, with their slots of now (absent: not running yet). */
  pools: StagePoolEstimate[];
  /** The stage whose pool bounds the wall time (absent: the backfill's concurrency does). */
  limitedBy?: { stage: string; pool: string; slots: number };
  /**
   * The sum of the stages' median costs per date, and × the dates to run. Absent when no stage
   * reports usage figures (never shown as 0); `note` says which stages are not counted.
   */
  cost: { perDateUsd?: number; totalUsd?: number; note: string };
}

export interface StagePoolEstimate {
  stage: string;
  pool: string;
  /** The pool's slots now; absent when it does not run yet (it learns them from AWS at its first stage). */
  slots?: number;
  source?: string;
}

export interface BackfillDryRun {
  dryRun: true;
  workflowId: string;
  pipeline: string;
  options: BackfillOptions;
  /** In the order the backfill would start them; generation > 0 is a rerun of the date. */
  run: { ds: string; generation: number }[];
  skipped: DateSkip[];
  estimate: BackfillEstimate;
}

const median = (xs: number[]): number | undefined => {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** The longest path through the stages' `dependsOn`, each stage weighing its median (0 if unknown). */
export function criticalPathSeconds(pipeline: PipelineDefinition, medians: Map<string, number | undefined>): number {
  const memo = new Map<string, number>();
  const byId = new Map(pipeline.stages.map((s) => [s.id, s]));
  const finish = (id: string): number => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const stage = byId.get(id);
    const before = Math.max(0, ...(stage?.dependsOn ?? []).map(finish));
    const t = before + (medians.get(id) ?? 0);
    memo.set(id, t);
    return t;
  };
  return Math.max(0, ...pipeline.stages.map((s) => finish(s.id)));
}

export async function estimateBackfill(
  client: Client,
  pipeline: PipelineDefinition,
  dates: number,
  concurrency: number,
  prices: PriceTable = DEFAULT_PRICES,
  pools: StagePoolEstimate[] = [],
): Promise<BackfillEstimate> {
  const query = `${runsQuery(pipeline.name)} AND ${SEARCH_ATTRIBUTE_NAMES.status} = "${RUN_STATUS.succeeded}"`;
  const durations = new Map<string, number[]>(pipeline.stages.map((s) => [s.id, []]));
  const costs = new Map<string, number[]>(pipeline.stages.map((s) => [s.id, []]));
  const runSeconds: number[] = [];
  let pastRuns = 0;
  for await (const wf of client.workflow.list({ query })) {
    const ds = wf.workflowId.slice(pipeline.name.length + 1);
    if (wf.workflowId !== runWorkflowId(pipeline.name, ds)) continue;
    // Listed as succeeded: its result is its RunStatus (no describe needed, as readRunStatus would).
    if (wf.status.name !== 'COMPLETED') continue;
    const status = await client.workflow.getHandle<typeof runPipeline>(wf.workflowId, wf.runId).result();
    pastRuns++;
    if (wf.closeTime) runSeconds.push((wf.closeTime.getTime() - wf.startTime.getTime()) / 1000);
    for (const st of status.stages) {
      if (st.state !== 'succeeded' || !st.startedAt || !st.endedAt) continue;
      durations.get(st.id)?.push((Date.parse(st.endedAt) - Date.parse(st.startedAt)) / 1000);
      const usd = stageCost(st.result?.usage, prices, st.result?.temporalActions).usd;
      if (usd !== undefined) costs.get(st.id)?.push(usd);
    }
    if (pastRuns >= ESTIMATE_PAST_RUNS) break;
  }
  const stages: StageEstimate[] = pipeline.stages.map((s) => {
    const xs = durations.get(s.id) ?? [];
    const m = median(xs);
    const usd = median(costs.get(s.id) ?? []);
    return {
      id: s.id,
      kind: s.kind,
      ...(m !== undefined ? { medianSeconds: m } : {}),
      samples: xs.length,
      ...(usd !== undefined ? { medianUsd: usd } : {}),
    };
  });
  const priced = stages.filter((s) => s.medianUsd !== undefined);
  const unpriced = stages.filter((s) => s.medianUsd === undefined).map((s) => s.id);
  const perDateUsd = priced.reduce((t, s) => t + (s.medianUsd ?? 0), 0);
  const cost = !priced.length
    ? { note: 'unknown: no stage of the past runs reports usage figures (not 0)' }
    : {
        perDateUsd,
        totalUsd: perDateUsd * dates,
        note: `${prices.region} list prices of ${prices.asOf}${unpriced.length ? `; not counted (no usage figures): ${unpriced.join(', ')}` : ''}`,
      };
  if (!pastRuns) return { pastRuns, stages, cost, pools };
  const perDateSeconds = criticalPathSeconds(pipeline, new Map(stages.map((s) => [s.id, s.medianSeconds])));
  const medianRunSeconds = median(runSeconds);
  const perDate = Math.max(perDateSeconds, medianRunSeconds ?? 0);
  const bound = poolBound(pools, stages, dates, concurrency);
  const waves = Math.ceil(dates / concurrency) * perDate;
  return {
    pastRuns,
    stages,
    perDateSeconds,
    ...(medianRunSeconds !== undefined ? { medianRunSeconds } : {}),
    wallSeconds: bound && bound.seconds > waves ? bound.seconds : waves,
    cost,
    pools,
    ...(bound && bound.seconds > waves ? { limitedBy: bound.limitedBy } : {}),
  };
}

/**
 * The slowest pool: a stage whose pool has fewer slots than the concurrency runs at most `slots`
 * dates at once, so its dates take dates × median ÷ slots (in waves) whatever the concurrency.
 */
export function poolBound(
  pools: StagePoolEstimate[],
  stages: StageEstimate[],
  dates: number,
  concurrency: number,
): { seconds: number; limitedBy: { stage: string; pool: string; slots: number } } | undefined {
  let worst: ReturnType<typeof poolBound>;
  for (const p of pools) {
    const m = stages.find((s) => s.id === p.stage)?.medianSeconds;
    if (p.slots === undefined || m === undefined || p.slots >= concurrency) continue;
    // Stages sharing one pool share its slots: their medians add up.
    const shared = pools
      .filter((q) => q.pool === p.pool)
      .reduce((t, q) => t + (stages.find((s) => s.id === q.stage)?.medianSeconds ?? 0), 0);
    const seconds = Math.ceil(dates / p.slots) * shared;
    if (!worst || seconds > worst.seconds)
      worst = { seconds, limitedBy: { stage: p.stage, pool: p.pool, slots: p.slots } };
  }
  return worst;
}

/** Each pooled stage's pool (as its first date would render it) and the pool's slots of now. */
export async function stagePools(
  client: Client,
  settings: Pick<TemporalSettings, 'taskQueue'>,
  pipeline: PipelineDefinition,
  ds: string,
): Promise<StagePoolEstimate[]> {
  const ctx = templateContext(pipeline.name, ds);
  const out: StagePoolEstimate[] = [];
  for (const s of pipeline.stages) {
    if (s.forEach !== undefined) continue; // fan-out items do not hold a pool
    let pool: string | undefined;
    try {
      pool = stagePool(s, KINDS[s.kind].defaultPool, renderDeep<Record<string, unknown>>(s.params, ctx));
    } catch {
      pool = undefined;
    }
    if (!pool) continue;
    const view = await describePool(client, settings, pool).catch(() => undefined);
    out.push({ stage: s.id, pool, ...(view ? { slots: view.slots, source: view.source } : {}) });
  }
  return out;
}

/** The plan and the estimate of a backfill, without starting it. */
export async function dryRunBackfill(
  client: Client,
  pipeline: PipelineDefinition,
  options: BackfillOptions,
  prices: PriceTable = DEFAULT_PRICES,
  settings?: Pick<TemporalSettings, 'taskQueue'>,
): Promise<BackfillDryRun> {
  const known = await readDateRuns(client, pipeline.name, options.from, options.to);
  const plan = planBackfill(options, known);
  const run = plan.queue.map((ds, i) => ({ ds, generation: plan.generations[i] ?? 0 }));
  const pools = settings ? await stagePools(client, settings, pipeline, run[0]?.ds ?? options.from) : [];
  return {
    dryRun: true,
    workflowId: backfillWorkflowId(pipeline.name, options.from, options.to),
    pipeline: pipeline.name,
    options,
    run,
    skipped: plan.skipped,
    estimate: await estimateBackfill(client, pipeline, run.length, options.concurrency, prices, pools),
  };
}

const secs = (s: number): string =>
  s < 90 ? `${s.toFixed(1)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;

export function formatDryRun(d: BackfillDryRun): string {
  const o = d.options;
  const lines = [
    `Dry run — nothing started. Backfill ${d.workflowId}: only ${o.only}, ${o.order} first, concurrency ${o.concurrency}.`,
    `Would run ${d.run.length} date${d.run.length === 1 ? '' : 's'}${d.run.length ? ':' : '.'}`,
    ...d.run.map((r) => `  ${r.ds}${r.generation ? `  rerun (generation ${r.generation})` : ''}`),
    `Would skip ${d.skipped.length} date${d.skipped.length === 1 ? '' : 's'}${d.skipped.length ? ':' : '.'}`,
    ...d.skipped.map((s) => `  ${s.ds}  ${s.reason}`),
  ];
  const e = d.estimate;
  if (!e.pastRuns) {
    lines.push(`Estimate: none — ${d.pipeline} has no succeeded run yet to estimate from.`);
  } else {
    lines.push(
      `Estimate from the latest ${e.pastRuns} succeeded run${e.pastRuns === 1 ? '' : 's'} of ${d.pipeline} (median per stage):`,
    );
    const w = Math.max(...e.stages.map((s) => s.id.length));
    for (const s of e.stages)
      lines.push(
        `  ${s.id.padEnd(w)}  ${s.kind.padEnd(16)}  ${s.medianSeconds !== undefined ? secs(s.medianSeconds) : 'no figures (never succeeded in those runs)'}${s.samples ? `  (${s.samples} run${s.samples === 1 ? '' : 's'})` : ''}`,
      );
    lines.push(
      `  per date: ${secs(e.perDateSeconds ?? 0)} through the stages' critical path${e.medianRunSeconds !== undefined ? `, ${secs(e.medianRunSeconds)} per run end to end` : ''}`,
      `  wall time: about ${secs(e.wallSeconds ?? 0)} for ${d.run.length} date${d.run.length === 1 ? '' : 's'} at concurrency ${o.concurrency}${e.limitedBy ? ` — bound by pool ${e.limitedBy.pool} (${e.limitedBy.slots} slot${e.limitedBy.slots === 1 ? '' : 's'}) of stage ${e.limitedBy.stage}` : ''}`,
    );
  }
  for (const p of e.pools)
    lines.push(
      `  pool ${p.pool} (stage ${p.stage}): ${p.slots !== undefined ? `${p.slots} slot${p.slots === 1 ? '' : 's'}, ${p.source ?? ''}` : 'not running yet — learns its slots from AWS when its first stage asks'}`,
    );
  lines.push(
    e.cost.totalUsd !== undefined
      ? `  cost: about ${formatUsd(e.cost.totalUsd)} (${formatUsd(e.cost.perDateUsd ?? 0)} per date; ${e.cost.note})`
      : `  cost: ${e.cost.note}`,
  );
  return lines.join('\n');
}
