/**
 * The local AWS endpoint (infra/local/gateway in front of moto) that every end-to-end test relies
 * on, tested the way Sluice uses it: real AWS SDK v3 clients over HTTP, plus the gateway's control
 * API (scenarios, faults, call counts). Every test uses its own job / query marker / workgroup /
 * bucket, never the global reset endpoints: other test files share this gateway in parallel.
 */
import {
  AthenaClient,
  BatchGetQueryExecutionCommand,
  CreateWorkGroupCommand,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  GetWorkGroupCommand,
  InternalServerException,
  InvalidRequestException,
  ListQueryExecutionsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type QueryExecution,
} from '@aws-sdk/client-athena';
import {
  BatchStopJobRunCommand,
  ConcurrentRunsExceededException,
  EntityNotFoundException,
  GetJobCommand,
  GetJobRunCommand,
  GetJobRunsCommand,
  GlueClient,
  StartJobRunCommand,
  ThrottlingException,
  type JobRun,
} from '@aws-sdk/client-glue';
import {
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { createAwsClients, destroyAwsClients, type AwsClients } from '../../activities/aws-clients';
import { awsClients, createBucket, createGlueJob, uniqueName } from '../support/aws';
import { gateway } from '../support/gateway';
import { waitFor } from '../support/temporal';

const MOTO_URL = process.env.SLUICE_MOTO_URL ?? 'http://127.0.0.1:5077';

/** Clients that give up after one attempt, so an injected fault surfaces instead of being retried away. */
let once: { glue: GlueClient; athena: AthenaClient; s3: S3Client };
/** Clients talking to moto directly, bypassing the gateway: to check what forwarding stored. */
let direct: AwsClients;

beforeAll(() => {
  once = {
    glue: new GlueClient({ maxAttempts: 1 }),
    athena: new AthenaClient({ maxAttempts: 1 }),
    s3: new S3Client({ maxAttempts: 1, forcePathStyle: true }),
  };
  direct = createAwsClients({ endpoint: MOTO_URL, s3ForcePathStyle: true });
});

afterAll(() => {
  for (const c of Object.values(once ?? {})) c.destroy();
  if (direct) destroyAwsClients(direct);
});

const glue = () => awsClients().glue;
const athena = () => awsClients().athena;
const s3 = () => awsClients().s3;

/** The rejection of `p` (fails the test if it resolves). */
async function rejection(
  p: Promise<unknown>,
): Promise<Error & { name: string; $fault?: string; $metadata?: { httpStatusCode?: number } }> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e as Error & { name: string },
  );
}

async function getRun(jobName: string, runId: string): Promise<JobRun> {
  const out = await glue().send(new GetJobRunCommand({ JobName: jobName, RunId: runId }));
  if (!out.JobRun) throw new Error(`GetJobRun ${runId}: no JobRun`);
  return out.JobRun;
}

/** Polls a Glue run until `done`, returning every distinct state seen in order (consecutive repeats collapsed). */
async function followRun(
  jobName: string,
  runId: string,
  done: (run: JobRun) => boolean,
  seen: string[] = [],
): Promise<{ run: JobRun; seen: string[] }> {
  const run = await waitFor(
    `Glue run ${runId} of ${jobName}`,
    async () => {
      const r = await getRun(jobName, runId);
      const state = r.JobRunState ?? 'UNKNOWN';
      if (seen[seen.length - 1] !== state) seen.push(state);
      return done(r) ? r : undefined;
    },
    30_000,
    50,
  );
  return { run, seen };
}

const GLUE_TERMINAL = ['SUCCEEDED', 'FAILED', 'TIMEOUT', 'STOPPED', 'ERROR'];

async function startRun(jobName: string, args?: Record<string, string>): Promise<string> {
  const out = await glue().send(new StartJobRunCommand({ JobName: jobName, ...(args ? { Arguments: args } : {}) }));
  expect(out.JobRunId).toMatch(/^jr_[0-9a-f]{64}$/);
  return out.JobRunId as string;
}

