/** `sluice runs` and `sluice status`: what ran, by date, and one run's stages (client/run-list.ts, client/runs.ts). */
import type { Command } from 'commander';
import { CHILD_RUN_KINDS } from '../../common/constants';
import { runUiUrl } from '../../common/env';
import { parseRunWorkflowId, runWorkflowId, subRunWorkflowId } from '../../common/naming';
import { validateLogicalDate } from '../../common/pipeline';
import { formatUsd } from '../../common/prices';
import { loadPrices, runCost } from '../costs';
import { UserInputError } from '../errors';
import { livePool } from '../pools';
import { costCell, listRuns, table } from '../run-list';
import { listSubRuns, readRunStatus } from '../runs';
import { printJson, stageLine, withClient } from './skeleton';

/** Sub-runs listed per stage in `sluice status` (all of them with --json). */
const SUB_RUNS_SHOWN = 20;

export function addRunsCommand(program: Command): void {
  program
    .command('runs')
    .description('List the runs of a pipeline by date (Temporal visibility, search attributes).')
    .requiredOption('-p, --pipeline <name>', 'pipeline name (as in its file)')
    .option('--from <YYYY-MM-DD>', 'first logical date (included)')
    .option('--to <YYYY-MM-DD>', 'last logical date (included)')
    .option('--status <status>', 'Running, Succeeded, Failed or Cancelled')
    .option('--json', 'print JSON')
    .action(async (opts: { pipeline: string; from?: string; to?: string; status?: string; json?: boolean }) => {
      if (opts.from) validateLogicalDate(opts.from, '--from');
      if (opts.to) validateLogicalDate(opts.to, '--to');
      await withClient(async (client, settings) => {
        const rows = await listRuns(client, settings, opts);
        if (opts.json) return printJson(rows);
        if (!rows.length) return console.log(`No runs of ${opts.pipeline} found.`);
        console.log(
          table(
            ['date', 'status', 'duration', 'cost', 'started', 'link'],
            rows.map((r) => [
              r.ds,
              r.status,
              r.durationSeconds !== undefined ? `${r.durationSeconds}s` : '…',
              costCell(r.cost),
              r.startedAt,
              r.url ?? r.workflowId,
            ]),
          ),
        );
      });
    });
}

/**
 * The workflow ID `sluice status` reads: `<pipeline> <date>`, `<pipeline> <date> --stage <path>`
 * (a sub-run), or a run's or sub-run's workflow ID alone. Bad input is a UserInputError (exit 2).
 */
export function statusTarget(pipelineOrId: string, date: string | undefined, stage: string | undefined): string {
  let run: string;
  if (date === undefined) {
    const parsed = parseRunWorkflowId(pipelineOrId);
    if (!parsed)
      throw new UserInputError(
        `<pipeline> without <date> must be a run's workflow ID, <pipeline>/<YYYY-MM-DD>[/<stage>[<i>]]... (received "${pipelineOrId}").\n  Fix: \`sluice status <pipeline> <date>\`, or a workflow ID as \`sluice runs\` and the Temporal UI show it.`,
      );
    validateLogicalDate(parsed.ds, '<date>');
    run = pipelineOrId;
  } else {
    if (pipelineOrId.includes('/'))
      throw new UserInputError(
        `<pipeline> is a workflow ID ("${pipelineOrId}") and <date> is given too.\n  Fix: \`sluice status ${pipelineOrId}\` alone, or \`sluice status <pipeline> <date>\`.`,
      );
    run = runWorkflowId(pipelineOrId, validateLogicalDate(date, '<date>'));
  }
  if (stage === undefined) return run;
  const sub = subRunWorkflowId(run, stage);
  if (!sub)
    throw new UserInputError(
      `--stage must name a pipeline.run stage, <stage> or <stage>[<i>] for a forEach item, "/" between the steps of a nested sub-run (received "${stage}").\n  Fix: e.g. --stage load_tables[3]; \`sluice status ${run.replace('/', ' ')}\` lists the sub-runs.`,
    );
  return sub;
}

