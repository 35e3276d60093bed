/**
 * The shape of a stage kind's descriptor (kinds/<kind>/kind.ts, registered in kinds/index.ts). Types
 * and pure helpers only: the descriptors must stay free of zod, the AWS SDK, Node built-ins,
 * common/constants.ts (which re-exports from them) and every handler.ts, since workflow code
 * imports them (eslint.config.mjs keeps it so).
 */
import type { PipelineDefinition, StageDefinition } from '../common/pipeline';

/** A problem found by a kind's `check`; `field` is relative to params. */
export interface ParamProblem {
  field: string;
  received?: unknown;
  problem: string;
  fix: string;
}

/** What a kind's `check` may call beyond its params (given by validatePipeline, common/pipeline.ts). */
export interface CheckContext {
  /** Validates a sub-pipeline's definition: the definition, or the validation message. */
  validateSubPipeline: (raw: unknown) => { definition: PipelineDefinition } | { error: string };
}

/** One IAM statement of the worker task role. */
export interface Grant {
  /** Why: the pipeline, stage and kind it is for. */
  sid: string;
  actions: string[];
  resources: string[];
  conditions?: Record<string, Record<string, string | string[]>>;
}

export interface ArnContext {
  /** Region and account (tokens in a stack, literals in tests). */
  region: string;
  account: string;
  partition?: string;
}

/** What a kind's `grants` receive: the stage's params and helpers that build its statements (infra/cdk/permissions.ts). */
export interface GrantContext {
  /** The stage's params. */
  p: Record<string, unknown>;
  pipeline: string;
  partition: string;
  region: string;
  account: string;
  /** A statement for this stage. */
  g: (actions: string[], resources: string[], conditions?: Grant['conditions']) => Grant;
  arn: (service: string, resource: string, region?: string, account?: string) => string;
  s3: (bucket: string, key?: string) => string;
  /** A string param with its templates widened to `*`; undefined when absent or empty. */
  str: (p: Record<string, unknown>, key: string) => string | undefined;
  /** A param value with its templates (the date, run params, stage outputs) widened to `*`. */
  pattern: (v: unknown) => string;
  s3Uri: (uri: string) => { bucket: string; key: string } | undefined;
  /** An IAM role ARN from a role name, a role ARN, or an instance profile (named like its role, as EMR's defaults are). */
  roleArn: (v: string, partition: string, account: string) => string;
  /** The clusters started by this pipeline's emr.cluster stages carry its name in a tag. */
  ownClusters: NonNullable<Grant['conditions']>;
  /** Actions on the cluster a param names: that cluster, or the pipeline's own clusters when an emr.cluster stage started it. */
  onCluster: (actions: string[], v: unknown) => Grant;
  /** The grants of another pipeline's stage (pipeline.run: the sub-pipeline's stages). */
  stageGrants: (pipeline: string, stage: StageDefinition, stages: readonly StageDefinition[]) => Grant[];
}

/** What a service state means for the stage: still going, or how it ended. */
export type Outcome = 'running' | 'succeeded' | 'failed' | 'stopped' | 'timeout';

/** A service's states, each with its outcome: the one table the handler and the events both read. */
export type StateTable = Readonly<Record<string, Outcome>>;

/** An explicit "not for this kind", saying why (no job states, no events, no usage figure, nothing to stop). */
export interface None {
  none: string;
}

export const isNone = (v: unknown): v is None =>
  typeof v === 'object' && v !== null && typeof (v as { none?: unknown }).none === 'string';

/** An EventBridge event type that ends a job of the kind (common/stage-events.ts reads them). */
export interface KindEvent {
  source: string;
  detailType: string;
  /** The detail field holding the state. */
  stateField: string;
  /** The detail fields that name the job, in the order of the handler's watch key. */
  ids: readonly string[];
  /** The states the events report, when they are not the kind's own (`states`); terminal = not `running`. */
  states?: StateTable;
}

/** What a stage's job costs: the figures it reports (StageUsage) and the price table entry (common/prices.ts). */
export interface Usage {
  /** The entry of PriceTable the figures are priced by. */
  prices: 'glue' | 'athena' | 'emrServerless' | 'lambda';
  /** Where the figures come from. */
  figures: string;
}