async function queryExecution(id: string): Promise<QueryExecution> {
  const out = await athena().send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
  if (!out.QueryExecution) throw new Error(`GetQueryExecution ${id}: no QueryExecution`);
  return out.QueryExecution;
}

async function waitForQuery(id: string, states: string[]): Promise<QueryExecution> {
  return waitFor(`Athena query ${id} in ${states.join('/')}`, async () => {
    const q = await queryExecution(id);
    return states.includes(q.Status?.State ?? '') ? q : undefined;
  });
}

/** A workgroup of the test's own (moto owns workgroups; the gateway reads them), so listings hold only this test's queries. */
async function createWorkGroup(): Promise<string> {
  const name = uniqueName('wg');
  await athena().send(
    new CreateWorkGroupCommand({
      Name: name,
      Configuration: { ResultConfiguration: { OutputLocation: `s3://${uniqueName('results')}/athena/` } },
    }),
  );
  return name;
}

/** A random 64-character ClientRequestToken (Athena wants 32 to 128). */
const token = () => randomBytes(32).toString('hex');

describe('Glue job runs', () => {
  test('a run goes STARTING → RUNNING → SUCCEEDED and lasts exactly the scenario duration', async () => {
    const job = await createGlueJob();
    await gateway.setScenario({ service: 'glue', match: job, durationMs: 1500, outcome: 'SUCCEEDED' });

    const runId = await startRun(job, { '--day': '2024-03-01' });
    const first = await getRun(job, runId);
    expect(['STARTING', 'RUNNING']).toContain(first.JobRunState);
    expect(first.CompletedOn).toBeUndefined();

    const { run, seen } = await followRun(job, runId, (r) => GLUE_TERMINAL.includes(r.JobRunState ?? ''), [
      first.JobRunState as string,
    ]);
    // Every state seen, in order, is a step of the lifecycle; the run ends SUCCEEDED having been seen RUNNING.
    expect(['STARTING', 'RUNNING', 'SUCCEEDED'].filter((s) => seen.includes(s))).toEqual(seen);
    expect(seen).toContain('RUNNING');
    expect(seen[seen.length - 1]).toBe('SUCCEEDED');

    expect(run).toMatchObject({
      Id: runId,
      JobName: job,
      JobRunState: 'SUCCEEDED',
      Arguments: { '--day': '2024-03-01' },
    });
    expect(run.ErrorMessage).toBeUndefined();
    // The gateway's clock, not ours: completion is exactly the scenario's duration after the start.
    expect((run.CompletedOn as Date).getTime() - (run.StartedOn as Date).getTime()).toBe(1500);
    expect(run.ExecutionTime).toBe(1);

    const runs = await glue().send(new GetJobRunsCommand({ JobName: job }));
    expect(runs.JobRuns?.map((r) => [r.Id, r.JobRunState])).toEqual([[runId, 'SUCCEEDED']]);
  });

  test('a FAILED scenario ends the run FAILED with the scenario message in ErrorMessage', async () => {
    const job = await createGlueJob();
    const message = `AnalysisException: Table or view not found: ${uniqueName('raw')}`;
    await gateway.setScenario({ service: 'glue', match: job, durationMs: 300, outcome: 'FAILED', message });

    const runId = await startRun(job);
    const { run, seen } = await followRun(job, runId, (r) => GLUE_TERMINAL.includes(r.JobRunState ?? ''));

    expect(seen[seen.length - 1]).toBe('FAILED');
    expect(run.ErrorMessage).toBe(message);
    expect((run.CompletedOn as Date).getTime() - (run.StartedOn as Date).getTime()).toBe(300);
  });

  test('a HANG run stays RUNNING past its duration until BatchStopJobRun, then goes STOPPING → STOPPED', async () => {
    const job = await createGlueJob();
    await gateway.setScenario({ service: 'glue', match: job, durationMs: 200, outcome: 'HANG' });
    const runId = await startRun(job);

    // Watch it until the gateway itself says it has been running for 2 s, ten times its duration.
    const watched: string[] = [];
    await followRun(job, runId, (r) => (r.ExecutionTime ?? 0) >= 2, watched);
    expect(watched.filter((s) => s !== 'STARTING')).toEqual(['RUNNING']);

    const stop = await glue().send(new BatchStopJobRunCommand({ JobName: job, JobRunIds: [runId] }));
    expect(stop.SuccessfulSubmissions).toEqual([{ JobName: job, JobRunId: runId }]);
    expect(stop.Errors).toEqual([]);

    const { run, seen } = await followRun(job, runId, (r) => r.JobRunState === 'STOPPED');
    // STOPPING lasts 300 ms: a slow poll may miss it, but nothing else may appear, and it ends STOPPED.
    expect(seen[seen.length - 1]).toBe('STOPPED');
    expect(seen.every((s) => s === 'STOPPING' || s === 'STOPPED')).toBe(true);
    expect(run.CompletedOn).toBeInstanceOf(Date);

    // A finished run cannot be stopped again: reported per run id, not as a request error.
    const again = await glue().send(new BatchStopJobRunCommand({ JobName: job, JobRunIds: [runId] }));
    expect(again.SuccessfulSubmissions).toEqual([]);
    expect(again.Errors).toHaveLength(1);
    expect(again.Errors?.[0]).toMatchObject({
      JobName: job,
      JobRunId: runId,
      ErrorDetail: { ErrorCode: 'InvalidInputException' },
    });
    expect((await getRun(job, runId)).JobRunState).toBe('STOPPED');
  });

  test('starting a run of a job that does not exist is a typed EntityNotFoundException', async () => {
    const missing = uniqueName('no-such-job');
    const err = await rejection(glue().send(new StartJobRunCommand({ JobName: missing })));
    expect(err).toBeInstanceOf(EntityNotFoundException);
    expect(err.name).toBe('EntityNotFoundException');
    expect(err.message).toContain(missing);
    expect(err.$metadata?.httpStatusCode).toBe(400);
    expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: missing })).toBe(1);

    const unknownRun = await rejection(glue().send(new GetJobRunCommand({ JobName: missing, RunId: 'jr_0' })));
    expect(unknownRun).toBeInstanceOf(EntityNotFoundException);
  });

  test('MaxConcurrentRuns=1: a second start while one runs is a ConcurrentRunsExceededException; the slot frees when the run ends', async () => {
    const job = await createGlueJob(uniqueName('job'), 1);
    await gateway.setScenario({ service: 'glue', match: job, durationMs: 100, outcome: 'HANG' });
    const first = await startRun(job);

    const err = await rejection(glue().send(new StartJobRunCommand({ JobName: job })));
    expect(err).toBeInstanceOf(ConcurrentRunsExceededException);
    expect(err.message).toContain(job);
    // Refused, so no second run exists.
    expect((await glue().send(new GetJobRunsCommand({ JobName: job }))).JobRuns?.map((r) => r.Id)).toEqual([first]);

    await glue().send(new BatchStopJobRunCommand({ JobName: job, JobRunIds: [first] }));
    await followRun(job, first, (r) => r.JobRunState === 'STOPPED');
    const second = await startRun(job);
    expect(second).not.toBe(first);
    expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: job })).toBe(3);

    await glue().send(new BatchStopJobRunCommand({ JobName: job, JobRunIds: [second] }));
  });
});

