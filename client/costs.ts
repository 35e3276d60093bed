/**
 * What a run cost, from its stages' usage figures and the price table (common/prices.ts; a file
 * of the same shape named by SLUICE_PRICES_FILE overrides it, e.g. for another region or a
 * negotiated rate).
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { runWorkflowId } from '../common/naming';
import { DEFAULT_PRICES, formatUsd, runCost, type PriceTable, type StageCost } from '../common/prices';
import type { RunStatus } from '../common/run-types';
import { UserInputError } from './errors';

export function loadPrices(env: NodeJS.ProcessEnv = process.env): PriceTable {
  const file = env.SLUICE_PRICES_FILE;
  if (!file) return DEFAULT_PRICES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserInputError(
      `SLUICE_PRICES_FILE=${file} could not be read as JSON: ${(err as Error).message}.\n  Fix: point it at a JSON file shaped like DEFAULT_PRICES in common/prices.ts, or unset it.`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UserInputError(
      `SLUICE_PRICES_FILE=${file} must hold a JSON object (received ${JSON.stringify(parsed)}).`,
    );
  const p = parsed as Record<string, unknown>;
  const merged = { ...DEFAULT_PRICES } as Record<string, unknown>;
  for (const [k, v] of Object.entries(p)) {
    if (!(k in DEFAULT_PRICES))
      throw new UserInputError(
        `SLUICE_PRICES_FILE=${file}: unknown key "${k}".\n  Fix: use ${Object.keys(DEFAULT_PRICES).join(', ')}.`,
      );
    const base = DEFAULT_PRICES[k as keyof PriceTable];
    merged[k] = typeof base === 'object' && typeof v === 'object' && v !== null ? { ...base, ...v } : v;
  }
  return merged as unknown as PriceTable;
}

export { runCost, type RunCost } from '../common/prices';

/** What a backfill's succeeded dates cost, read from each date's run (cached: each date is read once). */
export interface BackfillCost {
  /** Sum over the dates whose cost is known (a lower bound when some are not: see `note`). */
  usd?: number;
  dates: number;
  /** Dates whose run could not be priced, or had stages without figures. */
  partial: number;
  note: string;
}

const DATES_READ_AT_ONCE = 16;

export class BackfillCosts {
  private readonly byDate = new Map<string, StageCost>();

  constructor(
    private readonly client: Client,
    private readonly pipeline: string,
    private readonly prices: PriceTable = DEFAULT_PRICES,
  ) {}

  /** Reads the cost of the given succeeded dates not read yet. */
  async add(dates: readonly string[]): Promise<void> {
    const fresh = dates.filter((d) => !this.byDate.has(d));
    for (let i = 0; i < fresh.length; i += DATES_READ_AT_ONCE) {
      const batch = fresh.slice(i, i + DATES_READ_AT_ONCE);
      const costs = await Promise.all(
        batch.map(async (ds): Promise<StageCost> => {
          try {
            const status = (await this.client.workflow
              .getHandle(runWorkflowId(this.pipeline, ds))
              .result()) as RunStatus;
            return runCost(status, this.prices).total;
          } catch (err) {
            return { note: `unknown: ${String(err)}` };
          }
        }),
      );
      batch.forEach((ds, j) => this.byDate.set(ds, costs[j] as StageCost));
    }
  }

  total(): BackfillCost {
    const costs = [...this.byDate.values()];
    const partial = costs.filter((c) => c.usd === undefined || c.note.startsWith('at least')).length;
    const known = costs.filter((c) => c.usd !== undefined);
    if (!costs.length) return { dates: 0, partial: 0, note: 'no succeeded date yet' };
    if (!known.length) return { dates: costs.length, partial, note: 'unknown: no date reports usage figures' };
    const usd = known.reduce((t, c) => t + (c.usd ?? 0), 0);
    return {
      usd,
      dates: costs.length,
      partial,
      note: partial
        ? `at least: ${partial} of ${costs.length} dates have stages without figures`
        : `${costs.length} dates, every stage from its own figures`,
    };
  }
}

export function formatBackfillCost(c: BackfillCost): string {
  return c.usd === undefined ? c.note : `${c.note.startsWith('at least') ? '≥ ' : ''}${formatUsd(c.usd)} (${c.note})`;
}
