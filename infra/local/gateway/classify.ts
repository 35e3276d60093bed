/**
 * Works out which AWS service and operation a request is, so calls can be counted and faults
 * targeted at "glue StartJobRun" or "s3 PutObject" whether the gateway answers or moto does.
 *  - awsJson protocols (Glue, Athena, EMR, SFN, ...): the X-Amz-Target header, "AWSGlue.StartJobRun".
 *  - S3 (REST/XML, path-style): method + path + sub-resource query keys + x-amz-copy-source.
 *  - REST-JSON operations listed in REST_OPERATIONS (DataBrew, EMR Serverless): service from the
 *    credential scope, operation by name from method + path, resource from the first path label.
 *  - anything else: service from the SigV4 credential scope, operation "METHOD /path".
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isObject } from './aws.js';

export type Protocol = 'json' | 'rest' | 's3' | 'other';

export interface Classified {
  service: string;
  operation: string;
  protocol: Protocol;
  /** For awsJson: the X-Amz-Target prefix ("AWSGlue"). */
  targetPrefix?: string;
  /** S3 bucket or REST resource (known from the path); JSON resources are read from the body later. */
  resource?: string;
  /** For REST-JSON: the path labels, e.g. {Name, RunId}. */
  pathParams?: Record<string, string>;
}

/**
 * REST-JSON operations by service (credential-scope name): [method, path template, operation].
 * The first label of the path is the call's resource (DataBrew job name, EMR Serverless application id).
 */
const REST_OPERATIONS: Record<string, [string, string, string][]> = {
  databrew: [
    ['POST', '/jobs/{Name}/startJobRun', 'StartJobRun'],
    ['GET', '/jobs/{Name}/jobRun/{RunId}', 'DescribeJobRun'],
    ['POST', '/jobs/{Name}/jobRun/{RunId}/stopJobRun', 'StopJobRun'],
    ['GET', '/jobs/{Name}/jobRuns', 'ListJobRuns'],
    ['GET', '/jobs/{Name}', 'DescribeJob'],
  ],
  lambda: [
    ['POST', '/2015-03-31/functions/{FunctionName}/invocations', 'Invoke'],
    ['GET', '/2015-03-31/functions/{FunctionName}', 'GetFunction'],
    ['PUT', '/2017-10-31/functions/{FunctionName}/concurrency', 'PutFunctionConcurrency'],
    ['GET', '/2019-09-30/functions/{FunctionName}/concurrency', 'GetFunctionConcurrency'],
    ['DELETE', '/2017-10-31/functions/{FunctionName}/concurrency', 'DeleteFunctionConcurrency'],
  ],
  'emr-serverless': [
    ['POST', '/applications/{applicationId}/jobruns', 'StartJobRun'],
    ['GET', '/applications/{applicationId}/jobruns/{jobRunId}', 'GetJobRun'],
    ['DELETE', '/applications/{applicationId}/jobruns/{jobRunId}', 'CancelJobRun'],
    ['GET', '/applications/{applicationId}/jobruns', 'ListJobRuns'],
    ['GET', '/applications/{applicationId}', 'GetApplication'],
    ['PATCH', '/applications/{applicationId}', 'UpdateApplication'],
    ['POST', '/applications', 'CreateApplication'],
  ],
  // QuickSight: the resource set by the emulator is the DataSetId (the first label is the account).
  quicksight: [
    ['POST', '/accounts/{AwsAccountId}/data-sets', 'CreateDataSet'],
    ['PUT', '/accounts/{AwsAccountId}/data-sets/{DataSetId}/ingestions/{IngestionId}', 'CreateIngestion'],
    ['GET', '/accounts/{AwsAccountId}/data-sets/{DataSetId}/ingestions/{IngestionId}', 'DescribeIngestion'],
    ['DELETE', '/accounts/{AwsAccountId}/data-sets/{DataSetId}/ingestions/{IngestionId}', 'CancelIngestion'],
    ['GET', '/accounts/{AwsAccountId}/data-sets/{DataSetId}/ingestions', 'ListIngestions'],
  ],
};