export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      "Show one run's stages and their states, and the sub-runs its pipeline.run stages started; or one sub-run's.",
    )
    .argument('<pipeline>', "pipeline name, or a run's workflow ID (<pipeline>/<date>[/<stage>[<i>]]...)")
    .argument('[date]', 'logical date, YYYY-MM-DD (not with a workflow ID)')
    .option('--stage <stage>', 'a sub-run of the run: its pipeline.run stage, <stage>[<i>] for a forEach item')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  sluice status per-table 2024-03-01                       the run, its stages and its sub-runs
  sluice status per-table 2024-03-01 --stage tables[1]     the sub-run of stage tables, item 1
  sluice status 'per-table/2024-03-01/tables[1]'           the same, by its workflow ID`,
    )
    .action(async (pipeline: string, date: string | undefined, opts: { stage?: string; json?: boolean }) => {
      const workflowId = statusTarget(pipeline, date, opts.stage);
      const target = parseRunWorkflowId(workflowId) as NonNullable<ReturnType<typeof parseRunWorkflowId>>;
      await withClient(async (client, settings) => {
        const handle = client.workflow.getHandle(workflowId);
        const read = await readRunStatus(client.workflow, workflowId);
        // A stage waiting for a pool: the pool's counts of now.
        const status = read && {
          ...read,
          stages: await Promise.all(
            read.stages.map(async (s) => (s.pool ? { ...s, pool: await livePool(client, settings, s.pool) } : s)),
          ),
        };
        if (!status) {
          const run = runWorkflowId(target.pipeline, target.ds);
          throw new UserInputError(
            target.steps.length
              ? `no sub-run ${workflowId} was found (or no worker is running to answer).\n  Fix: \`sluice status ${target.pipeline} ${target.ds}\` lists the sub-runs of ${run}; the stage may not have started it yet.`
              : `no run ${workflowId} was found (or no worker is running to answer).\n  Fix: check the name and date with \`sluice runs --pipeline ${pipeline}\`.`,
          );
        }
        const desc = await handle.describe();
        const childStages = status.stages.filter((s) => CHILD_RUN_KINDS.includes(s.kind)).map((s) => s.id);
        const subRuns = childStages.length
          ? await listSubRuns(client, workflowId, { since: desc.startTime, stageOrder: childStages })
          : [];
        const cost = runCost(status, loadPrices());
        if (opts.json) return printJson({ ...status, cost, ...(subRuns.length ? { subRuns } : {}) });
        console.log(`${workflowId}: ${status.status} (generation ${status.generation})`);
        if (target.steps.length)
          console.log(
            `sub-run of ${workflowId.slice(0, workflowId.lastIndexOf('/'))} (stage ${target.steps[target.steps.length - 1]}), pipeline ${status.pipeline}`,
          );
        if (status.params && Object.keys(status.params).length)
          console.log(
            `params: ${Object.entries(status.params)
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(' ')}`,
          );
        const url = runUiUrl(settings, workflowId, desc.runId);
        if (url) console.log(`Temporal UI: ${url}`);
        for (const s of status.stages) {
          console.log(stageLine(s));
          const own = subRuns.filter((r) => r.stage === s.id || r.stage.startsWith(`${s.id}[`));
          for (const r of own.slice(0, SUB_RUNS_SHOWN))
            console.log(`      ↳ ${r.stage}: ${r.status.toLowerCase()} (${r.pipeline ?? '?'}, ${r.workflowId})`);
          if (own.length > SUB_RUNS_SHOWN)
            console.log(`      ↳ … ${own.length - SUB_RUNS_SHOWN} more (--json lists them all)`);
          // Only figures: a stage whose kind reports none is counted in the total's note.
          const c = cost.stages[s.id];
          if (c?.usd !== undefined) console.log(`      cost: ${formatUsd(c.usd)} (${c.note})`);
        }
        const actions = cost.total.temporal
          ? `; ${cost.total.temporal.actions} Temporal actions, ${formatUsd(cost.total.temporal.usd)}`
          : '';
        console.log(
          `cost of this run: ${cost.total.usd !== undefined ? `${formatUsd(cost.total.usd)} (${cost.total.note}${actions})` : cost.total.note}`,
        );
        if (subRuns.length)
          console.log(
            `A sub-run's stages: sluice status ${target.pipeline} ${target.ds} --stage ${[...target.steps, subRuns[0]?.stage].join('/')}`,
          );
      });
    });
}
