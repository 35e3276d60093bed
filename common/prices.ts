/**
 * What a stage's usage costs: AWS list prices for us-east-1, dated, overridable with a JSON file
 * of the same shape (`SLUICE_PRICES_FILE`, read by the CLI). Pure: the figures come from the
 * job (StageUsage), the prices from here; a figure a kind does not report stays unknown, never 0.
 */
import type { StageUsage } from './run-types';

export interface PriceTable {
  /** When these prices were read from AWS's pricing pages. */
  asOf: string;
  region: string;
  currency: 'USD';
  glue: { perDpuHour: number; minimumSeconds: number };
  athena: { perTerabyteScanned: number; minimumBytes: number };
  emrServerless: { perVcpuHour: number; perMemoryGbHour: number; perStorageGbHour: number };
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
};

export interface StageCost {
  /** Absent when unknown. */
  usd?: number;
  /** Why it is unknown, or what it rests on. */
  note: string;
}

const MB = 1024 * 1024;
const TB = 1024 ** 4;

/** The cost of one stage's usage; unknown (with the reason) when its kind reports no figures. */
export function stageCost(usage: StageUsage | undefined, prices: PriceTable = DEFAULT_PRICES): StageCost {
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
  const usd = costs.reduce((t, c) => t + (c.usd ?? 0), 0);
  if (!costs.length) return { note: 'no stages' };
  if (unknown === costs.length) return { note: 'unknown: no stage reports usage figures' };
  return unknown
    ? { usd, note: `at least: ${unknown} of ${costs.length} stages report no usage figures` }
    : { usd, note: 'every stage from its own figures' };
}

export function formatUsd(usd: number): string {
  return usd >= 1 ? `$${usd.toFixed(2)}` : usd >= 0.01 ? `$${usd.toFixed(3)}` : `$${usd.toFixed(6)}`;
}