function restOperation(
  service: string,
  method: string,
  pathname: string,
): { operation: string; pathParams: Record<string, string>; resource?: string } | undefined {
  const segments = pathname.split('/').filter((p) => p !== '');
  for (const [m, template, operation] of REST_OPERATIONS[service] ?? []) {
    if (m !== method) continue;
    const parts = template.split('/').filter((p) => p !== '');
    if (parts.length !== segments.length) continue;
    const pathParams: Record<string, string> = {};
    let resource: string | undefined;
    const ok = parts.every((part, i) => {
      const seg = decodeURIComponent(segments[i] ?? '');
      if (!part.startsWith('{')) return part === seg;
      pathParams[part.slice(1, -1)] = seg;
      resource ??= seg;
      return true;
    });
    if (ok) return { operation, pathParams, ...(resource !== undefined ? { resource } : {}) };
  }
  return undefined;
}

/** Friendly service names for X-Amz-Target prefixes (others fall back to the credential scope). */
const TARGET_SERVICES: Record<string, string> = {
  AWSGlue: 'glue',
  AmazonAthena: 'athena',
  ElasticMapReduce: 'emr',
  AWSStepFunctions: 'sfn',
  RedshiftData: 'redshift-data',
  AWSGlueDataBrew: 'databrew',
  Kinesis_20131202: 'kinesis',
  Firehose_20150804: 'firehose',
  Logs_20140328: 'logs',
  DataPipeline: 'datapipeline',
  ServiceQuotasV20190624: 'servicequotas',
};

/** Body keys naming the resource of a JSON operation, in priority order. */
const RESOURCE_KEYS: Record<string, string[]> = {
  glue: ['JobName', 'Name', 'CrawlerName', 'DatabaseName'],
  athena: ['QueryExecutionId', 'WorkGroup', 'Name'],
  // RunJobFlow is counted under the cluster Name; TerminateJobFlows under its one id.
  emr: ['ClusterId', 'JobFlowId', 'JobFlowIds', 'Name'],
  kinesis: ['StreamName', 'StreamARN'],
  firehose: ['DeliveryStreamName'],
  // GetServiceQuota is counted under its quota code (L-D05C8A75).
  servicequotas: ['QuotaCode', 'ServiceCode'],
};
/** Services whose resource may be given as an ARN; it is counted under its name (the part after the last "/"). */
const NAME_FROM_ARN = new Set(['kinesis']);
const DEFAULT_RESOURCE_KEYS = [
  'Name',
  'name',
  'JobName',
  'ClusterId',
  'StateMachineArn',
  'executionArn',
  'StreamName',
  'DeliveryStreamName',
  'FunctionName',
];

export function classify(method: string, url: URL, headers: IncomingHttpHeaders): Classified {
  const target = headerValue(headers['x-amz-target']);
  const scope = credentialScopeService(headers, url);
  if (target !== undefined && target.includes('.')) {
    const dot = target.lastIndexOf('.');
    const prefix = target.slice(0, dot);
    const service = TARGET_SERVICES[prefix] ?? scope ?? prefix.toLowerCase();
    return { service, operation: target.slice(dot + 1), protocol: 'json', targetPrefix: prefix };
  }
  // Unsigned requests (curl, presigned URLs without scope) are treated as S3, as moto does.
  if (scope === undefined || scope === 's3') {
    const { operation, bucket } = s3Operation(method, url, headers);
    const c: Classified = { service: 's3', operation, protocol: 's3' };
    if (bucket !== undefined) c.resource = bucket;
    return c;
  }
  const rest = restOperation(scope, method, url.pathname);
  if (rest !== undefined) return { service: scope, protocol: 'rest', ...rest };
  return { service: scope, operation: `${method} ${url.pathname}`, protocol: 'other' };
}

/** Best-effort resource of a JSON request body (JobName for glue, QueryExecutionId for athena...). */
export function jsonResource(service: string, input: unknown): string | undefined {
  if (!isObject(input)) return undefined;
  for (const key of RESOURCE_KEYS[service] ?? DEFAULT_RESOURCE_KEYS) {
    const raw = input[key];
    // A list of ids counts under them all, as the emulator records it (TerminateJobFlows).
    const v = Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === 'string') ? raw.join(',') : raw;
    if (typeof v === 'string' && v !== '')
      return NAME_FROM_ARN.has(service) && v.startsWith('arn:') ? v.slice(v.lastIndexOf('/') + 1) : v;
  }
  return undefined;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/glue/aws4_request, ..." → "glue". */
