/**
 * One descriptor per stage kind: its params rules, output fields, IAM grants and whether it is a
 * sensor, returns rows or runs as a child workflow. Validation (common/pipeline.ts), the workflows
 * (SENSOR_KINDS, CHILD_RUN_KINDS) and the IAM derivation (infra/cdk/permissions.ts) all read them.
 * Pure: workflow code imports this module, so no descriptor may import zod, the AWS SDK, a Node
 * built-in or common/constants.ts (which re-exports the names below).
 *
 * Adding a kind: write its descriptor in common/kinds/<file>.ts (defineKind) and list it in
 * DESCRIPTORS below; write its handler (the AWS calls) in activities/kinds/<file>.ts and add it to
 * STAGE_HANDLERS (activities/kinds/index.ts), which the compiler requires to have one handler per
 * kind; then its emulator in the local stack, and its tests.
 */
import { athenaQuery } from './athena';
import { databrewJob } from './databrew';
import { dataPipelineActivate } from './datapipeline';
import { emrStep } from './emr';
import { emrCluster, emrTerminate } from './emr-cluster';
import { emrServerlessJob } from './emr-serverless';
import { glueJob } from './glue';
import { glueCrawler } from './glue-crawler';
import { lambdaInvoke } from './lambda';
import { pipelineRun } from './pipeline-run';
import { pipelineWait } from './pipeline-wait';
import { quicksightRefresh } from './quicksight';
import { redshiftSql } from './redshift';
import { s3Put, s3Wait } from './s3';
import { s3Copy } from './s3-copy';
import { sfnExecution } from './sfn';
import { firehosePut, kinesisPut } from './streams';
import type { KindDescriptor } from './types';

export type { ArnContext, CheckContext, Grant, GrantContext, KindDescriptor, ParamProblem } from './types';

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
