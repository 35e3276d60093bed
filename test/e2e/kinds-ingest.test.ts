/**
 * End to end, the ingest kinds: s3.copy, lambda.invoke, kinesis.put, firehose.put — real worker,
 * real Temporal dev server, real AWS SDK clients over HTTP to the local endpoint (moto behind the
 * Sluice gateway). The worker's clients make one attempt per call (maxAttempts 1), so a fault
 * injected by the gateway reaches the stage instead of being absorbed by the SDK's own retries,
 * and call counts are exact. Every test uses its own buckets, functions and streams.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateDeliveryStreamCommand } from '@aws-sdk/client-firehose';
import { CreateStreamCommand, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../activities/aws-clients';
import { COPY_CHUNK } from '../../kinds/s3-copy/handler';
import { MAX_RESENDS } from '../../activities/stream-records';
import { ERROR_TYPES } from '../../common/constants';
import { definePipeline, type PipelineDefinition } from '../../common/pipeline';
import { loadPipelineFile } from '../../client/load-pipeline';
import type { RunOutcome } from '../../client/runs';
import { awsClients, createBucket, createLambdaFunction, uniqueName } from '../support/aws';
import { gateway } from '../support/gateway';
import { fileContext } from '../support/temporal';
import { runToEnd } from '../support/runs';
import { fastDefaults } from '../support/timing';

const ctx = fileContext('e2e-ingest', { worker: { clients: createAwsClients({ maxAttempts: 1 }) } });

const fast = fastDefaults({ retry: { initialInterval: '300ms', maximumInterval: '1s' } });

const run = (pipeline: PipelineDefinition, ds?: string): Promise<RunOutcome> => runToEnd(ctx, pipeline, ds);

function ok(outcome: RunOutcome): Extract<RunOutcome, { ok: true }> {
  if (!outcome.ok) throw new Error(`the run failed: ${outcome.message}`);
  return outcome;
}

function output(outcome: Extract<RunOutcome, { ok: true }>, stage: string): Record<string, unknown> {
  return outcome.status.stages.find((s) => s.id === stage)?.result?.output ?? {};
}

async function readText(bucket: string, key: string): Promise<string> {
  const out = await awsClients().s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

async function keys(bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await awsClients().s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
    );
    out.push(...(page.Contents ?? []).map((o) => o.Key as string));
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

// ---------------------------------------------------------------- fixtures: Lambda, Kinesis, Firehose

async function createStream(name = uniqueName('stream')): Promise<string> {
  await awsClients().kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  return name;
}

/** Every record of a one-shard stream, oldest first. */
async function streamRecords(stream: string): Promise<string[]> {
  const k = awsClients().kinesis;
  const it = await k.send(
    new GetShardIteratorCommand({
      StreamName: stream,
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    }),
  );
  const out: string[] = [];
  let iterator = it.ShardIterator;
  for (;;) {
    const page = await k.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
    const got = (page.Records ?? []).map((r) => Buffer.from(r.Data as Uint8Array).toString('utf8'));
    out.push(...got);
    if (got.length === 0 || !page.NextShardIterator) return out;
    iterator = page.NextShardIterator;
  }
}

async function createDeliveryStream(bucket: string, name = uniqueName('firehose')): Promise<string> {
  await awsClients().firehose.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      ExtendedS3DestinationConfiguration: {
        BucketARN: `arn:aws:s3:::${bucket}`,
        RoleARN: 'arn:aws:iam::123456789012:role/firehose',
        Prefix: `${name}/`,
      },
    }),
  );
  return name;
}

/** What Firehose delivered to S3 (moto writes one object per put call, synchronously), as lines. */
async function deliveredLines(bucket: string, stream: string): Promise<string[]> {
  const texts = await Promise.all((await keys(bucket, `${stream}/`)).map((k) => readText(bucket, k)));
  return texts
    .join('')
    .split('\n')
    .filter((l) => l !== '');
}

