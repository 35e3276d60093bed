import type { StageKind } from '../../common/constants';
import type { StageHandler } from '../stage-handler';
import { athenaQuery } from './athena';
import { glueJob } from './glue';
import { s3Put, s3Wait } from './s3';

/** Every stage kind's handler. Adding a kind means one handler here and its rules in common/pipeline.ts. */
export const STAGE_HANDLERS: Record<StageKind, StageHandler> = {
  's3.put': s3Put,
  's3.wait': s3Wait,
  'glue.job': glueJob,
  'athena.query': athenaQuery,
};