describe('Athena query executions', () => {
  test('the same ClientRequestToken returns the same QueryExecutionId and creates one execution only', async () => {
    const workGroup = await createWorkGroup();
    const marker = uniqueName('idem');
    const QueryString = `SELECT count(*) FROM sales WHERE batch = '${marker}'`;
    const ClientRequestToken = token();

    const a = await athena().send(
      new StartQueryExecutionCommand({ QueryString, WorkGroup: workGroup, ClientRequestToken }),
    );
    const b = await athena().send(
      new StartQueryExecutionCommand({ QueryString, WorkGroup: workGroup, ClientRequestToken }),
    );
    expect(a.QueryExecutionId).toBeDefined();
    expect(b.QueryExecutionId).toBe(a.QueryExecutionId);

    const listed = await athena().send(new ListQueryExecutionsCommand({ WorkGroup: workGroup }));
    expect(listed.QueryExecutionIds).toEqual([a.QueryExecutionId]);
    expect(
      await gateway.calls({ service: 'athena', operation: 'StartQueryExecution', resource: a.QueryExecutionId }),
    ).toBe(2);

    // The same token with another query is refused, as on AWS; a new token starts a new execution.
    const mismatch = await rejection(
      athena().send(
        new StartQueryExecutionCommand({
          QueryString: `${QueryString} AND 1 = 1`,
          WorkGroup: workGroup,
          ClientRequestToken,
        }),
      ),
    );
    expect(mismatch).toBeInstanceOf(InvalidRequestException);
    const c = await athena().send(
      new StartQueryExecutionCommand({ QueryString, WorkGroup: workGroup, ClientRequestToken: token() }),
    );
    expect(c.QueryExecutionId).not.toBe(a.QueryExecutionId);
    const relisted = await athena().send(new ListQueryExecutionsCommand({ WorkGroup: workGroup }));
    expect(relisted.QueryExecutionIds).toEqual([c.QueryExecutionId, a.QueryExecutionId]);

    const done = await waitForQuery(a.QueryExecutionId as string, ['SUCCEEDED', 'FAILED', 'CANCELLED']);
    expect(done).toMatchObject({
      QueryExecutionId: a.QueryExecutionId,
      Query: QueryString,
      WorkGroup: workGroup,
      Status: { State: 'SUCCEEDED' },
    });
    // The workgroup's output location is used when the request gives none.
    expect(done.ResultConfiguration?.OutputLocation).toMatch(
      new RegExp(`^s3://results-.+/athena/${a.QueryExecutionId}\\.csv$`),
    );
  });

  test('a FAILED scenario ends the query FAILED with the scenario message as AthenaError', async () => {
    const marker = uniqueName('broken');
    const message = `COLUMN_NOT_FOUND: line 1:8: Column '${marker}' cannot be resolved`;
    await gateway.setScenario({ service: 'athena', match: marker, durationMs: 200, outcome: 'FAILED', message });
    const { QueryExecutionId } = await athena().send(
      new StartQueryExecutionCommand({ QueryString: `SELECT ${marker} FROM sales`, ClientRequestToken: token() }),
    );

    const q = await waitForQuery(QueryExecutionId as string, ['SUCCEEDED', 'FAILED', 'CANCELLED']);
    expect(q.Status?.State).toBe('FAILED');
    expect(q.Status?.AthenaError?.ErrorMessage).toBe(message);
    expect(q.Status?.StateChangeReason).toBe(message);
    expect(q.Status?.CompletionDateTime).toBeInstanceOf(Date);

    const results = await rejection(athena().send(new GetQueryResultsCommand({ QueryExecutionId })));
    expect(results).toBeInstanceOf(InvalidRequestException);
    expect(results.message).toContain('FAILED');
  });

  test('StopQueryExecution cancels a running query: CANCELLED', async () => {
    const marker = uniqueName('forever');
    await gateway.setScenario({ service: 'athena', match: marker, durationMs: 100, outcome: 'HANG' });
    const { QueryExecutionId } = await athena().send(
      new StartQueryExecutionCommand({
        QueryString: `SELECT * FROM big WHERE tag = '${marker}'`,
        ClientRequestToken: token(),
      }),
    );
    const id = QueryExecutionId as string;
    await waitForQuery(id, ['RUNNING']);

    const notYet = await rejection(athena().send(new GetQueryResultsCommand({ QueryExecutionId: id })));
    expect(notYet).toBeInstanceOf(InvalidRequestException);
    expect(notYet.message).toContain('RUNNING');

    await athena().send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
    const q = await waitForQuery(id, ['CANCELLED', 'SUCCEEDED', 'FAILED']);
    expect(q.Status?.State).toBe('CANCELLED');
    expect(q.Status?.AthenaError).toBeUndefined();

    const batch = await athena().send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: [id] }));
    expect(batch.QueryExecutions?.map((e) => e.Status?.State)).toEqual(['CANCELLED']);
  });

  test('GetQueryResults returns a header row then the scenario rows, paginated with MaxResults', async () => {
    const marker = uniqueName('report');
    const rows: (string | null)[][] = [
      ['eu', '12'],
      ['us', '30'],
      ['apac', null],
      ['latam', '4'],
      ['mea', '9'],
    ];
    await gateway.setScenario({
      service: 'athena',
      match: marker,
      durationMs: 150,
      outcome: 'SUCCEEDED',
      result: { columns: ['region', 'total'], rows },
    });
    const { QueryExecutionId } = await athena().send(
      new StartQueryExecutionCommand({
        QueryString: `SELECT region, total FROM ${marker}`,
        ClientRequestToken: token(),
      }),
    );
    await waitForQuery(QueryExecutionId as string, ['SUCCEEDED']);

    const pages: (string | null)[][][] = [];
    let columns: string[] | undefined;
    let NextToken: string | undefined;
    do {
      const out = await athena().send(new GetQueryResultsCommand({ QueryExecutionId, MaxResults: 2, NextToken }));
      columns ??= out.ResultSet?.ResultSetMetadata?.ColumnInfo?.map((c) => c.Name as string);
      pages.push((out.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? null)));
      NextToken = out.NextToken;
    } while (NextToken);

    expect(columns).toEqual(['region', 'total']);
    expect(pages).toEqual([
      [
        ['region', 'total'],
        ['eu', '12'],
      ],
      [
        ['us', '30'],
        ['apac', null],
      ],
      [
        ['latam', '4'],
        ['mea', '9'],
      ],
    ]);

    const whole = await athena().send(new GetQueryResultsCommand({ QueryExecutionId }));
    expect(whole.NextToken).toBeUndefined();
    expect(whole.ResultSet?.Rows).toHaveLength(6);
  });
});

