import type { StageKind } from '../../common/constants';
import type { StageHandler } from '../stage-handler';
import { athenaQuery } from './athena';
import { databrewJob } from './databrew';
import { emrStep } from './emr';
import { emrCluster, emrTerminate } from './emr-cluster';
import { emrServerlessJob } from './emr-serverless';
import { glueCrawler } from './glue-crawler';
import { glueJob } from './glue';
import { s3Put, s3Wait } from './s3';
import { s3Copy } from './s3-copy';
import { lambdaInvoke } from './lambda';
import { firehosePut, kinesisPut } from './streams';
import { dataPipelineActivate } from './datapipeline';
import { quicksightRefresh } from './quicksight';
import { redshiftSql } from './redshift';
import { sfnExecution } from './sfn';
import { pipelineRun } from './pipeline-run';
import { pipelineWait } from './pipeline-wait';

/**
 * Every stage kind's handler: the AWS calls. Typed by the descriptors' kinds (common/kinds/index.ts),
 * so the compiler refuses a kind without a handler or a handler without a descriptor.
 */
export const STAGE_HANDLERS: Record<StageKind, StageHandler> = {
  's3.put': s3Put,
  's3.wait': s3Wait,
  'glue.job': glueJob,
  'athena.query': athenaQuery,
  'glue.crawler': glueCrawler,
  'databrew.job': databrewJob,
  'emr.step': emrStep,
  'emr.cluster': emrCluster,
  'emr.terminate': emrTerminate,
  'emr-serverless.job': emrServerlessJob,
  's3.copy': s3Copy,
  'lambda.invoke': lambdaInvoke,
  'kinesis.put': kinesisPut,
  'firehose.put': firehosePut,
  'redshift.sql': redshiftSql,
  'sfn.execution': sfnExecution,
  'quicksight.refresh': quicksightRefresh,
  'datapipeline.activate': dataPipelineActivate,
  'pipeline.wait': pipelineWait,
  'pipeline.run': pipelineRun,
};
