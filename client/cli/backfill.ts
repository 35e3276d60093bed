/** `sluice backfill` and `sluice backfill status|pause|resume|cancel|set-concurrency`: a range of dates (client/backfills.ts). */
import type { WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { datesDone, type BackfillOnly, type BackfillOrder } from '../../common/backfill-types';
import { BACKFILL_LIMITS } from '../../common/constants';
import { runUiUrl } from '../../common/env';
import { dryRunBackfill, formatDryRun } from '../backfill-plan';
import {
  backfillHandle,
  backfillProgress,
  backfillReport,
  formatReport,
  progressBar,
  startBackfill,
  steer,
  validateBackfillOptions,
  waitForBackfill,
} from '../backfills';
import { BackfillCosts, formatBackfillCost, loadPrices } from '../costs';
import { EXIT, UserInputError } from '../errors';
import { loadPipelineFile, runParams } from '../load-pipeline';
import { checkNamedPools, poolShares, poolSharesLine } from '../pools';
import { watchBackfill } from './backfill-watch';
import {
  collectParam,
  PARAM_HELP,
  positiveInt,
  printJson,
  PRIORITY_HELP,
  priorityArg,
  withClient,
  withParams,
} from './skeleton';

export function addBackfillCommands(program: Command): void {
  const backfill = program
    .command('backfill')
    .description('Run a pipeline for every date of a range (sliding window), or steer a running backfill.')
    .option('-p, --pipeline <file>', 'pipeline definition (YAML)')
    .option('--from <YYYY-MM-DD>', 'first logical date (included)')
    .option('--to <YYYY-MM-DD>', 'last logical date (included)')
    .option('-c, --concurrency <n>', 'dates running at once', positiveInt('--concurrency'), 4)
    .option('--only <which>', 'missing (no successful run yet), failed (last run failed) or all', 'missing')
    .option('--order <order>', 'oldest or newest first', 'oldest')
    .option('--force', `allow more than ${BACKFILL_LIMITS.maxDatesWithoutForce} dates`)
    .option('--param <name=value>', PARAM_HELP, collectParam, [])
    .option('--priority <n>', PRIORITY_HELP, priorityArg)
    .option('-w, --wait', 'show a live progress bar and the final report; exit 1 if any date failed')
    .option(
      '--dry-run',
      'start nothing: list the dates that would run and those skipped (with why), and estimate the wall time from past runs',
    )
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        pipeline?: string;
        from?: string;
        to?: string;
        concurrency: number;
        only: string;
        order: string;
        force?: boolean;
        param: string[];
        priority?: number;
        wait?: boolean;
        dryRun?: boolean;
        json?: boolean;
      }) => {
        if (!opts.pipeline || !opts.from || !opts.to) {
          throw new UserInputError(
            'sluice backfill needs --pipeline <file>, --from <date> and --to <date> (or a subcommand: status, pause, resume, cancel, set-concurrency).',
          );
        }
        const options = validateBackfillOptions(
          {
            from: opts.from,
            to: opts.to,
            concurrency: opts.concurrency,
            only: opts.only as BackfillOnly,
            order: opts.order as BackfillOrder,
          },
          opts.force,
        );
        if (opts.dryRun && opts.wait)
          throw new UserInputError('--dry-run starts nothing, so there is nothing to --wait for.\n  Fix: drop --wait.');
        const file = opts.pipeline;
        const pipeline = loadPipelineFile(file);
        const params = runParams(pipeline, opts.param);
        await withClient(async (client, settings) => {
          await checkNamedPools(client, settings, pipeline, file);
          if (opts.dryRun) {
            const plan = await dryRunBackfill(
              client,
              pipeline,
              { ...options, ...withParams(params) },
              loadPrices(),
              settings,
            );
            return opts.json ? printJson(plan) : console.log(formatDryRun(plan));
          }
          const started = await startBackfill(client, settings, pipeline, {
            ...options,
            ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
            ...withParams(params),
          });
          const { handle: _h, ...info } = started;
          if (opts.json && !opts.wait) return printJson(info);
          if (!opts.json) {
            console.log(
              `${started.attached ? 'Already running, following' : 'Started'} backfill ${started.workflowId}`,
            );
            if (started.url) console.log(`Temporal UI: ${started.url}`);
          }
          if (!opts.wait) return;
          const { outcome, cost } = await watchBackfill({
            wait: (onProgress) => waitForBackfill(started.handle, onProgress),
            succeeded: async () => (await backfillReport(started.handle)).succeeded,
            pools: async () => poolSharesLine(await poolShares(client, settings, started.workflowId)),
            costs: new BackfillCosts(client, pipeline.name, loadPrices()),
            ...(opts.json ? {} : { view: progressBar }),
          });
          if (opts.json) printJson({ ...info, ...outcome, cost });
          else
            console.log(
              outcome.report
                ? `${formatReport(outcome.report)}\n  cost of the succeeded dates: ${formatBackfillCost(cost)}`
                : `Backfill ${outcome.status}: ${outcome.message ?? ''}`,
            );
          if (outcome.status !== 'succeeded') process.exitCode = EXIT.failed;
        });
      },
    );

  backfill
    .command('status')
    .description("A backfill's progress: counts by state, dates running, failed dates with their errors.")
    .argument('<id>', 'backfill workflow ID')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withClient(async (client, settings) => {
        const handle = backfillHandle(client, id);
        const p = await backfillProgress(handle);
        const pools = await poolShares(client, settings, id).catch(() => []);
        if (opts.json) return printJson({ ...p, pools });
        const c = p.counts;
        const url = runUiUrl(settings, id);
        console.log(
          `${id}: ${p.pipeline} ${p.from} → ${p.to}, concurrency ${p.concurrency}, only ${p.only}, ${p.order} first${p.paused ? ', PAUSED' : ''}${p.cancelling ? ', CANCELLING' : ''}`,
        );
        if (url) console.log(`Temporal UI: ${url}`);
        console.log(
          `  ${datesDone(c)}/${p.total} done: succeeded ${c.succeeded}, failed ${c.failed}, skipped ${c.skipped}, cancelled ${c.cancelled}; running ${c.running}, pending ${c.pending}`,
        );
        if (p.running.length) console.log(`  running: ${p.running.join(', ')}`);
        for (const s of pools)
          console.log(
            `  pool ${s.name}: ${s.held}/${s.slots} held (${s.heldHere} by this backfill), ${s.waitingHere} of its dates waiting${s.waiting > s.waitingHere ? ` (${s.waiting} in all)` : ''}`,
          );
        for (const f of p.failed) console.log(`  ✘ ${f.ds}${f.stage ? ` stage ${f.stage}` : ''}: ${f.message}`);
      });
    });

  const steerCommand = (name: string, description: string, act: (h: WorkflowHandle) => Promise<void>, done: string) =>
    backfill
      .command(name)
      .description(description)
      .argument('<id>', 'backfill workflow ID')
      .action(async (id: string) => {
        await withClient(async (client) => {
          await act(backfillHandle(client, id));
          console.log(`${id}: ${done}`);
        });
      });
  steerCommand('pause', 'Start no new dates (running ones finish).', steer.pause, 'paused');
  steerCommand('resume', 'Start dates again.', steer.resume, 'resumed');
  steerCommand(
    'cancel',
    'Cancel every running date (their AWS jobs are stopped) and start nothing more; the backfill ends CANCELED.',
    steer.cancel,
    'cancelling',
  );
  backfill
    .command('set-concurrency')
    .description('Change how many dates run at once.')
    .argument('<id>', 'backfill workflow ID')
    .argument('<n>', 'dates at once', positiveInt('<n>'))
    .action(async (id: string, n: number) => {
      if (n > BACKFILL_LIMITS.maxConcurrency)
        throw new UserInputError(`<n> must be at most ${BACKFILL_LIMITS.maxConcurrency} (received ${n}).`);
      await withClient(async (client) => {
        await steer.setConcurrency(backfillHandle(client, id), n);
        console.log(`${id}: concurrency set to ${n}`);
      });
    });
}
