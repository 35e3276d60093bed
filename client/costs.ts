/**
 * What a run cost, from its stages' usage figures and the price table (common/prices.ts; a file
 * of the same shape named by SLUICE_PRICES_FILE overrides it, e.g. for another region or a
 * negotiated rate).
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_PRICES, stageCost, totalCost, type PriceTable, type StageCost } from '../common/prices';
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

export interface RunCost {
  /** Per stage that ran (not skipped or pending). */
  stages: Record<string, StageCost>;
  total: StageCost;
  prices: { asOf: string; region: string };
}

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
