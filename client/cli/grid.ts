/** `sluice grid`: every date × every stage of a pipeline in the terminal (client/grid-data.ts). */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { loadGrid } from '../grid-data';
import { buildMatrix, gridJson } from '../grid-matrix';
import { checkGridRequest } from '../grid-options';
import { chooseFold, GRID_EXTRA_LINES, renderGrid, useColour } from '../grid-text';
import { printJson, withClient } from './skeleton';

type By = 'day' | 'week' | 'auto';

function byArg(value: string): By {
  if (value !== 'day' && value !== 'week' && value !== 'auto')
    throw new InvalidArgumentError(`--by must be day, week or auto (received "${value}").`);
  return value;
}

export function addGridCommand(program: Command): void {
  program
    .command('grid')
    .description(
      'Show every date × every stage of a pipeline: a symbol (and, on a terminal, a colour) per state, totals per stage, the failing cells.',
    )
    .requiredOption('-p, --pipeline <name>', 'pipeline name (as in its file)')
    .option('--from <YYYY-MM-DD>', 'first logical date (default: the first date with a run)')
    .option('--to <YYYY-MM-DD>', 'last logical date (default: the last date with a run)')
    .option('--backfill <id>', "a backfill's workflow ID: its range (<pipeline>/backfill/<from>..<to>)")
    .option(
      '--by <day|week|auto>',
      'one row per date, per ISO week (the worst state of its dates), or auto: weeks when the dates do not fit the terminal',
      byArg,
      'auto',
    )
    .option('--json', 'print JSON (every date, whatever --by)')
    .addHelpText(
      'after',
      `
States: ✔ succeeded  ✘ failed  ▶ running  ⧗ waiting for a pool  ■ cancelled  – skipped  ◌ not started yet  · never ran  ? unknown
A forEach stage or sub-runs show "succeeded/items" (48/50). Colours only on a terminal; NO_COLOR turns them off.

Examples:
  sluice grid --pipeline sales --from 2024-01-01 --to 2024-03-31
  sluice grid --pipeline sales --backfill sales/backfill/2015-01-01..2024-12-31 --by week`,
    )
    .action(
      async (opts: { pipeline: string; from?: string; to?: string; backfill?: string; by: By; json?: boolean }) => {
        const req = checkGridRequest(opts);
        await withClient(async (client, settings) => {
          const data = await loadGrid(client, settings, req);
          if (opts.json) return printJson(gridJson(data, buildMatrix(data, 'day')));
          if (!Object.keys(data.runs).length) {
            const range = req.from || req.to ? ` from ${req.from ?? 'the first date'} to ${req.to ?? 'the last'}` : '';
            console.log(`No runs of ${opts.pipeline} found${range}.`);
            return;
          }
          const by =
            opts.by === 'auto'
              ? chooseFold(
                  data.dates.length,
                  process.stdout.isTTY ? process.stdout.rows : undefined,
                  GRID_EXTRA_LINES + data.stages.length,
                )
              : opts.by;
          const lines = renderGrid(buildMatrix(data, by), data, { colour: useColour(process.stdout) });
          const notes = Object.values(data.runs).filter((r) => r.note);
          if (notes.length)
            lines.push(
              `stages unknown for ${notes.length} date${notes.length === 1 ? '' : 's'}: ${notes
                .slice(0, 3)
                .map((r) => `${r.ds}: ${r.note}`)
                .join('; ')}${notes.length > 3 ? '; …' : ''}`,
            );
          console.log(lines.join('\n'));
        });
      },
    );
}