/** The outcome of a service state: unknown states are taken as still running (the service's next answer decides). */
export function outcomeOf(states: StateTable | None, awsState: string): Outcome {
  return isNone(states) ? 'running' : (states[awsState] ?? 'running');
}

/** The states that end a job: those whose outcome is not `running`. */
export function terminalStates(states: StateTable): string[] {
  return Object.entries(states)
    .filter(([, o]) => o !== 'running')
    .map(([s]) => s);
}

/** Everything Sluice knows about one stage kind, except its AWS code (kinds/<kind>/handler.ts). */
export interface KindDescriptor<K extends string = string> {
  kind: K;
  /** The AWS API the handler calls (error messages, README). */
  api: string;
  /**
   * The fields of the stage's output, usable downstream as `{{ stages.<id>.output.<field> }}`
   * (README, "Stage kinds"). Some appear only when AWS reports them.
   */
  outputs: readonly string[];
  /** The params the AWS start call cannot do without. */
  required: { field: string; hint: string }[];
  /** Exactly one of these must be present. */
  oneOf?: { fields: string[]; hint: string };
  /** Fields Sluice sets itself. */
  reserved?: { field: string; why: string }[];
  /** Kind-specific checks beyond the above (fields that go together, the shape of a list). */
  check?: (params: Record<string, unknown>, ctx: CheckContext) => ParamProblem[];
  /**
   * A sensor waits for something to exist (an S3 object, another pipeline's run). Its deadline is
   * the stage's `timeout.total`, passed to the activity so it fails with a clear SensorTimeoutError.
   */
  sensor?: true;
  /** Its result has rows (`rowCount`, `firstRows`), so an `expect` check can gate on them. */
  resultRows?: true;
  /** Runs as a child workflow, not an activity (cancelling the run cancels the child). */
  childRun?: true;
  /**
   * The stage's default pool (common/pools.ts): the resource whose limit AWS enforces, named
   * `<service>:<resource>` (e.g. `glue:<JobName>`), from the params as rendered for the run. The
   * pool learns its slots from AWS (the handler's `capacity`). Absent: no default pool.
   */
  defaultPool?: (params: Record<string, unknown>) => string | undefined;
  /**
   * Set when the default pool came to the kind after runs with its stages could be in flight: the
   * patch id under which its stages ask that pool (a run that reached the stage before replays
   * without the ask). A kind that had its default pool from the start of pools has none.
   */
  defaultPoolPatch?: string;
  /** Why a `pool` cannot apply to this kind (it waits on something else, or is a child run). */
  noPool?: string;
  /** The worker role's permissions for one stage: the exact actions its handler calls, on the narrowest resources. */
  grants: (ctx: GrantContext) => Grant[];
  /** Every IAM action `grants` may give (kinds-complete.test.ts checks `grants` stays within it). */
  iam: readonly string[] | None;
  /** The service's states for the kind's job and the outcome of each (the handler maps through it). */
  states: StateTable | None;
  /** The EventBridge events that end its job (push completion), or why it is polled. */
  events: readonly KindEvent[] | None;
  /** Its usage figures and their price, or why there is no figure. */
  usage: Usage | None;
  /** The call that stops its job on cancel, or why there is nothing to stop. */
  stop: string | None;
  /**
   * It runs a sub-pipeline: `pipeline` names the param holding it (a file path, replaced by its
   * validated definition when the file is loaded), `params` the one holding its run params. The
   * sub-pipeline's templates are its own run's: only its run params are rendered for this run.
   */
  subPipeline?: { pipeline: string; params: string };
  /**
   * It starts an EMR cluster tagged with the pipeline's name: a param that names exactly
   * `{{ stages.<id>.output.clusterId }}` of such a stage is one of the pipeline's own clusters (IAM).
   */
  startsOwnCluster?: true;
}

/** Declares a descriptor, keeping its kind's literal type. */
export function defineKind<K extends string>(d: KindDescriptor<K>): KindDescriptor<K> {
  return d;
}

/** Pipeline names: lower-case letters, digits, "_" or "-", starting with a letter or digit. */
export const PIPELINE_NAME = /^[a-z0-9][a-z0-9_-]*$/;
