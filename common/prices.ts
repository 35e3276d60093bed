/**
 * What a stage's usage costs: AWS list prices for us-east-1, dated, overridable with a JSON file
 * of the same shape (`SLUICE_PRICES_FILE`, read by the CLI). Pure: the figures come from the
 * job (StageUsage), the prices from here; a figure a kind does not report stays unknown, never 0.
 */
import type { RunStatus, StageUsage } from './run-types';

export interface PriceTable {
  /** When these prices were read from AWS's pricing pages. */
  asOf: string;
  region: string;
  currency: 'USD';
  glue: { perDpuHour: number; minimumSeconds: number };
  athena: { perTerabyteScanned: number; minimumBytes: number };
  emrServerless: { perVcpuHour: number; perMemoryGbHour: number; perStorageGbHour: number };
  lambda: { perGbSecond: number; perRequest: number };
  /** Temporal Cloud: what one action (an activity start, a heartbeat, a signal...) costs. */
  temporal: { perAction: number };
}

/** us-east-1 list prices (Glue 2.0+ Spark/Python shell jobs, Athena SQL per data scanned, EMR Serverless x86). */
export const DEFAULT_PRICES: PriceTable = {
  asOf: '2026-12-01',
  region: 'us-east-1',
  currency: 'USD',
  // $0.44 per DPU-hour, billed per second with a 1-minute minimum (Glue 2.0 and later).
  glue: { perDpuHour: 0.44, minimumSeconds: 60 },
  // $5.00 per TB scanned, rounded up to the megabyte, 10 MB minimum per query.
  athena: { perTerabyteScanned: 5, minimumBytes: 10 * 1024 * 1024 },
  // x86: $0.052624 per vCPU-hour, $0.0057785 per GB-hour, $0.000111 per storage GB-hour.
  emrServerless: { perVcpuHour: 0.052624, perMemoryGbHour: 0.0057785, perStorageGbHour: 0.000111 },
  // x86: $0.0000166667 per GB-second of billed duration (1 ms granularity), $0.20 per million requests.
  lambda: { perGbSecond: 0.0000166667, perRequest: 0.0000002 },
  // Temporal Cloud: $50 per million actions (the first pricing tier); self-hosted: set 0.
  temporal: { perAction: 0.00005 },
};

export interface StageCost {
  /** Absent when unknown. Includes the Temporal actions' cost when that is known too. */
  usd?: number;
  /** Why it is unknown, or what it rests on. */
  note: string;
  /** The stage's Temporal actions (an estimate, StageResult.temporalActions) and their price. */
  temporal?: { actions: number; usd: number };
}

const MB = 1024 * 1024;
const TB = 1024 ** 4;

/** The cost of one stage's usage; unknown (with the reason) when its kind reports no figures. */
export function stageCost(
  usage: StageUsage | undefined,
  prices: PriceTable = DEFAULT_PRICES,
  temporalActions?: number,
): StageCost {
  const aws = awsCost(usage, prices);
  if (temporalActions === undefined) return aws;
  const temporal = { actions: temporalActions, usd: temporalActions * prices.temporal.perAction };
  return aws.usd === undefined
    ? { ...aws, temporal }
    : { usd: aws.usd + temporal.usd, note: `${aws.note}; ${temporalActions} Temporal actions`, temporal };
}

function awsCost(usage: StageUsage | undefined, prices: PriceTable): StageCost {
  if (!usage) return { note: 'unknown: this kind reports no usage figures' };
  let usd = 0;
  let any = false;
  const g = usage.glue;
  const glueSeconds =
    g?.dpuSeconds ??
    (g?.executionSeconds !== undefined && g.dpus !== undefined
      ? Math.max(prices.glue.minimumSeconds, g.executionSeconds) * g.dpus
      : undefined);
  if (glueSeconds !== undefined) {
    any = true;
    usd += (glueSeconds / 3600) * prices.glue.perDpuHour;
  }
  if (usage.athenaBytesScanned !== undefined) {
    any = true;
    const billed = Math.max(prices.athena.minimumBytes, Math.ceil(usage.athenaBytesScanned / MB) * MB);
    usd += (billed / TB) * prices.athena.perTerabyteScanned;
  }
  if (usage.emrServerless) {
    any = true;
    const u = usage.emrServerless;
    usd +=
      u.vCPUHour * prices.emrServerless.perVcpuHour +
      u.memoryGBHour * prices.emrServerless.perMemoryGbHour +
      u.storageGBHour * prices.emrServerless.perStorageGbHour;
  }
  if (usage.lambda) {
    any = true;
    const gbSeconds = (usage.lambda.billedMs / 1000) * (usage.lambda.memoryMB / 1024);
    usd += gbSeconds * prices.lambda.perGbSecond + prices.lambda.perRequest;
  }
  if (!any) return { note: `unknown: ${usage.basis}` };
  return { usd, note: `${usage.basis}; ${prices.region} list prices of ${prices.asOf}` };
}

