/**
 * `sluice backfill --wait`: follows the backfill to its end on a live progress bar that shows what
 * its succeeded dates cost so far and the pools its dates wait on, then prices every succeeded date.
 */
import type { BackfillProgress } from '../../common/backfill-types';
import { formatUsd } from '../../common/prices';
import type { BackfillOutcome } from '../backfills';
import type { BackfillCost, BackfillCosts } from '../costs';

/** The bar (client/backfills.ts progressBar): it reads the cost and pools text at each update. */
export type ProgressView = { update(p: BackfillProgress): void; stop(): void };

export interface BackfillWatch {
  /** Waits for the backfill, calling `onProgress` with each reading (waitForBackfill). */
  wait(onProgress: (p: BackfillProgress) => void): Promise<BackfillOutcome>;
  /** The dates succeeded so far (the backfill's report). */
  succeeded(): Promise<readonly string[]>;
  /** The line of the pools its dates wait on (poolShares, poolSharesLine). */
  pools(): Promise<string>;
  costs: Pick<BackfillCosts, 'add' | 'total'>;
  /** The bar, given the texts it shows (none with --json). */
  view?: (cost: () => string, pools: () => string) => ProgressView;
  now?: () => number;
}

/** Succeeded dates are priced at most this often while it runs (each date is read once). */
const COST_READ_MS = 10_000;
/** The pools are read at most this often (one query per pool of the task queue). */
const POOLS_READ_MS = 5_000;

/** The bar's cost: '…' until a date is priced, '≥ ' when some dates have stages without figures. */
export function costText(c: BackfillCost): string {
  return c.usd === undefined ? '…' : `${c.partial ? '≥ ' : ''}${formatUsd(c.usd)}`;
}

export async function watchBackfill(w: BackfillWatch): Promise<{ outcome: BackfillOutcome; cost: BackfillCost }> {
  const now = w.now ?? Date.now;
  let poolText = '';
  let poolRead = 0;
  let costRead = 0;
  const bar = w.view?.(
    () => costText(w.costs.total()),
    () => poolText,
  );
  let last: BackfillProgress | undefined;
  const outcome = await w.wait((p) => {
    last = p;
    bar?.update(p);
    if (bar && now() - poolRead >= POOLS_READ_MS) {
      poolRead = now();
      void w
        .pools()
        .then((text) => (poolText = text))
        .catch(() => undefined);
    }
    if (now() - costRead < COST_READ_MS || !p.counts.succeeded) return;
    costRead = now();
    void w
      .succeeded()
      .then((dates) => w.costs.add(dates))
      .catch(() => undefined);
  });
  // The dates that succeeded since the last reading are priced first: the bar's last line, the
  // one left on the screen, shows the same cost as the summary printed after it.
  await w.costs.add(outcome.report?.succeeded ?? []);
  if (bar && last) bar.update(last);
  bar?.stop();
  return { outcome, cost: w.costs.total() };
}
