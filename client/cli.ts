/**
 * The `sluice` command line: one module per command group under client/cli/, on the shared
 * skeleton of client/cli/skeleton.ts (arguments, connection, --json output, exit codes). Every
 * command validates its input before it connects or starts anything; bad input exits 2 with what
 * was wrong and how to fix it. The executable is bin/sluice.js, which hands in the worker's entry
 * points for `sluice worker` and `sluice codec-server` (client/cli/worker.ts).
 */
import { Command } from 'commander';
import { EXIT } from './errors';
import { addBackfillCommands } from './cli/backfill';
import { addGridCommand } from './cli/grid';
import { addPoolCommands } from './cli/pool';
import { addCancelCommand, addRunCommand } from './cli/run';
import { addRunsCommand, addStatusCommand } from './cli/runs';
import { addScheduleCommands } from './cli/schedule';
import { exitCodeOf } from './cli/skeleton';
import { runTraced } from './cli/tracing';
import { addUiCommand } from './cli/ui';
import { addValidateCommand } from './cli/validate';
import { addServerCommands, type ServerEntryPoints } from './cli/worker';

export type { ServerEntryPoints } from './cli/worker';

export function buildCli(servers: ServerEntryPoints): Command {
  const program = new Command('sluice')
    .description('Run AWS data pipelines as durable Temporal workflows.')
    .showHelpAfterError('(run with --help for usage)')
    // `backfill --json` and `backfill status <id> --json` are different options: each belongs to its own command.
    .enablePositionalOptions()
    .exitOverride();
  // In the order `sluice --help` lists them.
  addRunCommand(program);
  addBackfillCommands(program);
  addScheduleCommands(program);
  addPoolCommands(program);
  addRunsCommand(program);
  addStatusCommand(program);
  addGridCommand(program);
  addUiCommand(program);
  addCancelCommand(program);
  addValidateCommand(program);
  addServerCommands(program, servers);
  return program;
}

/** Runs one command line; resolves to its exit code (0 ok, 1 failed, 2 bad input). */
export async function main(argv: string[], servers: ServerEntryPoints): Promise<number> {
  const program = buildCli(servers);
  try {
    await runTraced(program, argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    return exitCodeOf(err);
  }
}