/** Glue's DPUs per worker by worker type (Standard: the legacy 1 DPU per "worker"). */
const DPU_PER_WORKER: Record<string, number> = {
  'G.025X': 0.25,
  'G.1X': 1,
  'G.2X': 2,
  'G.4X': 4,
  'G.8X': 8,
  'G.12X': 12,
  'G.16X': 16,
  'Z.2X': 2,
  Standard: 1,
};

/** A Glue job run's usage from GetJobRun (billed with a per-run minimum by stageCost). */
export function glueUsage(run: {
  DPUSeconds?: number;
  ExecutionTime?: number;
  MaxCapacity?: number;
  NumberOfWorkers?: number;
  WorkerType?: string;
}): StageUsage | undefined {
  if (run.DPUSeconds !== undefined)
    return { glue: { dpuSeconds: run.DPUSeconds }, basis: `DPUSeconds ${run.DPUSeconds}` };
  if (run.ExecutionTime === undefined) return undefined;
  const perWorker = run.WorkerType ? DPU_PER_WORKER[run.WorkerType] : undefined;
  const byWorkers = run.NumberOfWorkers !== undefined && perWorker !== undefined;
  const dpus = byWorkers ? (run.NumberOfWorkers as number) * perWorker : run.MaxCapacity;
  if (dpus === undefined)
    return {
      glue: { executionSeconds: run.ExecutionTime },
      basis: `ExecutionTime ${run.ExecutionTime} s, DPUs not reported`,
    };
  return {
    glue: { executionSeconds: run.ExecutionTime, dpus },
    basis: `ExecutionTime ${run.ExecutionTime} s × ${dpus} DPU (${byWorkers ? `${run.WorkerType} × ${run.NumberOfWorkers}` : 'MaxCapacity'}), 1-minute minimum`,
  };
}

/** The sum of stage costs: unknown if any stage's is (saying how many), else the total. */
export function totalCost(costs: StageCost[]): StageCost {
  const unknown = costs.filter((c) => c.usd === undefined).length;
  // Known stages' usd already include their Temporal actions; unknown ones add only theirs.
  const usd = costs.reduce((t, c) => t + (c.usd ?? c.temporal?.usd ?? 0), 0);
  const actions = costs.reduce((t, c) => t + (c.temporal?.actions ?? 0), 0);
  const temporal = costs.some((c) => c.temporal)
    ? { temporal: { actions, usd: costs.reduce((t, c) => t + (c.temporal?.usd ?? 0), 0) } }
    : {};
  if (!costs.length) return { note: 'no stages' };
  if (unknown === costs.length && !actions) return { note: 'unknown: no stage reports usage figures' };
  return unknown
    ? { usd, note: `at least: ${unknown} of ${costs.length} stages report no usage figures`, ...temporal }
    : { usd, note: 'every stage from its own figures', ...temporal };
}

export function formatUsd(usd: number): string {
  return usd >= 1 ? `$${usd.toFixed(2)}` : usd >= 0.01 ? `$${usd.toFixed(3)}` : `$${usd.toFixed(6)}`;
}

export interface RunCost {
  /** Per stage that ran (not skipped or pending). */
  stages: Record<string, StageCost>;
  total: StageCost;
  prices: { asOf: string; region: string };
}

/** What a run cost: each stage that ran, priced from its own figures, and the total. */
export function runCost(status: RunStatus, prices: PriceTable = DEFAULT_PRICES): RunCost {
  const stages: Record<string, StageCost> = {};
  for (const s of status.stages) {
    if (s.state === 'pending' || s.state === 'skipped') continue;
    stages[s.id] =
      s.state === 'succeeded'
        ? stageCost(s.result?.usage, prices, s.result?.temporalActions)
        : { note: `unknown: the stage ${s.state} (its job's figures are read when it succeeds)` };
  }
  return { stages, total: totalCost(Object.values(stages)), prices: { asOf: prices.asOf, region: prices.region } };
}