describe('fault injection and the call log', () => {
  test('a throttle fault surfaces as ThrottlingException with maxAttempts 1, and times:N faults are used up', async () => {
    const job = await createGlueJob();
    // GetJob: read by no Sluice code path, so no parallel test consumes this fault.
    await gateway.addFault({ service: 'glue', operation: 'GetJob', kind: 'throttle', times: 2 });

    for (let i = 0; i < 2; i++) {
      const err = await rejection(once.glue.send(new GetJobCommand({ JobName: job })));
      expect(err).toBeInstanceOf(ThrottlingException);
      expect(err.name).toBe('ThrottlingException');
      expect(err.$metadata?.httpStatusCode).toBe(400);
    }
    const ok = await once.glue.send(new GetJobCommand({ JobName: job }));
    expect(ok.Job?.Name).toBe(job);
    // Faulted requests are still counted.
    expect(await gateway.calls({ service: 'glue', operation: 'GetJob', resource: job })).toBe(3);
  });

  test('a server-error fault is a 5xx (the modelled InternalServerException for Athena), used up after times:1', async () => {
    const workGroup = await createWorkGroup();
    await gateway.addFault({ service: 'athena', operation: 'GetWorkGroup', kind: 'server-error', times: 1 });

    const err = await rejection(once.athena.send(new GetWorkGroupCommand({ WorkGroup: workGroup })));
    expect(err).toBeInstanceOf(InternalServerException);
    expect(err.$fault).toBe('server');
    expect(err.$metadata?.httpStatusCode).toBe(500);

    const ok = await once.athena.send(new GetWorkGroupCommand({ WorkGroup: workGroup }));
    expect(ok.WorkGroup?.Name).toBe(workGroup);
  });

  test('S3 faults speak S3: a throttle is SlowDown (503), a server error InternalError (500)', async () => {
    const bucket = await createBucket();
    // GetBucketVersioning: used by no Sluice code path.
    await gateway.addFault({ service: 's3', operation: 'GetBucketVersioning', kind: 'throttle', times: 1 });
    await gateway.addFault({ service: 's3', operation: 'GetBucketVersioning', kind: 'server-error', times: 1 });

    const slow = await rejection(once.s3.send(new GetBucketVersioningCommand({ Bucket: bucket })));
    expect(slow).toBeInstanceOf(S3ServiceException);
    expect(slow.name).toBe('SlowDown');
    expect(slow.$metadata?.httpStatusCode).toBe(503);

    const internal = await rejection(once.s3.send(new GetBucketVersioningCommand({ Bucket: bucket })));
    expect(internal.name).toBe('InternalError');
    expect(internal.$metadata?.httpStatusCode).toBe(500);

    await expect(once.s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).resolves.toBeDefined();
    expect(await gateway.calls({ service: 's3', operation: 'GetBucketVersioning', resource: bucket })).toBe(3);
  });

  test('access-denied speaks each protocol: AccessDeniedException (400) for Glue, AccessDenied (403) in S3’s XML; non-retryable', async () => {
    const job = await createGlueJob();
    const bucket = await createBucket();
    // GetJob / GetBucketVersioning: used by no Sluice code path, so no parallel test consumes these.
    await gateway.addFault({ service: 'glue', operation: 'GetJob', resource: job, kind: 'access-denied', times: 1 });
    await gateway.addFault({
      service: 's3',
      operation: 'GetBucketVersioning',
      resource: bucket,
      kind: 'access-denied',
      times: 1,
    });

    // The default retrying clients: the SDK itself must not retry an access denial.
    const glueErr = await rejection(glue().send(new GetJobCommand({ JobName: job })));
    expect(glueErr.name).toBe('AccessDeniedException');
    expect(glueErr.$fault).toBe('client');
    expect(glueErr.$metadata?.httpStatusCode).toBe(400);
    expect(glueErr.message).toBe(
      `User: arn:aws:sts::123456789012:assumed-role/sluice-worker/local is not authorized to perform: glue:GetJob on resource: ${job} because no identity-based policy allows the glue:GetJob action`,
    );
    expect(await gateway.calls({ service: 'glue', operation: 'GetJob', resource: job })).toBe(1);

    const s3Err = await rejection(s3().send(new GetBucketVersioningCommand({ Bucket: bucket })));
    expect(s3Err).toBeInstanceOf(S3ServiceException);
    expect(s3Err.name).toBe('AccessDenied');
    expect(s3Err.$metadata?.httpStatusCode).toBe(403);
    expect(s3Err.message).toContain(
      `not authorized to perform: s3:GetBucketVersioning on resource: "arn:aws:s3:::${bucket}"`,
    );
    expect(await gateway.calls({ service: 's3', operation: 'GetBucketVersioning', resource: bucket })).toBe(1);

    // Used up: the next calls go through.
    expect((await glue().send(new GetJobCommand({ JobName: job }))).Job?.Name).toBe(job);
    await expect(s3().send(new GetBucketVersioningCommand({ Bucket: bucket }))).resolves.toBeDefined();
  });

  test('an error fault returns any AWS error code, status and message; bad fault bodies are refused', async () => {
    const job = await createGlueJob();
    await gateway.addFault({
      service: 'glue',
      operation: 'GetJob',
      resource: job,
      kind: 'error',
      errorCode: 'EntityNotFoundException',
      message: `Job ${job} not found`,
      times: 1,
    });
    const err = await rejection(once.glue.send(new GetJobCommand({ JobName: job })));
    expect(err.name).toBe('EntityNotFoundException');
    expect(err.message).toBe(`Job ${job} not found`);
    expect(err.$metadata?.httpStatusCode).toBe(400);
    await expect(gateway.addFault({ service: 'glue', operation: 'GetJob', kind: 'error' })).rejects.toThrow(
      /errorCode .* must be/,
    );
    await expect(
      gateway.addFault({ service: 'glue', operation: 'GetJob', kind: 'error', errorCode: 'X', status: 503 }),
    ).rejects.toThrow(/status, when given, must be a 4xx/);
  });

  test('call counts filter by service, operation and resource', async () => {
    const [jobA, jobB] = [await createGlueJob(), await createGlueJob()];
    const runA = await startRun(jobA);
    for (let i = 0; i < 3; i++) await getRun(jobA, runA);
    await glue().send(new GetJobRunsCommand({ JobName: jobA }));
    const runB = await startRun(jobB);
    await getRun(jobB, runB);

    expect(await gateway.calls({ service: 'glue', operation: 'GetJobRun', resource: jobA })).toBe(3);
    expect(await gateway.calls({ service: 'glue', operation: 'GetJobRuns', resource: jobA })).toBe(1);
    expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: jobA })).toBe(1);
    expect(await gateway.calls({ service: 'glue', operation: 'GetJobRun', resource: jobB })).toBe(1);
    // Without an operation: every call naming the job (CreateJob, StartJobRun, 3 × GetJobRun, GetJobRuns).
    expect(await gateway.calls({ service: 'glue', resource: jobA })).toBe(6);
    expect(await gateway.calls({ resource: jobA })).toBe(6);
    // The service is part of the filter.
    expect(await gateway.calls({ service: 'athena', resource: jobA })).toBe(0);
    // Without a resource, the count covers everyone's calls (other test files too): at least ours.
    expect(await gateway.calls({ service: 'glue', operation: 'GetJobRun' })).toBeGreaterThanOrEqual(4);
  });
});

