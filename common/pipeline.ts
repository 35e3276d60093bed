/**
 * The pipeline definition format: its zod schema, its TypeScript types, and the checks that
 * reject a bad pipeline before anything starts. Pure (zod only, no Node built-ins), so the
 * CLI, the worker and tests share one definition; workflow code imports the types only.
 */
import { z } from 'zod';

export { formatIssues, structureIssues, topologicalOrder, type PipelineIssue } from './pipeline-structure';
import { expectProblems, type ExpectSpec } from './checks';
import { RESULT_KINDS, type StageKind } from './constants';
import { KINDS, type CheckContext, type KindDescriptor } from '../kinds';
import { PIPELINE_NAME } from '../kinds/types';
import { logicalDateProblem } from './dates';
import { formatIssues, isKind, structureIssues, type PipelineIssue } from './pipeline-structure';
import { FAN_OUT_LIMITS, type ForEachSpec } from './fan-out';
import { PARAM_TYPES, paramDefinitionIssues, type ParamDefinitions } from './params';
import { TRIGGER_RULES, type TriggerRule } from './scheduling';
import { templateIssues } from './pipeline-templates';
import { NO_POOL, POOL_NAME, PRIORITY } from './pools';
import { notifyProblem, type NotifySpec } from './notifications';

/** `90s`, `5m`, `2h`, `1d`, `500ms`, or a number of milliseconds. */
const DURATION = /^\d+(\.\d+)?(ms|s|m|h|d)$/;
const durationSchema = z.union([
  z.string().regex(DURATION, { message: 'expected a duration such as 30s, 5m, 2h or 1d' }),
  z.number().int().positive(),
]);
export type DurationSpec = z.infer<typeof durationSchema>;

const retrySchema = z.strictObject({
  /** Attempts in all, the first included. */
  maximumAttempts: z.number().int().min(1).optional(),
  initialInterval: durationSchema.optional(),
  backoffCoefficient: z.number().min(1).optional(),
  maximumInterval: durationSchema.optional(),
});
export type RetrySpec = z.infer<typeof retrySchema>;

const timeoutObjectSchema = z.strictObject({
  /** The stage's whole budget, across retries (Temporal scheduleToClose). Also a sensor's deadline. */
  total: durationSchema.optional(),
  /** One attempt (Temporal startToClose). */
  attempt: durationSchema.optional(),
  /** How long a silent worker is trusted before the attempt moves to another worker. */
  heartbeat: durationSchema.optional(),
});
const timeoutSchema = z.union([durationSchema, timeoutObjectSchema]);
export type TimeoutSpec = z.infer<typeof timeoutSchema>;

const pollSchema = z.strictObject({
  /** First wait between two status calls. */
  initial: durationSchema.optional(),
  /** Longest wait between two status calls. */
  max: durationSchema.optional(),
});
export type PollSpec = z.infer<typeof pollSchema>;

const expectSchema = z.strictObject({
  /** A comparison on the row count, e.g. ">0". */
  rows: z.string().optional(),
  /** A comparison on the first column of the first row, e.g. ">= 1000" or "== 'ok'". */
  firstValue: z.string().optional(),
});

const forEachSchema = z.strictObject({
  /** The keys under a prefix (read page by page). */
  s3: z.strictObject({ Bucket: z.string().min(1), Prefix: z.string().default('') }).optional(),
  /** A literal list, or one template that yields a list. */
  items: z.union([z.array(z.unknown()), z.string()]).optional(),
  batch: z.number().int().min(1).max(FAN_OUT_LIMITS.maxBatch).optional(),
  concurrency: z.number().int().min(1).max(FAN_OUT_LIMITS.maxConcurrency).optional(),
  toleratedFailures: z
    .union([
      z.number().int().min(0),
      z.string().regex(/^(100|\d{1,2})(\.\d+)?%$/, { message: 'expected a count or a percentage such as "5%"' }),
    ])
    .optional(),
});

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const stageSchema = z.strictObject({
  id: z.string().regex(ID, { message: 'expected letters, digits, "_", "-" or ".", starting with a letter or digit' }),
  kind: z.string(),
  description: z.string().optional(),
  dependsOn: z.array(z.string()).default([]),
  params: z.record(z.string(), z.unknown()).default({}),
  retry: retrySchema.optional(),
  timeout: timeoutSchema.optional(),
  poll: pollSchema.optional(),
  expect: expectSchema.optional(),
  /** When the stage runs, given how its upstream stages ended (common/scheduling.ts). Default all_success. */
  trigger: z.enum(TRIGGER_RULES).optional(),
  /** A condition: `{{ template }} <op> <literal>`; false → the stage is skipped. */
  if: z.string().optional(),
  /** Fan-out: the stage runs once per item (common/fan-out.ts). */
  forEach: forEachSchema.optional(),
  /** The pool whose slot the stage holds while its job runs (common/pools.ts); `none`: no pool. */
  pool: z
    .string()
    .regex(POOL_NAME, {
      message:
        'expected a pool name of letters, digits, "_", ".", ":", "/", "@" or "-", starting with a letter or digit',
    })
    .optional(),
});

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const paramSchema = z.strictObject({
  type: z.enum(PARAM_TYPES),
  default: z.unknown().optional(),
  enum: z.array(z.unknown()).min(1).optional(),
  description: z.string().optional(),
});

