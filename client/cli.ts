/**
 * The `sluice` command line. Every command validates its input before it connects or starts
 * anything; bad input exits 2 with what was wrong and how to fix it.
 */
import { Command, InvalidArgumentError } from 'commander';
import { temporalSettings } from '../common/env';
import { validateLogicalDate } from '../common/pipeline';
import type { StageStatus } from '../common/run-types';
import { describeError, EXIT, exitCodeFor, UserInputError } from './errors';
import { loadPipelineFile } from './load-pipeline';
import { connectClient, startRun, waitForRun } from './runs';
import { runWorker } from '../workers/main';

function nonNegativeInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} must be a whole number >= 0 (received "${value}").`);
    return Number(value);
  };
}

function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError(`${flag} must be a whole number >= 1 (received "${value}").`);
    return Number(value);
  };
}

function stageLine(s: StageStatus): string {
  const mark = { running: '▶', succeeded: '✔', failed: '✘', cancelled: '■', skipped: '–', pending: '·' }[s.state];
  const detail =
    s.state === 'succeeded' ? s.result?.summary ?? '' : s.state === 'failed' || s.state === 'cancelled' ? s.error?.message ?? '' : '';
  return `  ${mark} ${s.id} (${s.kind}) ${s.state}${detail ? `: ${detail}` : ''}`;
}

export function buildCli(): Command {
  const program = new Command('sluice')
    .description('Run AWS data pipelines as durable Temporal workflows.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('run')
    .description('Run a pipeline for one logical date (workflow ID <pipeline>/<date>).')
    .requiredOption('-p, --pipeline <file>', 'pipeline definition (YAML)')
    .requiredOption('-d, --date <YYYY-MM-DD>', 'logical date of the run')
    .option('-w, --wait', 'wait for the run to end, printing each stage; exit 1 if it fails')
    .option('--generation <n>', 'rerun generation (default: the number of earlier runs of this date)', nonNegativeInt('--generation'))
    .option('--json', 'print JSON instead of text')
    .action(async (opts: { pipeline: string; date: string; wait?: boolean; generation?: number; json?: boolean }) => {
      // Validate everything before connecting, so bad input starts nothing.
      const ds = validateLogicalDate(opts.date);
      const pipeline = loadPipelineFile(opts.pipeline);
      const settings = temporalSettings();
      const client = await connectClient(settings);
      try {
        const started = await startRun(client, settings, pipeline, ds, opts.generation !== undefined ? { generation: opts.generation } : {});
        const { handle: _h, ...info } = started;
        if (opts.json && !opts.wait) {
          console.log(JSON.stringify(info));
        } else if (!opts.json) {
          console.log(`${started.attached ? 'Already running, following' : 'Started'} ${started.workflowId} (run ${started.runId}, generation ${started.generation})`);
          if (started.url) console.log(`Temporal UI: ${started.url}`);
        }
        if (!opts.wait) return;
        const outcome = await waitForRun(started.handle, opts.json ? undefined : (s) => console.log(stageLine(s)));
        if (opts.json) console.log(JSON.stringify({ ...info, ...outcome }));
        if (outcome.ok) {
          if (!opts.json) console.log(`Run ${started.workflowId} succeeded.`);
          return;
        }
        if (!opts.json) {
          console.error(outcome.cancelled ? `Run ${started.workflowId} was cancelled.` : `Run ${started.workflowId} failed: ${outcome.message}`);
          if (started.url) console.error(`Details: ${started.url}`);
        }
        process.exitCode = EXIT.failed;
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('validate')
    .description('Check a pipeline file without running it.')
    .requiredOption('-p, --pipeline <file>', 'pipeline definition (YAML)')
    .action((opts: { pipeline: string }) => {
      const def = loadPipelineFile(opts.pipeline);
      console.log(`${opts.pipeline}: pipeline "${def.name}" with ${def.stages.length} stage(s) is valid.`);
    });

  program
    .command('worker')
    .description('Run a worker: the pipeline workflows and the AWS stage activities (stops gracefully on SIGTERM/SIGINT).')
    .option('--max-concurrent-stages <n>', 'stages this worker runs at once', positiveInt('--max-concurrent-stages'))
    .action(async (opts: { maxConcurrentStages?: number }) => {
      await runWorker(opts.maxConcurrentStages ? { maxConcurrentActivityTaskExecutions: opts.maxConcurrentStages } : {});
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // commander already printed the message (or the help / version).
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version' ? EXIT.ok : EXIT.badInput;
    }
    if (err instanceof UserInputError || exitCodeFor(err) === EXIT.badInput) {
      console.error(describeError(err));
      return EXIT.badInput;
    }
    console.error(describeError(err));
    return EXIT.failed;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
