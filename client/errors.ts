/**
 * Two kinds of error reach the CLI's top level: a user's to fix (bad input, with the fix in the
 * message) and everything else (ours or the environment's). One handler prints and sets the exit code.
 */
import { ConfigError, type ConfigIssue } from '../common/connection';
import { PipelineValidationError } from '../common/pipeline';

/** Bad input from the user: printed without a stack trace, exit code 2. Nothing was started. */
export class UserInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserInputError';
  }
}

/**
 * The CLI's connection settings (TEMPORAL_*, SLUICE_TASK_QUEUE) are invalid: exit 2, each problem
 * with the variable, the value received (never a secret's) and the fix. Validated by the same
 * module as the worker's (common/connection.ts), but reported as the CLI's own mistake.
 */
export class CliConfigError extends ConfigError {
  constructor(issues: ConfigIssue[]) {
    super(issues, "sluice's Temporal connection configuration");
    this.name = 'CliConfigError';
  }
}

/** The Temporal server did not answer: exit 1 (nothing was started), naming the address and the fix. */
export class TemporalUnreachableError extends Error {
  constructor(
    readonly address: string,
    namespace: string,
    cause: unknown,
  ) {
    super(
      `cannot reach the Temporal server at ${address} (namespace ${namespace}): ${cause instanceof Error ? cause.message : String(cause)}.\n` +
        `  Fix: start it (npm run stack:up for the local stack), or point TEMPORAL_ADDRESS (or TEMPORAL_PROFILE) at your cluster's frontend host:port.`,
    );
    this.name = 'TemporalUnreachableError';
  }
}

/**
 * Visibility could not be read, so the generation of a rerun is unknown: starting anyway with
 * generation 0 would reattach to the first run's AWS jobs and "succeed" doing nothing. Exit 1,
 * nothing started.
 */
export class GenerationUnknownError extends Error {
  constructor(workflowId: string, cause: unknown) {
    super(
      `cannot count the earlier runs of ${workflowId} in Temporal visibility (${cause instanceof Error ? cause.message : String(cause)}), so its rerun generation is unknown; nothing was started ` +
        `(generation 0 would reattach to the first run's jobs instead of starting new ones).\n` +
        `  Fix: retry when visibility answers, or pass --generation N explicitly (N = the number of earlier runs of this date; a new N starts new jobs, an earlier run's N reattaches to its jobs).`,
    );
    this.name = 'GenerationUnknownError';
  }
}

export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

function isUsersToFix(err: unknown): boolean {
  return err instanceof UserInputError || err instanceof PipelineValidationError || err instanceof ConfigError;
}

export function exitCodeFor(err: unknown): number {
  return isUsersToFix(err) ? EXIT.badInput : EXIT.failed;
}

export function describeError(err: unknown): string {
  if (isUsersToFix(err) || err instanceof TemporalUnreachableError || err instanceof GenerationUnknownError)
    return `error: ${(err as Error).message}`;
  if (err instanceof Error) {
    const e = err as Error & { code?: string };
    if (/ECONNREFUSED|UNAVAILABLE|Failed to connect|tcp connect error/i.test(e.message)) {
      return `error: cannot reach the Temporal server (${e.message}).\n  Fix: start it (npm run stack:up) or set TEMPORAL_ADDRESS to your cluster.`;
    }
    return `error: ${e.message}`;
  }
  return `error: ${String(err)}`;
}