// ---------------------------------------------------------------- s3.copy

test('s3.copy: one key (CopySource) and a whole templated prefix (SourcePrefix → Prefix)', async () => {
  const src = await createBucket();
  const dst = await createBucket();
  const files: Record<string, string> = { 'a.csv': 'id\n1\n', 'b.csv': 'id\n2\n3\n', 'nested/c b+.csv': 'id\n4\n' };
  for (const [k, body] of Object.entries(files)) {
    await awsClients().s3.send(new PutObjectCommand({ Bucket: src, Key: `raw/2024-03-01/${k}`, Body: body }));
  }
  await awsClients().s3.send(new PutObjectCommand({ Bucket: src, Key: 'raw/2024-03-02/other.csv', Body: 'not today' }));
  const pipeline = definePipeline({
    name: uniqueName('copy'),
    defaults: fast,
    stages: [
      {
        id: 'one',
        kind: 's3.copy',
        params: { Bucket: dst, Key: 'latest/a.csv', CopySource: `${src}/raw/{{ ds }}/a.csv` },
      },
      {
        id: 'all',
        kind: 's3.copy',
        params: { SourceBucket: src, SourcePrefix: 'raw/{{ ds }}/', Bucket: dst, Prefix: 'curated/{{ ds_nodash }}/' },
      },
    ],
  });
  const outcome = ok(await run(pipeline));
  expect(await readText(dst, 'latest/a.csv')).toBe(files['a.csv']);
  expect(output(outcome, 'one')).toMatchObject({ to: `s3://${dst}/latest/a.csv`, objects: 1, bytes: 5 });

  expect((await keys(dst, 'curated/')).sort()).toEqual([
    'curated/20240301/a.csv',
    'curated/20240301/b.csv',
    'curated/20240301/nested/c b+.csv',
  ]);
  for (const [k, body] of Object.entries(files)) expect(await readText(dst, `curated/20240301/${k}`)).toBe(body);
  const bytes = Object.values(files).reduce((n, b) => n + b.length, 0);
  expect(output(outcome, 'all')).toEqual({
    from: `s3://${src}/raw/2024-03-01/`,
    to: `s3://${dst}/curated/20240301/`,
    objects: 3,
    bytes,
  });
});

test('s3.copy: a prefix copy that fails midway resumes after the last heartbeated chunk instead of recopying', async () => {
  const src = await createBucket();
  const dst = await createBucket();
  const n = 40;
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      awsClients().s3.send(
        new PutObjectCommand({ Bucket: src, Key: `in/${String(i).padStart(3, '0')}.json`, Body: `{"i":${i}}` }),
      ),
    ),
  );
  // The first 20 copies go through; the 21st (in the third chunk) gets a 500, which the worker's
  // single-attempt client does not retry: the attempt fails and the stage's retry policy takes over.
  await gateway.addFault({
    service: 's3',
    operation: 'CopyObject',
    resource: dst,
    kind: 'latency',
    latencyMs: 0,
    times: 20,
  });
  await gateway.addFault({ service: 's3', operation: 'CopyObject', resource: dst, kind: 'server-error', times: 1 });
  const pipeline = definePipeline({
    name: uniqueName('copyresume'),
    defaults: fast,
    stages: [
      { id: 'copy', kind: 's3.copy', params: { SourceBucket: src, SourcePrefix: 'in/', Bucket: dst, Prefix: 'out/' } },
    ],
  });
  const outcome = ok(await run(pipeline));
  expect(await keys(dst, 'out/')).toHaveLength(n);
  const doneBeforeFailure = 2 * COPY_CHUNK;
  expect(output(outcome, 'copy')).toMatchObject({ objects: n, resumedAfter: doneBeforeFailure });
  // Attempt 1: two whole chunks, plus the chunk that failed; attempt 2: from that chunk on.
  expect(await gateway.calls({ service: 's3', operation: 'CopyObject', resource: dst })).toBe(n + COPY_CHUNK);
});

