/**
 * The registration of the stage kinds' descriptors (kinds/<kind>/kind.ts): its params rules, output
 * fields, service states, events, usage, stop call, IAM grants and whether it is a sensor, returns
 * rows or runs as a child workflow. Validation (common/pipeline.ts), the workflows, push completion
 * (common/stage-events.ts) and the IAM derivation (infra/cdk/permissions.ts) all read them; no code
 * outside a kind's folder names it. Pure: workflow code imports this module, so no descriptor may
 * import zod, the AWS SDK, a Node built-in, common/constants.ts (which re-exports the names below)
 * or a handler.ts (eslint.config.mjs).
 *
 * Adding a kind: a folder kinds/<kind>/ with kind.ts (defineKind), handler.ts (the AWS calls) and
 * README.md (its docs page); one line in DESCRIPTORS below and one in STAGE_HANDLERS
 * (kinds/handlers.ts), which the compiler requires to have one handler per kind; its emulator in
 * infra/local/gateway/kinds/<kind>.ts, listed in infra/local/gateway/kinds/index.ts.
 * test/unit/kinds-complete.test.ts checks the folder is complete.
 */
import { athenaQuery } from './athena-query/kind';
import { databrewJob } from './databrew-job/kind';
import { dataPipelineActivate } from './datapipeline-activate/kind';
import { emrCluster } from './emr-cluster/kind';
import { emrServerlessJob } from './emr-serverless-job/kind';
import { emrStep } from './emr-step/kind';
import { emrTerminate } from './emr-terminate/kind';
import { firehosePut } from './firehose-put/kind';
import { glueCrawler } from './glue-crawler/kind';
import { glueJob } from './glue-job/kind';
import { kinesisPut } from './kinesis-put/kind';
import { lambdaInvoke } from './lambda-invoke/kind';
import { pipelineRun } from './pipeline-run/kind';
import { pipelineWait } from './pipeline-wait/kind';
import { quicksightRefresh } from './quicksight-refresh/kind';
import { redshiftSql } from './redshift-sql/kind';
import { s3Copy } from './s3-copy/kind';
import { s3Put } from './s3-put/kind';
import { s3Wait } from './s3-wait/kind';
import { sfnExecution } from './sfn-execution/kind';
import type { KindDescriptor } from './types';

export type {
  ArnContext,
  CheckContext,
  Grant,
  GrantContext,
  KindDescriptor,
  KindEvent,
  None,
  Outcome,
  ParamProblem,
  StateTable,
  Usage,
} from './types';
export { isNone, outcomeOf, terminalStates } from './types';

/** Every kind, in the order error messages list them. */
const DESCRIPTORS = [
  s3Put,
  s3Wait,
  glueJob,
  athenaQuery,
  s3Copy,
  lambdaInvoke,
  kinesisPut,
  firehosePut,
  glueCrawler,
  databrewJob,
  emrStep,
  emrCluster,
  emrTerminate,
  emrServerlessJob,
  redshiftSql,
  sfnExecution,
  quicksightRefresh,
  dataPipelineActivate,
  pipelineWait,
  pipelineRun,
] as const;

export type StageKind = (typeof DESCRIPTORS)[number]['kind'];

export const KINDS = Object.fromEntries(DESCRIPTORS.map((d) => [d.kind, d])) as {
  readonly [K in StageKind]: KindDescriptor<K>;
};

export const STAGE_KINDS: readonly StageKind[] = DESCRIPTORS.map((d) => d.kind);

const kindsWhere = (has: (d: KindDescriptor) => boolean | undefined): readonly string[] =>
  DESCRIPTORS.filter((d: KindDescriptor) => has(d)).map((d) => d.kind);

/**
 * Sensors: stages that wait for something to exist (an S3 object, another pipeline's run). Their
 * deadline is the stage's `timeout.total`, passed to the activity so it fails with a clear
 * SensorTimeoutError instead of timing out.
 */
export const SENSOR_KINDS = kindsWhere((d) => d.sensor);

/**
 * Kinds that run as a child workflow, not an activity: `pipeline.run` (a sub-pipeline's run for the
 * same date). Cancelling the run cancels the child, whose own sweep stops its jobs.
 */
export const CHILD_RUN_KINDS = kindsWhere((d) => d.childRun);

/** Kinds whose result has rows (`rowCount`, `firstRows`), so an `expect` check can gate on them. */
export const RESULT_KINDS = kindsWhere((d) => d.resultRows);