const defaultsSchema = z.strictObject({
  retry: retrySchema.optional(),
  timeout: timeoutSchema.optional(),
  poll: pollSchema.optional(),
});

const pipelineSchema = z.strictObject({
  name: z.string().regex(PIPELINE_NAME, {
    message:
      'expected lower-case letters, digits, "_" or "-", starting with a letter or digit (it becomes part of workflow IDs)',
  }),
  description: z.string().optional(),
  defaults: defaultsSchema.optional(),
  /** Run parameters: `{{ params.<name> }}`, given per run with `--param name=value`. */
  params: z
    .record(
      z
        .string()
        .regex(PARAM_NAME, { message: 'expected a name of letters, digits and "_", not starting with a digit' }),
      paramSchema,
    )
    .optional(),
  stages: z.array(stageSchema).min(1, { message: 'a pipeline needs at least one stage' }),
  /** Priority key of this pipeline's runs when they wait for a pool: 1 first … 5 last (common/pools.ts). */
  priority: z
    .number()
    .int()
    .min(PRIORITY.min, { message: `expected ${PRIORITY.min} (first) to ${PRIORITY.max} (last)` })
    .max(PRIORITY.max, { message: `expected ${PRIORITY.min} (first) to ${PRIORITY.max} (last)` })
    .optional(),
  /** Where the run's events go (common/notifications.ts): SNS topics, EventBridge buses, webhooks. */
  notify: z.unknown().optional(),
});

export interface StageDefinition {
  id: string;
  kind: StageKind;
  description?: string;
  dependsOn: string[];
  /** The AWS start request, with the AWS API's own field names; strings may hold `{{ templates }}`. */
  params: Record<string, unknown>;
  retry?: RetrySpec;
  timeout?: TimeoutSpec;
  poll?: PollSpec;
  /** Data-quality gate for kinds that read results; see common/checks.ts. */
  expect?: ExpectSpec;
  /** When the stage runs, given how its upstream stages ended; default all_success. */
  trigger?: TriggerRule;
  /** `{{ template }} <op> <literal>`: false → the stage is skipped. */
  if?: string;
  /** Fan-out: the stage runs once per item, `{{ item }}` in its params. */
  forEach?: ForEachSpec;
  /** The pool the stage takes a slot of; default: its kind's (defaultPool); `none`: no pool. */
  pool?: string;
}

export interface PipelineDefinition {
  name: string;
  description?: string;
  defaults?: { retry?: RetrySpec; timeout?: TimeoutSpec; poll?: PollSpec };
  /** Run parameters, by name. */
  params?: ParamDefinitions;
  stages: StageDefinition[];
  /** Priority of its runs' waits for pools (1 first … 5 last); backfill dates default to one lower. */
  priority?: number;
  /** Where its runs' events go (failed, late, succeeded, cancelled, recovered, a backfill's end). */
  notify?: NotifySpec[];
}

/**
 * Thrown when a pipeline definition or a logical date is invalid. Always thrown before anything
 * starts; the message lists every problem with the stage, the field, the value received and the fix.
 */
export class PipelineValidationError extends Error {
  constructor(
    readonly source: string,
    readonly issues: PipelineIssue[],
  ) {
    super(formatIssues(source, issues));
    this.name = 'PipelineValidationError';
  }
}

/**
 * Per kind: the params the AWS start call cannot do without, and Sluice's own rules. Read from the
 * kind's descriptor (common/kinds/); kept under this name for the files that import it.
 */
export const KIND_RULES: Readonly<Record<StageKind, KindDescriptor>> = KINDS;