// ---------------------------------------------------------------- lambda.invoke

test('lambda.invoke: a templated object Payload is sent as JSON and the answer is the stage output', async () => {
  const fn = await createLambdaFunction();
  const pipeline = definePipeline({
    name: uniqueName('lambda'),
    defaults: fast,
    stages: [
      {
        id: 'invoke',
        kind: 'lambda.invoke',
        params: { FunctionName: fn, Payload: { date: '{{ ds }}', tables: ['orders', 'refunds'] } },
      },
    ],
  });
  const outcome = ok(await run(pipeline));
  // moto's function echoes its input.
  expect(output(outcome, 'invoke')).toMatchObject({
    functionName: fn,
    StatusCode: 200,
    payload: { date: '2024-03-01', tables: ['orders', 'refunds'] },
  });
  expect(await gateway.calls({ service: 'lambda', operation: 'Invoke', resource: fn })).toBe(1);
});

test('lambda.invoke: a FunctionError fails the run with the function’s errorType and errorMessage, without retrying', async () => {
  const fn = await createLambdaFunction();
  await gateway.setScenario({
    service: 'lambda',
    match: fn,
    outcome: 'FAILED',
    message: 'ValueError: no orders for 2024-03-01',
  });
  const pipeline = definePipeline({
    name: uniqueName('lambdafail'),
    defaults: { ...fast, retry: { initialInterval: '200ms', maximumAttempts: 5 } },
    stages: [
      { id: 'invoke', kind: 'lambda.invoke', params: { FunctionName: fn, Payload: '{"day":"{{ ds }}"}' } },
      { id: 'after', kind: 'lambda.invoke', dependsOn: ['invoke'], params: { FunctionName: fn } },
    ],
  });
  const outcome = await run(pipeline);
  if (outcome.ok) throw new Error('the run should have failed');
  expect(outcome.stage).toBe('invoke');
  expect(outcome.message).toBe(
    `Stage "invoke" (lambda.invoke) failed: Lambda function ${fn} failed (Unhandled): ValueError: no orders for 2024-03-01`,
  );
  expect(outcome.status?.stages.map((s) => [s.id, s.state])).toEqual([
    ['invoke', 'failed'],
    ['after', 'skipped'],
  ]);
  expect(outcome.status?.stages[0]?.error?.type).toBe(ERROR_TYPES.jobFailed);
  expect(await gateway.calls({ service: 'lambda', operation: 'Invoke', resource: fn })).toBe(1);
});

test('lambda.invoke: throttling (TooManyRequestsException) is retried until the function answers', async () => {
  const fn = await createLambdaFunction();
  await gateway.addFault({ service: 'lambda', operation: 'Invoke', resource: fn, kind: 'throttle', times: 2 });
  const pipeline = definePipeline({
    name: uniqueName('lambdathrottle'),
    defaults: { ...fast, retry: { initialInterval: '200ms', maximumAttempts: 4 } },
    stages: [{ id: 'invoke', kind: 'lambda.invoke', params: { FunctionName: fn, Payload: 'ping' } }],
  });
  const outcome = ok(await run(pipeline));
  expect(output(outcome, 'invoke')).toMatchObject({ StatusCode: 200, payload: 'ping' });
  expect(await gateway.calls({ service: 'lambda', operation: 'Invoke', resource: fn })).toBe(3);
});

