/**
 * `sfn.execution`: StartExecution → DescribeExecution → StopExecution on cancel; the result carries
 * the execution's output (parsed JSON, when small).
 *
 * The execution name is derived from the idempotency key. Step Functions itself makes a name
 * idempotent: starting the same name with the same input while it runs returns that execution;
 * when the execution has ended (or the input changed), StartExecution answers
 * ExecutionAlreadyExists and Sluice adopts the execution of that name instead of failing.
 */
import { watchKey } from '../../common/stage-events';
import { createHash } from 'node:crypto';
import {
  DescribeExecutionCommand,
  StartExecutionCommand,
  StopExecutionCommand,
  type DescribeExecutionOutput,
  ExecutionStatus as SERVICE_STATES,
} from '@aws-sdk/client-sfn';
import { jobStatus, type JobHandler, type JobStatus, type StageContext } from '../../activities/stage-handler';
import { sfnExecution as sfnExecutionKind } from './kind';

/** Step Functions names: at most 80 characters of [A-Za-z0-9-_]. */
const NAME_MAX = 80;
/** Output kept in the stage result (it lands in workflow history). */
export const SFN_OUTPUT_MAX_CHARS = 2048;

/**
 * `<readable part of the key>-<16 hex of its SHA-256>`: deterministic, valid, and unique even when
 * two keys differ only in characters the name cannot hold (`/`, `.`) or past 80 characters.
 */
export function sfnExecutionName(idempotencyKey: string): string {
  const hash = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 16);
  const readable = idempotencyKey.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, NAME_MAX - hash.length - 1);
  return `${readable}-${hash}`;
}

/** arn:…:stateMachine:<name>[:<version|alias>] + execution name → arn:…:execution:<name>:<execution>. */
export function sfnExecutionArn(stateMachineArn: string, name: string): string {
  const m = /^(arn:[^:]+:states:[^:]+:[^:]+):stateMachine:([^:]+)/.exec(stateMachineArn);
  if (!m) throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return `${m[1]}:execution:${m[2]}:${name}`;
}

export function mapSfnState(execution: Pick<DescribeExecutionOutput, 'status' | 'error' | 'cause'>): JobStatus {
  const message = [execution.error, execution.cause].filter(Boolean).join(': ') || undefined;
  return jobStatus(sfnExecutionKind.states, execution.status ?? 'UNKNOWN', message, {
    TIMED_OUT: 'the execution exceeded its TimeoutSeconds',
  });
}

/** The execution input as Step Functions wants it: a JSON string. */
function inputText(input: unknown): string | undefined {
  if (input === undefined) return undefined;
  return typeof input === 'string' ? input : JSON.stringify(input);
}

function stateMachineArn(ctx: StageContext): string {
  return String(ctx.params.stateMachineArn);
}

/** Parsed output when it is small JSON; otherwise a truncated preview. */
export function summarizeOutput(output: string | undefined): {
  output?: unknown;
  outputPreview?: string;
  outputChars?: number;
} {
  if (output === undefined) return {};
  if (output.length > SFN_OUTPUT_MAX_CHARS)
    return { outputPreview: output.slice(0, SFN_OUTPUT_MAX_CHARS), outputChars: output.length };
  try {
    return { output: JSON.parse(output) as unknown };
  } catch {
    return { outputPreview: output, outputChars: output.length };
  }
}

export const sfnExecution: JobHandler = {
  kind: sfnExecutionKind.kind,
  mode: 'job',
  serviceStates: Object.values(SERVICE_STATES),
  service: 'Step Functions',
  capacityErrors: ['ExecutionLimitExceeded'],
  watchKey: (_ctx, jobId) => watchKey('sfn.execution', jobId),
  async start(ctx) {
    const name = sfnExecutionName(ctx.idempotencyKey);
    const input = inputText(ctx.params.input);
    try {
      const out = await ctx.clients.sfn.send(
        new StartExecutionCommand({
          ...(ctx.params as object),
          stateMachineArn: stateMachineArn(ctx),
          name,
          ...(input !== undefined ? { input } : {}),
        }),
      );
      if (!out.executionArn) throw new Error('Step Functions StartExecution returned no executionArn');
      return out.executionArn;
    } catch (err) {
      if ((err as { name?: string }).name !== 'ExecutionAlreadyExists') throw err;
      // This key's execution exists and has ended (or had another input): adopt it.
      const arn = sfnExecutionArn(stateMachineArn(ctx), name);
      const existing = await ctx.clients.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      return existing.executionArn ?? arn;
    }
  },
  async describe(ctx, jobId) {
    return mapSfnState(await ctx.clients.sfn.send(new DescribeExecutionCommand({ executionArn: jobId })));
  },
  async stop(ctx, jobId) {
    try {
      await ctx.clients.sfn.send(
        new StopExecutionCommand({
          executionArn: jobId,
          error: 'Sluice.Cancelled',
          cause: `run cancelled (stage ${ctx.stageId})`,
        }),
      );
    } catch (err) {
      if ((await sfnExecution.describe(ctx, jobId)).state === 'running') throw err;
    }
  },
  async collect(ctx, jobId) {
    const d = await ctx.clients.sfn.send(new DescribeExecutionCommand({ executionArn: jobId }));
    const out = summarizeOutput(d.output);
    return {
      summary: `Step Functions execution ${d.name ?? jobId} succeeded`,
      output: { executionArn: jobId, ...out },
    };
  },
};
