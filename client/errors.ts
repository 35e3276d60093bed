/**
 * Two kinds of error reach the CLI's top level: a user's to fix (bad input, with the fix in the
 * message) and everything else (ours or the environment's). One handler prints and sets the exit code.
 */
import { PipelineValidationError } from '../common/pipeline';
import { WorkerConfigError } from '../workers/config';

/** Bad input from the user: printed without a stack trace, exit code 2. Nothing was started. */
export class UserInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserInputError';
  }
}

export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

function isUsersToFix(err: unknown): boolean {
  return err instanceof UserInputError || err instanceof PipelineValidationError || err instanceof WorkerConfigError;
}

export function exitCodeFor(err: unknown): number {
  return isUsersToFix(err) ? EXIT.badInput : EXIT.failed;
}

export function describeError(err: unknown): string {
  if (isUsersToFix(err)) return `error: ${(err as Error).message}`;
  if (err instanceof Error) {
    const e = err as Error & { code?: string };
    if (/ECONNREFUSED|UNAVAILABLE|Failed to connect|tcp connect error/i.test(e.message)) {
      return `error: cannot reach the Temporal server (${e.message}).\n  Fix: start it (npm run stack:up) or set TEMPORAL_ADDRESS to your cluster.`;
    }
    return `error: ${e.message}`;
  }
  return `error: ${String(err)}`;
}