test('lambda.invoke: an unknown function fails at once with AWS’s ResourceNotFoundException', async () => {
  const fn = uniqueName('nofn');
  const pipeline = definePipeline({
    name: uniqueName('lambdamissing'),
    defaults: { ...fast, retry: { initialInterval: '200ms', maximumAttempts: 5 } },
    stages: [{ id: 'invoke', kind: 'lambda.invoke', params: { FunctionName: fn } }],
  });
  const outcome = await run(pipeline);
  if (outcome.ok) throw new Error('the run should have failed');
  expect(outcome.message).toMatch(
    new RegExp(
      `^Stage "invoke" \\(lambda\\.invoke\\) failed: Lambda lambda\\.invoke failed: ResourceNotFoundException: Function not found: .*${fn}$`,
    ),
  );
  expect(outcome.status?.stages[0]?.error?.type).toBe(ERROR_TYPES.awsRequest);
  expect(await gateway.calls({ service: 'lambda', operation: 'Invoke', resource: fn })).toBe(1);
});

// ---------------------------------------------------------------- kinesis.put

test('kinesis.put: a RecordsFile relative to the pipeline file, in 500-record batches, then inline records by StreamARN', async () => {
  const stream = await createStream();
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-ingest-'));
  const lines = Array.from({ length: 1200 }, (_, i) => JSON.stringify({ order: i }));
  writeFileSync(path.join(dir, 'orders.jsonl'), `${lines.join('\n')}\n`);
  const name = uniqueName('kinesis');
  writeFileSync(
    path.join(dir, 'pipeline.yaml'),
    [
      `name: ${name}`,
      'defaults: { poll: { initial: 200ms }, timeout: { heartbeat: 3s }, retry: { initialInterval: 300ms } }',
      'stages:',
      '  - id: orders',
      '    kind: kinesis.put',
      `    params: { StreamName: ${stream}, RecordsFile: orders.jsonl }`,
      '  - id: marker',
      '    kind: kinesis.put',
      '    dependsOn: [orders]',
      '    params:',
      `      StreamARN: arn:aws:kinesis:us-east-1:123456789012:stream/${stream}`,
      '      Records:',
      '        - { Data: { done: "{{ ds }}", count: 1200 }, PartitionKey: marker }',
      '        - { Data: end, PartitionKey: marker }',
    ].join('\n'),
  );
  const pipeline = loadPipelineFile(path.join(dir, 'pipeline.yaml'));
  expect(pipeline.stages[0]?.params.RecordsFile).toBe(path.join(dir, 'orders.jsonl'));
  const outcome = ok(await run(pipeline));
  expect(output(outcome, 'orders')).toMatchObject({ records: 1200, batches: 3, resent: 0 });
  expect(output(outcome, 'marker')).toMatchObject({ records: 2, batches: 1 });
  expect(await streamRecords(stream)).toEqual([...lines, '{"done":"2024-03-01","count":1200}', 'end']);
  expect(await gateway.calls({ service: 'kinesis', operation: 'PutRecords', resource: stream })).toBe(4);
});

test('kinesis.put: records AWS reports failed (FailedRecordCount) are resent alone', async () => {
  const stream = await createStream();
  await gateway.addFault({
    service: 'kinesis',
    operation: 'PutRecords',
    resource: stream,
    kind: 'partial-failure',
    records: 3,
  });
  const records = Array.from({ length: 10 }, (_, i) => ({ Data: { n: i }, PartitionKey: `k${i}` }));
  const pipeline = definePipeline({
    name: uniqueName('kpartial'),
    defaults: fast,
    stages: [{ id: 'put', kind: 'kinesis.put', params: { StreamName: stream, Records: records } }],
  });
  const outcome = ok(await run(pipeline));
  expect(output(outcome, 'put')).toMatchObject({ records: 10, resent: 3, batches: 1 });
  // The 7 accepted at once, then the 3 refused ones: each exactly once.
  const expected = records.map((r) => JSON.stringify(r.Data));
  expect(await streamRecords(stream)).toEqual([...expected.slice(3), ...expected.slice(0, 3)]);
  expect(await gateway.calls({ service: 'kinesis', operation: 'PutRecords', resource: stream })).toBe(2);
});

