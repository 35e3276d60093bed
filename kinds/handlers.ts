import type { StageKind } from './index';
import type { StageHandler } from '../activities/stage-handler';
import { athenaQuery } from './athena-query/handler';
import { databrewJob } from './databrew-job/handler';
import { dataPipelineActivate } from './datapipeline-activate/handler';
import { emrCluster } from './emr-cluster/handler';
import { emrServerlessJob } from './emr-serverless-job/handler';
import { emrStep } from './emr-step/handler';
import { emrTerminate } from './emr-terminate/handler';
import { firehosePut } from './firehose-put/handler';
import { glueCrawler } from './glue-crawler/handler';
import { glueJob } from './glue-job/handler';
import { kinesisPut } from './kinesis-put/handler';
import { lambdaInvoke } from './lambda-invoke/handler';
import { pipelineRun } from './pipeline-run/handler';
import { pipelineWait } from './pipeline-wait/handler';
import { quicksightRefresh } from './quicksight-refresh/handler';
import { redshiftSql } from './redshift-sql/handler';
import { s3Copy } from './s3-copy/handler';
import { s3Put } from './s3-put/handler';
import { s3Wait } from './s3-wait/handler';
import { sfnExecution } from './sfn-execution/handler';

/** Every handler, one line per kind (the activity side of kinds/index.ts; never imported by workflow code). */
const HANDLERS = [
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

/**
 * Every stage kind's handler by kind: the AWS calls. Each handler's `kind` is its descriptor's
 * (kinds/index.ts); test/unit/kinds-complete.test.ts checks every descriptor has exactly one.
 */
export const STAGE_HANDLERS = Object.fromEntries(HANDLERS.map((h) => [h.kind, h])) as Record<StageKind, StageHandler>;
