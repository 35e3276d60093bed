/**
 * What every `sluice` command shares: its arguments' parsers, the connection (set up and closed in
 * one place), `--json` output, how a stage is printed, and how an error becomes the exit code.
 * Each command group (run.ts, backfill.ts, …) validates all of its input before it connects, so
 * bad input starts nothing and exits 2 with what was wrong and how to fix it.
 */
import { InvalidArgumentError } from 'commander';
import type { Client } from '@temporalio/client';
import type { TemporalSettings } from '../../common/env';
import { poolWaitLine, priorityProblem } from '../../common/pools';
import type { StageStatus } from '../../common/run-types';
import { describeError, EXIT, exitCodeFor, UserInputError } from '../errors';
import { clientSettings, connectClient } from '../runs';

// Arguments: each parser throws InvalidArgumentError, which commander reports (exit 2).

export function nonNegativeInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value))
      throw new InvalidArgumentError(`${flag} must be a whole number >= 0 (received "${value}").`);
    return Number(value);
  };
}

export function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^[1-9]\d*$/.test(value))
      throw new InvalidArgumentError(`${flag} must be a whole number >= 1 (received "${value}").`);
    return Number(value);
  };
}

export function portNumber(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535)
      throw new InvalidArgumentError(`${flag} must be a port between 1 and 65535 (received "${value}").`);
    return Number(value);
  };
}

export function priorityArg(value: string): number {
  const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
  const problem = priorityProblem(n);
  if (problem) throw new InvalidArgumentError(`--priority: ${problem} (received "${value}").`);
  return n;
}
export const PRIORITY_HELP =
  "when stages wait for a pool: 1 goes first … 5 last (default the pipeline's priority, else 3; backfills one lower)";

/** `--param name=value`, repeatable. */
export function collectParam(value: string, previous: string[]): string[] {
  return [...previous, value];
}
export const PARAM_HELP = 'a run parameter, name=value (repeatable; JSON for arrays and objects)';

export function withParams(params: Record<string, unknown>): { params?: Record<string, unknown> } {
  return Object.keys(params).length ? { params } : {};
}

// The connection.

/** Connects with the environment's settings, runs `fn`, always closes the connection. */
export async function withClient<T>(fn: (client: Client, settings: TemporalSettings) => Promise<T>): Promise<T> {
  const { settings, options } = clientSettings();
  const client = await connectClient(settings, options);
  try {
    return await fn(client, settings);
  } finally {
    await client.connection.close();
  }
}

/** As withClient, for a check that is worth doing only if Temporal answers: `unreachable` otherwise. */
export async function ifReachable(
  fn: (client: Client, settings: TemporalSettings) => Promise<void>,
  unreachable: (settings: TemporalSettings) => void,
): Promise<void> {
  const { settings, options } = clientSettings();
  const client = await connectClient(settings, options).catch(() => undefined);
  if (!client) return unreachable(settings);
  try {
    await fn(client, settings);
  } finally {
    await client.connection.close();
  }
}

// Output.

/** `--json`: one line of JSON on stdout, the whole answer. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value));
}

/** A stage as `sluice run --wait`, `status` and `cancel` print it. */
export function stageLine(s: StageStatus): string {
  if (s.state === 'running' && s.pool && !s.pool.grantedAt) return `  ⧗ ${s.id} (${s.kind}) ${poolWaitLine(s.pool)}`;
  const mark = { running: '▶', succeeded: '✔', failed: '✘', cancelled: '■', skipped: '–', pending: '·' }[s.state];
  const detail =
    s.state === 'succeeded'
      ? (s.result?.summary ?? '')
      : s.state === 'failed' || s.state === 'cancelled'
        ? (s.error?.message ?? '')
        : s.state === 'skipped'
          ? (s.reason ?? '')
          : '';
  return `  ${mark} ${s.id} (${s.kind}) ${s.state}${detail ? `: ${detail}` : ''}`;
}

// Errors.

/**
 * The exit code of a command that threw: commander's own errors (it printed them, or the help)
 * 0 or 2; the user's to fix (bad input, configuration) 2; anything else 1. Prints the error.
 */
export function exitCodeOf(err: unknown): number {
  const e = err as { code?: string; exitCode?: number };
  if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
    // commander already printed the message (or the help / version).
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version'
      ? EXIT.ok
      : EXIT.badInput;
  }
  console.error(describeError(err));
  return err instanceof UserInputError || exitCodeFor(err) === EXIT.badInput ? EXIT.badInput : EXIT.failed;
}
