/** `sluice run` and `sluice cancel`: the run of one date (client/runs.ts). */
import type { Command } from 'commander';
import { validateLogicalDate } from '../../common/pipeline';
import { runWorkflowId } from '../../common/naming';
import { EXIT } from '../errors';
import { loadPipelineFile, runParams } from '../load-pipeline';
import { checkNamedPools } from '../pools';
import { cancelRun, startRun, waitForRun } from '../runs';
import {
  collectParam,
  nonNegativeInt,
  PARAM_HELP,
  printJson,
  PRIORITY_HELP,
  priorityArg,
  stageLine,
  withClient,
  withParams,
} from './skeleton';

interface RunOptions {
  pipeline: string;
  date: string;
  wait?: boolean;
  generation?: number;
  param: string[];
  priority?: number;
  json?: boolean;
}

export function addRunCommand(program: Command): void {
  program
    .command('run')
    .description('Run a pipeline for one logical date (workflow ID <pipeline>/<date>).')
    .requiredOption('-p, --pipeline <file>', 'pipeline definition (YAML)')
    .requiredOption('-d, --date <YYYY-MM-DD>', 'logical date of the run')
    .option('-w, --wait', 'wait for the run to end, printing each stage; exit 1 if it fails')
    .option(
      '--generation <n>',
      'rerun generation (default: the number of earlier runs of this date)',
      nonNegativeInt('--generation'),
    )
    .option('--param <name=value>', PARAM_HELP, collectParam, [])
    .option('--priority <n>', PRIORITY_HELP, priorityArg)
    .option('--json', 'print JSON instead of text')
    .action(async (opts: RunOptions) => {
      // Validate everything before connecting, so bad input starts nothing.
      const ds = validateLogicalDate(opts.date);
      const pipeline = loadPipelineFile(opts.pipeline);
      const params = runParams(pipeline, opts.param);
      await withClient(async (client, settings) => {
        await checkNamedPools(client, settings, pipeline, opts.pipeline);
        const started = await startRun(client, settings, pipeline, ds, {
          ...(opts.generation !== undefined ? { generation: opts.generation } : {}),
          ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
          ...withParams(params),
        });
        const { handle: _h, ...info } = started;
        if (opts.json && !opts.wait) {
          printJson(info);
        } else if (!opts.json) {
          console.log(
            `${started.attached ? 'Already running, following' : 'Started'} ${started.workflowId} (run ${started.runId}, generation ${started.generation})`,
          );
          if (started.url) console.log(`Temporal UI: ${started.url}`);
        }
        if (!opts.wait) return;
        const outcome = await waitForRun(started.handle, opts.json ? undefined : (s) => console.log(stageLine(s)));
        if (opts.json) printJson({ ...info, ...outcome });
        if (outcome.ok) {
          if (!opts.json) console.log(`Run ${started.workflowId} succeeded.`);
          return;
        }
        if (!opts.json) {
          console.error(
            outcome.cancelled
              ? `Run ${started.workflowId} was cancelled.`
              : `Run ${started.workflowId} failed: ${outcome.message}`,
          );
          if (started.url) console.error(`Details: ${started.url}`);
        }
        process.exitCode = EXIT.failed;
      });
    });
}

export function addCancelCommand(program: Command): void {
  program
    .command('cancel')
    .description('Cancel one run: every AWS job it started is stopped (from any worker) before it reports cancelled.')
    .argument('<pipeline>', 'pipeline name')
    .argument('<date>', 'logical date, YYYY-MM-DD')
    .option('--no-wait', 'return once the cancel is requested, without waiting for the jobs to stop')
    .option('--json', 'print JSON')
    .action(async (pipeline: string, date: string, opts: { wait: boolean; json?: boolean }) => {
      const ds = validateLogicalDate(date, '<date>');
      await withClient(async (client) => {
        const outcome = await cancelRun(client, runWorkflowId(pipeline, ds), { wait: opts.wait });
        if (opts.json) printJson(outcome);
        else {
          console.log(outcome.message);
          for (const s of outcome.status?.stages ?? [])
            if (s.state !== 'pending' && s.state !== 'skipped') console.log(stageLine(s));
        }
        if (!outcome.ok) process.exitCode = EXIT.failed;
      });
    });
}