describe('S3 forwarded to moto', () => {
  test('put, get, head and list through the gateway; the objects are moto’s', async () => {
    const bucket = await createBucket();
    const text = `region,total\neu,12\n`;
    const binary = randomBytes(256 * 1024);
    await s3().send(
      new PutObjectCommand({ Bucket: bucket, Key: 'raw/2024-03-01/sales.csv', Body: text, ContentType: 'text/csv' }),
    );
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'raw/2024-03-01/blob.bin', Body: binary }));
    await s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'other/readme.txt', Body: 'x' }));

    const got = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: 'raw/2024-03-01/sales.csv' }));
    expect(await got.Body?.transformToString()).toBe(text);
    expect(got.ContentType).toBe('text/csv');
    const blob = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: 'raw/2024-03-01/blob.bin' }));
    expect(Buffer.from((await blob.Body?.transformToByteArray()) ?? []).equals(binary)).toBe(true);
    const head = await s3().send(new HeadObjectCommand({ Bucket: bucket, Key: 'raw/2024-03-01/blob.bin' }));
    expect(head.ContentLength).toBe(binary.length);

    const listed = await s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'raw/2024-03-01/' }));
    expect(listed.KeyCount).toBe(2);
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(['raw/2024-03-01/blob.bin', 'raw/2024-03-01/sales.csv']);

    const missing = await rejection(
      s3().send(new HeadObjectCommand({ Bucket: bucket, Key: 'raw/2024-03-02/sales.csv' })),
    );
    expect(missing.$metadata?.httpStatusCode).toBe(404);

    // Forwarded, not emulated: moto itself holds the objects.
    const fromMoto = await direct.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'raw/2024-03-01/sales.csv' }));
    expect(await fromMoto.Body?.transformToString()).toBe(text);

    expect(await gateway.calls({ service: 's3', operation: 'PutObject', resource: bucket })).toBe(3);
    expect(await gateway.calls({ service: 's3', operation: 'GetObject', resource: bucket })).toBe(2);
    expect(await gateway.calls({ service: 's3', operation: 'ListObjectsV2', resource: bucket })).toBe(1);
    expect(await gateway.calls({ service: 's3', operation: 'HeadObject', resource: bucket })).toBe(2);
  });
});