/** What a kind's `check` may call: pipeline.run validates its sub-pipeline with validatePipeline. */
const CHECK_CONTEXT: CheckContext = {
  validateSubPipeline(raw) {
    try {
      return { definition: validatePipeline(raw, 'the sub-pipeline') };
    } catch (err) {
      if (!(err instanceof PipelineValidationError)) throw err;
      return { error: err.message };
    }
  },
};

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function zodIssues(raw: unknown, error: z.ZodError): PipelineIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path;
    let stage: string | undefined;
    let rest = path;
    if (path[0] === 'stages' && typeof path[1] === 'number') {
      const id = valueAt(raw, ['stages', path[1], 'id']);
      stage = typeof id === 'string' ? id : `#${path[1] + 1}`;
      rest = path.slice(2);
    }
    const field = rest.length ? rest.map(String).join('.') : 'the document';
    if (issue.code === 'unrecognized_keys') {
      return {
        ...(stage !== undefined ? { stage } : {}),
        field: field === 'the document' ? 'top level' : field,
        problem: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`,
        fix: 'remove it or correct its spelling (fields are case-sensitive: dependsOn, params, retry, timeout, poll)',
      };
    }
    const received = valueAt(raw, path);
    return {
      ...(stage !== undefined ? { stage } : {}),
      field,
      received,
      problem: issue.message,
      fix: received === undefined ? `add ${field}` : `change ${field} to a valid value`,
    };
  });
}

function checkParams(stage: StageDefinition, rules: KindDescriptor, issues: PipelineIssue[]): void {
  const p = stage.params;
  for (const { field, hint } of rules.required) {
    const v = p[field];
    if (v === undefined || v === null || v === '') {
      issues.push({
        stage: stage.id,
        field: `params.${field}`,
        received: v,
        problem: `required by ${stage.kind} (${rules.api})`,
        fix: `add params.${field}: ${hint}`,
      });
    }
  }
  if (rules.oneOf) {
    const present = rules.oneOf.fields.filter((f) => p[f] !== undefined);
    if (present.length !== 1) {
      issues.push({
        stage: stage.id,
        field: `params.${rules.oneOf.fields.join('|')}`,
        received: present.length ? present : undefined,
        problem: present.length ? 'only one of these may be given' : `${stage.kind} needs one of these`,
        fix: `give exactly one of ${rules.oneOf.hint}`,
      });
    }
  }
  for (const { field, received, problem, fix } of rules.check?.(p, CHECK_CONTEXT) ?? []) {
    issues.push({ stage: stage.id, field: `params.${field}`, received, problem, fix });
  }
  for (const { field, why } of rules.reserved ?? []) {
    if (p[field] !== undefined) {
      issues.push({
        stage: stage.id,
        field: `params.${field}`,
        received: p[field],
        problem: 'set by Sluice',
        fix: `remove it: ${why}`,
      });
    }
  }
}

/**
 * Validates a parsed pipeline document (from YAML, JSON or TypeScript). Throws
 * {@link PipelineValidationError} listing every problem; returns the normalised definition.
 */
export function validatePipeline(raw: unknown, source = 'pipeline'): PipelineDefinition {
  const parsed = pipelineSchema.safeParse(raw);
  if (!parsed.success) throw new PipelineValidationError(source, zodIssues(raw, parsed.error));
  const doc = parsed.data;
  const issues: PipelineIssue[] = structureIssues(doc.stages);
  for (const stage of doc.stages) {
    if (isKind(stage.kind)) checkParams(stage as StageDefinition, KIND_RULES[stage.kind], issues);
    if (stage.pool !== undefined && stage.pool !== NO_POOL && isKind(stage.kind) && KIND_RULES[stage.kind].noPool) {
      issues.push({
        stage: stage.id,
        field: 'pool',
        received: stage.pool,
        problem: `${stage.kind} cannot take a pool: ${KIND_RULES[stage.kind].noPool}`,
        fix: 'remove pool from this stage',
      });
    }
    if (stage.expect) {
      if (!RESULT_KINDS.includes(stage.kind)) {
        issues.push({
          stage: stage.id,
          field: 'expect',
          received: stage.expect,
          problem: `${stage.kind} has no result rows to check`,
          fix: `remove expect, or use it on ${RESULT_KINDS.join(' or ')}`,
        });
      }
      for (const p of expectProblems(stage.expect)) {
        issues.push({
          stage: stage.id,
          field: p.field,
          received: p.received,
          problem: 'not a comparison',
          fix: 'write an operator and a value, e.g. ">0", ">= 1000", "== \'ok\'"',
        });
      }
    }
  }
  issues.push(...paramDefinitionIssues(doc.params));
  const notify = doc.notify !== undefined ? notifyProblem(doc.notify) : undefined;
  if (notify) issues.push(notify);
  issues.push(
    ...templateIssues(doc as PipelineDefinition, (kind) => (isKind(kind) ? KIND_RULES[kind].outputs : undefined)),
  );
  if (issues.length) throw new PipelineValidationError(source, issues);
  return doc as PipelineDefinition;
}

/** Builds a pipeline in TypeScript with the same checks as a YAML file. */
export function definePipeline(def: PipelineDefinition | z.input<typeof pipelineSchema>): PipelineDefinition {
  const name = (def as { name?: unknown }).name;
  return validatePipeline(def, `pipeline "${typeof name === 'string' ? name : '?'}"`);
}

/** Checks a logical date given on the command line or to the API. */
export function validateLogicalDate(value: string, field = '--date'): string {
  const problem = logicalDateProblem(value);
  if (problem) {
    throw new PipelineValidationError('the logical date', [
      { field, received: value, problem, fix: 'give a real calendar day as YYYY-MM-DD, e.g. 2024-03-01' },
    ]);
  }
  return value;
}
