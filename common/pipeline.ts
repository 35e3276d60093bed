/**
 * The pipeline definition format: its zod schema, its TypeScript types, and the checks that
 * reject a bad pipeline before anything starts. Pure (zod only, no Node built-ins), so the
 * CLI, the worker and tests share one definition; workflow code imports the types only.
 */
import { z } from 'zod';

export { formatIssues, structureIssues, topologicalOrder, type PipelineIssue } from './pipeline-structure';
import { expectProblems, type ExpectSpec } from './checks';
import { RESULT_KINDS, type StageKind } from './constants';
import { logicalDateProblem } from './dates';
import { formatIssues, isKind, structureIssues, type PipelineIssue } from './pipeline-structure';
import { FAN_OUT_LIMITS, type ForEachSpec } from './fan-out';
import { PARAM_TYPES, paramDefinitionIssues, resolveParams, type ParamDefinitions } from './params';
import { TRIGGER_RULES, type TriggerRule } from './scheduling';
import { templateIssues } from './pipeline-templates';

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
const NAME = /^[a-z0-9][a-z0-9_-]*$/;

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
  name: z.string().regex(NAME, {
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
}

export interface PipelineDefinition {
  name: string;
  description?: string;
  defaults?: { retry?: RetrySpec; timeout?: TimeoutSpec; poll?: PollSpec };
  /** Run parameters, by name. */
  params?: ParamDefinitions;
  stages: StageDefinition[];
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

/** Per kind: the params the AWS start call cannot do without, and Sluice's own rules. */
interface KindRules {
  api: string;
  /**
   * The fields of the stage's output, usable downstream as `{{ stages.<id>.output.<field> }}`
   * (README, "Stage kinds"). Some appear only when AWS reports them.
   */
  outputs: readonly string[];
  required: { field: string; hint: string }[];
  /** Exactly one of these must be present. */
  oneOf?: { fields: string[]; hint: string };
  /** Fields Sluice sets itself. */
  reserved?: { field: string; why: string }[];
  /** Kind-specific checks beyond the above (fields that go together, the shape of a list). */
  check?: (params: Record<string, unknown>) => ParamProblem[];
}

/** A problem found by a kind's `check`; `field` is relative to params. */
interface ParamProblem {
  field: string;
  received?: unknown;
  problem: string;
  fix: string;
}

/** Problems with a `Records` list of kinesis.put / firehose.put (AWS's record shape: Data, and PartitionKey for Kinesis). */
function recordsProblems(params: Record<string, unknown>, kinesis: boolean): ParamProblem[] {
  const records = params.Records;
  if (records === undefined) return [];
  const shape = kinesis ? '{ Data: ..., PartitionKey: ... }' : '{ Data: ... }';
  if (!Array.isArray(records) || records.length === 0) {
    return [
      {
        field: 'Records',
        received: records,
        problem: 'expected a non-empty list of records',
        fix: `give a list of records such as ${shape}, or use RecordsFile`,
      },
    ];
  }
  const out: ParamProblem[] = [];
  records.forEach((r: unknown, i) => {
    const rec = r !== null && typeof r === 'object' && !Array.isArray(r) ? (r as Record<string, unknown>) : undefined;
    if (rec?.Data === undefined || rec.Data === null) {
      out.push({
        field: `Records[${i}]`,
        received: r,
        problem: 'a record needs Data (a string, or any value sent as JSON)',
        fix: `write it as ${shape}`,
      });
    } else if (kinesis && rec.PartitionKey !== undefined && typeof rec.PartitionKey !== 'string') {
      out.push({
        field: `Records[${i}].PartitionKey`,
        received: rec.PartitionKey,
        problem: 'expected a string',
        fix: 'quote it',
      });
    }
  });
  return out;
}

export const KIND_RULES: Record<StageKind, KindRules> = {
  's3.put': {
    api: 'S3 PutObject',
    outputs: ['uri', 'bytes', 'etag', 'versionId'],
    required: [
      { field: 'Bucket', hint: 'the bucket name' },
      { field: 'Key', hint: 'the object key, e.g. raw/{{ ds }}/data.csv' },
    ],
    oneOf: { fields: ['Body', 'BodyFile'], hint: 'Body (inline text) or BodyFile (a file the worker can read)' },
  },
  's3.wait': {
    api: 'S3 HeadObject / ListObjectsV2',
    outputs: ['uri'],
    required: [{ field: 'Bucket', hint: 'the bucket name' }],
    oneOf: { fields: ['Key', 'Prefix'], hint: 'Key (one object) or Prefix (any object under it)' },
  },
  'glue.job': {
    api: 'Glue StartJobRun',
    outputs: ['jobRunId', 'jobName'],
    required: [{ field: 'JobName', hint: 'the name of an existing Glue job' }],
  },
  'athena.query': {
    api: 'Athena StartQueryExecution',
    outputs: [
      'queryExecutionId',
      'rowCount',
      'rowCountComplete',
      'columns',
      'rows',
      'rowsComplete',
      'firstRows',
      'firstValue',
      'resultLocation',
    ],
    required: [{ field: 'QueryString', hint: 'the SQL to run' }],
    reserved: [
      {
        field: 'ClientRequestToken',
        why: 'Sluice derives it from the stage idempotency key so a retry never runs the query twice',
      },
    ],
  },
  'glue.crawler': {
    api: 'Glue StartCrawler',
    outputs: ['crawlerName', 'crawlId', 'startTime', 'endTime', 'dpuHour', 'crawlSummary'],
    required: [{ field: 'Name', hint: 'the name of an existing Glue crawler' }],
  },
  'databrew.job': {
    api: 'DataBrew StartJobRun',
    outputs: ['runId', 'jobName', 'datasetName', 'executionTimeSeconds', 'outputs'],
    required: [{ field: 'Name', hint: 'the name of an existing DataBrew recipe or profile job' }],
  },
  'emr.step': {
    api: 'EMR AddJobFlowSteps',
    outputs: ['clusterId', 'stepId', 'stepName', 'seconds'],
    required: [
      { field: 'JobFlowId', hint: 'the id of a running cluster, e.g. j-2AXXXXXXGAPLF' },
      { field: 'Steps', hint: 'a list of exactly one step: [{ Name, ActionOnFailure, HadoopJarStep: { Jar, Args } }]' },
    ],
    check: (p) => {
      const steps = p.Steps;
      if (steps === undefined || steps === null || steps === '') return [];
      if (!Array.isArray(steps) || steps.length !== 1) {
        return [
          {
            field: 'Steps',
            received: steps,
            problem: 'emr.step runs exactly one step',
            fix: 'give a list of one step; use one stage per step (dependsOn orders them)',
          },
        ];
      }
      const step: unknown = steps[0];
      const hadoop =
        step !== null && typeof step === 'object' ? (step as Record<string, unknown>).HadoopJarStep : undefined;
      if (hadoop === null || typeof hadoop !== 'object' || !(hadoop as Record<string, unknown>).Jar) {
        return [
          {
            field: 'Steps[0].HadoopJarStep.Jar',
            received: hadoop,
            problem: 'required by EMR AddJobFlowSteps',
            fix: 'add HadoopJarStep: { Jar: command-runner.jar, Args: [spark-submit, ...] }',
          },
        ];
      }
      return [];
    },
  },
  'emr-serverless.job': {
    api: 'EMR Serverless StartJobRun',
    outputs: ['jobRunId', 'applicationId', 'name', 'executionSeconds', 'resourceUtilization'],
    required: [
      { field: 'applicationId', hint: 'the id of an EMR Serverless application' },
      { field: 'executionRoleArn', hint: 'the ARN of the job runtime role' },
      { field: 'jobDriver', hint: 'e.g. { sparkSubmit: { entryPoint: s3://bucket/job.py } }' },
    ],
    reserved: [
      {
        field: 'clientToken',
        why: 'Sluice derives it from the stage idempotency key so a retry never starts the job twice',
      },
    ],
  },
  's3.copy': {
    api: 'S3 CopyObject',
    outputs: ['from', 'to', 'objects', 'bytes', 'etag', 'versionId', 'resumedAfter'],
    required: [{ field: 'Bucket', hint: 'the destination bucket' }],
    oneOf: {
      fields: ['CopySource', 'SourcePrefix'],
      hint: 'CopySource (one object, "bucket/key") or SourcePrefix (every object under it)',
    },
    check: (p) => {
      const out: ParamProblem[] = [];
      if (p.CopySource !== undefined) {
        if (p.Key === undefined || p.Key === '')
          out.push({
            field: 'Key',
            received: p.Key,
            problem: 'required to copy one object (CopySource)',
            fix: 'add params.Key: the destination key',
          });
        for (const f of ['SourceBucket', 'Prefix'] as const) {
          if (p[f] !== undefined)
            out.push({
              field: f,
              received: p[f],
              problem: 'only for a prefix copy (SourcePrefix)',
              fix: `remove ${f}, or copy a prefix with SourcePrefix instead of CopySource`,
            });
        }
      } else if (p.SourcePrefix !== undefined) {
        if (typeof p.Prefix !== 'string')
          out.push({
            field: 'Prefix',
            received: p.Prefix,
            problem: 'required to copy a prefix (SourcePrefix)',
            fix: 'add params.Prefix: where the copies go, e.g. curated/{{ ds }}/ ("" for the bucket root)',
          });
        if (p.Key !== undefined)
          out.push({
            field: 'Key',
            received: p.Key,
            problem: 'only for one object (CopySource)',
            fix: "remove Key; a prefix copy keeps each key's part after SourcePrefix, under Prefix",
          });
      }
      return out;
    },
  },
  'lambda.invoke': {
    api: 'Lambda Invoke',
    outputs: [
      'payload',
      'payloadBytes',
      'payloadTruncated',
      'StatusCode',
      'ExecutedVersion',
      'functionName',
      'requestId',
    ],
    required: [{ field: 'FunctionName', hint: 'the function name, ARN, or name:alias' }],
    reserved: [
      {
        field: 'InvocationType',
        why: 'Sluice invokes with RequestResponse and waits for the answer, so a FunctionError fails the stage',
      },
    ],
  },
  'kinesis.put': {
    api: 'Kinesis PutRecords',
    outputs: ['target', 'records', 'bytes', 'batches', 'resent', 'resumedAfterBatch'],
    required: [],
    oneOf: {
      fields: ['Records', 'RecordsFile'],
      hint: 'Records (a list of { Data, PartitionKey }) or RecordsFile (one record per line, relative to the pipeline file)',
    },
    check: (p) => [
      ...((p.StreamName === undefined) === (p.StreamARN === undefined)
        ? [
            {
              field: 'StreamName|StreamARN',
              received: p.StreamName ?? p.StreamARN,
              problem: 'kinesis.put needs exactly one of these',
              fix: 'give StreamName (the stream name) or StreamARN',
            },
          ]
        : []),
      ...recordsProblems(p, true),
    ],
  },
  'firehose.put': {
    api: 'Firehose PutRecordBatch',
    outputs: ['target', 'records', 'bytes', 'batches', 'resent', 'resumedAfterBatch'],
    required: [{ field: 'DeliveryStreamName', hint: 'the Firehose stream name' }],
    oneOf: {
      fields: ['Records', 'RecordsFile'],
      hint: 'Records (a list of { Data }) or RecordsFile (one record per line, relative to the pipeline file)',
    },
    check: (p) => recordsProblems(p, false),
  },
  'redshift.sql': {
    api: 'Redshift Data ExecuteStatement / BatchExecuteStatement',
    outputs: [
      'statementId',
      'resultStatementId',
      'rowCount',
      'rowCountComplete',
      'columns',
      'rows',
      'rowsComplete',
      'firstRows',
      'firstValue',
    ],
    required: [{ field: 'Database', hint: 'the database name, e.g. dev' }],
    oneOf: {
      fields: ['Sql', 'Sqls'],
      hint: 'Sql (one statement: ExecuteStatement) or Sqls (a list run in one transaction: BatchExecuteStatement)',
    },
    reserved: [
      {
        field: 'ClientToken',
        why: 'Sluice derives it from the stage idempotency key so a retry never runs the SQL twice',
      },
    ],
    check: (p) =>
      (p.ClusterIdentifier === undefined) === (p.WorkgroupName === undefined)
        ? [
            {
              field: 'ClusterIdentifier|WorkgroupName',
              received: p.ClusterIdentifier ?? p.WorkgroupName,
              problem: 'redshift.sql needs exactly one of these',
              fix: 'give ClusterIdentifier (a provisioned cluster, with DbUser or SecretArn) or WorkgroupName (Redshift Serverless, optionally with SecretArn)',
            },
          ]
        : [],
  },
  'sfn.execution': {
    api: 'Step Functions StartExecution',
    outputs: ['executionArn', 'output', 'outputPreview', 'outputChars'],
    required: [
      {
        field: 'stateMachineArn',
        hint: 'the ARN of the state machine, arn:aws:states:<region>:<account>:stateMachine:<name>',
      },
    ],
    reserved: [
      {
        field: 'name',
        why: 'Sluice derives the execution name from the stage idempotency key: that name is what makes the start idempotent',
      },
    ],
  },
  'quicksight.refresh': {
    api: 'QuickSight CreateIngestion',
    outputs: ['ingestionId', 'dataSetId', 'rowsIngested', 'rowsDropped', 'seconds'],
    required: [
      { field: 'AwsAccountId', hint: 'the 12-digit AWS account id that owns the data set' },
      { field: 'DataSetId', hint: 'the id of the SPICE data set to refresh' },
    ],
    reserved: [
      {
        field: 'IngestionId',
        why: 'Sluice derives it from the stage idempotency key so a retry adopts the ingestion instead of starting another',
      },
    ],
  },
  'datapipeline.activate': {
    api: 'Data Pipeline ActivatePipeline',
    outputs: ['pipelineId', 'scheduledStartTime', 'instances'],
    required: [
      { field: 'pipelineId', hint: 'the id of an existing pipeline with a definition, e.g. df-0123456789ABCDEFGHIJ' },
    ],
  },
  'emr.cluster': {
    api: 'EMR RunJobFlow',
    outputs: ['clusterId', 'clusterArn', 'name', 'state', 'masterPublicDnsName', 'releaseLabel', 'secondsToReady'],
    required: [
      { field: 'Name', hint: 'the cluster name' },
      {
        field: 'Instances',
        hint: '{ InstanceGroups or MasterInstanceType/SlaveInstanceType/InstanceCount, KeepJobFlowAliveWhenNoSteps: true }',
      },
      { field: 'JobFlowRole', hint: 'the EC2 instance profile, e.g. EMR_EC2_DefaultRole' },
      { field: 'ServiceRole', hint: 'the EMR service role, e.g. EMR_DefaultRole' },
    ],
    check: (p) => {
      const out: ParamProblem[] = [];
      const inst = p.Instances;
      const keep =
        inst !== null && typeof inst === 'object'
          ? (inst as Record<string, unknown>).KeepJobFlowAliveWhenNoSteps
          : true;
      if (keep !== true && !(typeof keep === 'string' && keep.includes('{{')))
        out.push({
          field: 'Instances.KeepJobFlowAliveWhenNoSteps',
          received: keep,
          problem: 'without it the cluster ends by itself once it has no steps, under the stages that use it',
          fix: 'set KeepJobFlowAliveWhenNoSteps: true and end the cluster with an emr.terminate stage (trigger: all_done)',
        });
      const tags = p.Tags;
      if (tags !== undefined && !Array.isArray(tags))
        out.push({ field: 'Tags', received: tags, problem: 'expected a list', fix: 'write Tags as [{ Key, Value }]' });
      if (Array.isArray(tags))
        tags.forEach((t: unknown, i) => {
          const key = t !== null && typeof t === 'object' ? (t as Record<string, unknown>).Key : undefined;
          if (typeof key === 'string' && key.startsWith('sluice:'))
            out.push({
              field: `Tags[${i}].Key`,
              received: key,
              problem: 'set by Sluice',
              fix: 'remove it: Sluice tags the cluster with its pipeline and the stage idempotency key (sluice:*), so a retry finds the cluster instead of starting another',
            });
        });
      return out;
    },
  },
  'emr.terminate': {
    api: 'EMR TerminateJobFlows',
    outputs: ['clusterId', 'state', 'withErrors', 'stateChangeReason', 'endTime'],
    required: [
      {
        field: 'ClusterId',
        hint: 'the cluster to end, usually "{{ stages.<id>.output.clusterId }}" of an emr.cluster stage',
      },
    ],
  },
  'pipeline.wait': {
    api: 'Temporal (no AWS calls)',
    outputs: ['workflowId', 'runId', 'status', 'closedAt'],
    required: [{ field: 'pipeline', hint: 'the name of the pipeline whose run to wait for, e.g. clickstream-ingest' }],
    // A templated value is checked once rendered, by the activity (activities/kinds/pipeline-wait.ts).
    check: (p) => {
      const out: ParamProblem[] = [];
      for (const field of Object.keys(p)) {
        if (field !== 'pipeline' && field !== 'date')
          out.push({
            field,
            received: p[field],
            problem: 'pipeline.wait takes only pipeline and date',
            fix: `remove ${field}, or correct its spelling (pipeline, date)`,
          });
      }
      const { pipeline, date } = p;
      if (pipeline !== undefined && pipeline !== null && pipeline !== '') {
        if (typeof pipeline !== 'string')
          out.push({ field: 'pipeline', received: pipeline, problem: 'expected a pipeline name', fix: 'quote it' });
        else if (!pipeline.includes('{{') && !NAME.test(pipeline))
          out.push({
            field: 'pipeline',
            received: pipeline,
            problem: 'not a pipeline name: lower-case letters, digits, "_" or "-", starting with a letter or digit',
            fix: "give the other pipeline's name as in its file (name:)",
          });
      }
      if (date !== undefined) {
        const problem =
          typeof date !== 'string'
            ? 'expected a date written YYYY-MM-DD'
            : date.includes('{{')
              ? undefined
              : logicalDateProblem(date);
        if (problem)
          out.push({
            field: 'date',
            received: date,
            problem,
            fix: 'give the date of the run to wait for as YYYY-MM-DD or a template such as "{{ prev_ds }}" (quoted), or leave it out for the run\'s own date ({{ ds }})',
          });
      }
      return out;
    },
  },
  'pipeline.run': {
    api: 'Temporal (a child run of another pipeline; no AWS calls of its own)',
    outputs: ['workflowId', 'runId', 'status', 'stages'],
    required: [
      {
        field: 'pipeline',
        hint: 'the sub-pipeline file, relative to this one (e.g. ./load-table.yaml); in TypeScript its definePipeline(...)',
      },
    ],
    check: (p) => subPipelineProblems(p),
  },
};

/**
 * pipeline.run: `pipeline` is the sub-pipeline's definition (the loader replaced its file path with
 * it), valid in itself; `params` are the sub-pipeline's run parameters: declared names, literal
 * values of the declared type, every required one given.
 */
function subPipelineProblems(p: Record<string, unknown>): ParamProblem[] {
  const out: ParamProblem[] = [];
  for (const field of Object.keys(p))
    if (field !== 'pipeline' && field !== 'params')
      out.push({
        field,
        received: p[field],
        problem: 'pipeline.run takes only pipeline and params',
        fix: `remove ${field}, or correct its spelling (pipeline, params)`,
      });
  const sub = p.pipeline;
  if (sub === undefined || sub === null || sub === '') return out;
  if (typeof sub === 'string') {
    out.push({
      field: 'pipeline',
      received: sub,
      problem: 'a file path is read only when the pipeline is loaded from a file (sluice CLI, loadPipelineFile)',
      fix: 'in TypeScript give the sub-pipeline itself: pipeline: definePipeline({...}) or loadPipelineFile(path)',
    });
    return out;
  }
  let def: PipelineDefinition;
  try {
    def = validatePipeline(sub, 'the sub-pipeline');
  } catch (err) {
    if (!(err instanceof PipelineValidationError)) throw err;
    out.push({
      field: 'pipeline',
      received: (sub as { name?: unknown }).name,
      problem: err.message.replace(/\n/g, ' '),
      fix: 'fix the sub-pipeline file',
    });
    return out;
  }
  const given = p.params;
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    out.push({
      field: 'params',
      received: given,
      problem: 'expected a map of name: value',
      fix: 'write params: { table: orders }',
    });
    return out;
  }
  // Templated values are checked when the run renders them (the sub-run refuses a wrong type).
  const literal = Object.fromEntries(
    Object.entries((given ?? {}) as Record<string, unknown>).filter(
      ([, v]) => !(typeof v === 'string' && v.includes('{{')),
    ),
  );
  const templated = Object.keys((given ?? {}) as Record<string, unknown>).filter((k) => !(k in literal));
  for (const issue of resolveParams(def.params, literal).issues) {
    const name = issue.field.replace(/^--param /, '');
    if (templated.includes(name)) continue;
    out.push({
      field: `params.${name}`,
      received: issue.received,
      problem: `${issue.problem} (sub-pipeline ${def.name})`,
      fix: issue.fix.replace(/--param (\w+)=(\S+)/, 'params: { $1: $2 }'),
    });
  }
  return out;
}

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

function checkParams(stage: StageDefinition, rules: KindRules, issues: PipelineIssue[]): void {
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
  for (const { field, received, problem, fix } of rules.check?.(p) ?? []) {
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