test('kinesis.put: a retried attempt resumes after the last acknowledged batch', async () => {
  const stream = await createStream();
  // Batch 1 goes through, batch 2 gets a 500: the attempt fails and the next one starts at batch 2.
  await gateway.addFault({
    service: 'kinesis',
    operation: 'PutRecords',
    resource: stream,
    kind: 'latency',
    latencyMs: 0,
    times: 1,
  });
  await gateway.addFault({
    service: 'kinesis',
    operation: 'PutRecords',
    resource: stream,
    kind: 'server-error',
    times: 1,
  });
  const records = Array.from({ length: 1200 }, (_, i) => ({ Data: `r${i}` }));
  const pipeline = definePipeline({
    name: uniqueName('kresume'),
    defaults: fast,
    stages: [{ id: 'put', kind: 'kinesis.put', params: { StreamName: stream, Records: records } }],
  });
  const outcome = ok(await run(pipeline));
  expect(output(outcome, 'put')).toMatchObject({ records: 1200, batches: 3, resumedAfterBatch: 1 });
  expect(await streamRecords(stream)).toEqual(records.map((r) => r.Data));
  expect(await gateway.calls({ service: 'kinesis', operation: 'PutRecords', resource: stream })).toBe(4);
});

test('kinesis.put: records still refused after the resend bound fail the stage with the error codes', async () => {
  const stream = await createStream();
  await gateway.addFault({
    service: 'kinesis',
    operation: 'PutRecords',
    resource: stream,
    kind: 'partial-failure',
    records: 2,
    times: -1,
  });
  const pipeline = definePipeline({
    name: uniqueName('kexhaust'),
    defaults: { ...fast, retry: { maximumAttempts: 1 } },
    stages: [
      {
        id: 'put',
        kind: 'kinesis.put',
        params: { StreamName: stream, Records: [{ Data: 'a' }, { Data: 'b' }, { Data: 'c' }] },
      },
    ],
  });
  const outcome = await run(pipeline);
  if (outcome.ok) throw new Error('the run should have failed');
  expect(outcome.message).toMatch(
    new RegExp(
      `^Stage "put" \\(kinesis\\.put\\) failed: Kinesis ${stream}: 2 records still failed after ${MAX_RESENDS} resends: 2 × ProvisionedThroughputExceededException \\(Rate exceeded`,
    ),
  );
  expect(outcome.status?.stages[0]?.error?.type).toBe(ERROR_TYPES.awsTransient);
  expect(await gateway.calls({ service: 'kinesis', operation: 'PutRecords', resource: stream })).toBe(1 + MAX_RESENDS);
  expect(await streamRecords(stream)).toEqual(['c']);
});

// ---------------------------------------------------------------- firehose.put

test('firehose.put: inline records land in the S3 destination as JSON lines; refused records are resent alone', async () => {
  const bucket = await createBucket();
  const stream = await createDeliveryStream(bucket);
  await gateway.addFault({
    service: 'firehose',
    operation: 'PutRecordBatch',
    resource: stream,
    kind: 'partial-failure',
    records: 2,
  });
  const pipeline = definePipeline({
    name: uniqueName('firehose'),
    defaults: fast,
    stages: [
      {
        id: 'put',
        kind: 'firehose.put',
        params: {
          DeliveryStreamName: stream,
          Records: [
            { Data: { day: '{{ ds }}', n: 1 } },
            { Data: { day: '{{ ds }}', n: 2 } },
            { Data: 'plain text' },
            { Data: '{"n":4}\n' },
          ],
        },
      },
    ],
  });
  const outcome = ok(await run(pipeline));
  expect(output(outcome, 'put')).toMatchObject({ target: stream, records: 4, resent: 2, batches: 1 });
  expect((await deliveredLines(bucket, stream)).sort()).toEqual(
    ['plain text', '{"day":"2024-03-01","n":1}', '{"day":"2024-03-01","n":2}', '{"n":4}'].sort(),
  );
  expect(await gateway.calls({ service: 'firehose', operation: 'PutRecordBatch', resource: stream })).toBe(2);
});