function credentialScopeService(headers: IncomingHttpHeaders, url: URL): string | undefined {
  const credential =
    /Credential=([^,\s]+)/.exec(headerValue(headers.authorization) ?? '')?.[1] ??
    url.searchParams.get('X-Amz-Credential') ??
    undefined;
  return credential?.split('/')[3];
}

const SUBRESOURCE_NAMES: Record<string, string> = {
  acl: 'Acl',
  cors: 'Cors',
  encryption: 'Encryption',
  lifecycle: 'LifecycleConfiguration',
  location: 'Location',
  logging: 'Logging',
  notification: 'NotificationConfiguration',
  ownershipControls: 'OwnershipControls',
  policy: 'Policy',
  publicAccessBlock: 'PublicAccessBlock',
  replication: 'Replication',
  tagging: 'Tagging',
  versioning: 'Versioning',
  website: 'Website',
  accelerate: 'AccelerateConfiguration',
  'object-lock': 'ObjectLockConfiguration',
};

function s3Operation(method: string, url: URL, headers: IncomingHttpHeaders): { operation: string; bucket?: string } {
  const q = url.searchParams;
  const [rawBucket = '', ...keyParts] = url.pathname.replace(/^\/+/, '').split('/');
  const bucket = rawBucket === '' ? undefined : decodeURIComponent(rawBucket);
  const hasKey = keyParts.join('/') !== '';
  const copy = headers['x-amz-copy-source'] !== undefined;
  if (bucket === undefined) return { operation: method === 'GET' ? 'ListBuckets' : `${method} /` };

  let operation: string;
  if (!hasKey) {
    const sub = Object.keys(SUBRESOURCE_NAMES).find((k) => q.has(k));
    const subName = sub === undefined ? undefined : SUBRESOURCE_NAMES[sub];
    switch (method) {
      case 'GET':
        if (q.get('list-type') === '2') operation = 'ListObjectsV2';
        else if (q.has('versions')) operation = 'ListObjectVersions';
        else if (q.has('uploads')) operation = 'ListMultipartUploads';
        else if (subName === 'Location') operation = 'GetBucketLocation';
        else operation = subName === undefined ? 'ListObjects' : `GetBucket${subName}`;
        break;
      case 'PUT':
        operation = subName === undefined ? 'CreateBucket' : `PutBucket${subName}`;
        break;
      case 'DELETE':
        operation = subName === undefined ? 'DeleteBucket' : `DeleteBucket${subName}`;
        break;
      case 'HEAD':
        operation = 'HeadBucket';
        break;
      case 'POST':
        operation = q.has('delete') ? 'DeleteObjects' : 'POST Bucket';
        break;
      default:
        operation = `${method} Bucket`;
    }
  } else {
    switch (method) {
      case 'GET':
        if (q.has('tagging')) operation = 'GetObjectTagging';
        else if (q.has('acl')) operation = 'GetObjectAcl';
        else if (q.has('uploadId')) operation = 'ListParts';
        else if (q.has('attributes')) operation = 'GetObjectAttributes';
        else operation = 'GetObject';
        break;
      case 'PUT':
        if (q.has('partNumber') && q.has('uploadId')) operation = copy ? 'UploadPartCopy' : 'UploadPart';
        else if (q.has('tagging')) operation = 'PutObjectTagging';
        else if (q.has('acl')) operation = 'PutObjectAcl';
        else operation = copy ? 'CopyObject' : 'PutObject';
        break;
      case 'HEAD':
        operation = 'HeadObject';
        break;
      case 'DELETE':
        if (q.has('uploadId')) operation = 'AbortMultipartUpload';
        else if (q.has('tagging')) operation = 'DeleteObjectTagging';
        else operation = 'DeleteObject';
        break;
      case 'POST':
        if (q.has('uploads')) operation = 'CreateMultipartUpload';
        else if (q.has('uploadId')) operation = 'CompleteMultipartUpload';
        else if (q.has('restore')) operation = 'RestoreObject';
        else if (q.has('select')) operation = 'SelectObjectContent';
        else operation = 'POST Object';
        break;
      default:
        operation = `${method} Object`;
    }
  }
  return { operation, bucket };
}
