/** Real AWS SDK clients pointed at the local endpoint, and the fixtures tests create with them. */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateJobCommand, GetJobRunCommand, GetJobRunsCommand } from '@aws-sdk/client-glue';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, type Runtime } from '@aws-sdk/client-lambda';
import { createAwsClients, type AwsClients } from '../../activities/aws-clients';

let clients: AwsClients | undefined;
export function awsClients(): AwsClients {
  clients ??= createAwsClients();
  return clients;
}

/** A name no other test (or earlier run against the same stack) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function createBucket(name = uniqueName('bucket')): Promise<string> {
  await awsClients().s3.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

export async function createGlueJob(name = uniqueName('job'), maxConcurrentRuns = 1): Promise<string> {
  await awsClients().glue.send(
    new CreateJobCommand({
      Name: name,
      Role: 'arn:aws:iam::123456789012:role/glue',
      Command: { Name: 'glueetl', ScriptLocation: 's3://scripts/etl.py' },
      ExecutionProperty: { MaxConcurrentRuns: maxConcurrentRuns },
    }),
  );
  return name;
}

export async function glueRunState(jobName: string, runId: string): Promise<string | undefined> {
  const out = await awsClients().glue.send(new GetJobRunCommand({ JobName: jobName, RunId: runId }));
  return out.JobRun?.JobRunState;
}

/** States of every run of a Glue job, newest first. */
/** A Glue job's runs and the most of them at AWS at once, from Glue's own StartedOn/CompletedOn. */
export async function glueRunPeak(job: string): Promise<{ runs: number; peak: number }> {
  const edges: [number, number][] = [];
  let runs = 0;
  let token: string | undefined;
  do {
    const out = await awsClients().glue.send(
      new GetJobRunsCommand({ JobName: job, MaxResults: 200, NextToken: token }),
    );
    for (const r of out.JobRuns ?? []) {
      runs++;
      edges.push([r.StartedOn!.getTime(), 1], [(r.CompletedOn ?? new Date()).getTime(), -1]);
    }
    token = out.NextToken;
  } while (token);
  // An end and a start at the same instant: the end first.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (now += d));
  return { runs, peak };
}

export async function glueRunStates(jobName: string): Promise<string[]> {
  const out = await awsClients().glue.send(new GetJobRunsCommand({ JobName: jobName }));
  return (out.JobRuns ?? []).map((r) => r.JobRunState ?? 'UNKNOWN');
}

let lambdaRoleArn: string | undefined;

/** Lambda checks that the execution role exists (the IAM client is a test-only dependency). */
async function lambdaRole(): Promise<string> {
  if (lambdaRoleArn) return lambdaRoleArn;
  const iam = new IAMClient({});
  const out = await iam.send(
    new CreateRoleCommand({
      RoleName: uniqueName('lambda-role'),
      AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}',
    }),
  );
  iam.destroy();
  if (!out.Role?.Arn) throw new Error('CreateRole returned no ARN');
  lambdaRoleArn = out.Role.Arn;
  return lambdaRoleArn;
}

/** A Lambda function with an empty package: the local endpoint answers its invocations. */
export async function createLambdaFunction(
  name = uniqueName('fn'),
  runtime: Runtime = 'nodejs20.x',
  clients: AwsClients = awsClients(),
): Promise<string> {
  await clients.lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: runtime,
      Role: await lambdaRole(),
      Handler: 'index.handler',
      Code: { ZipFile: Buffer.from('UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==', 'base64') },
    }),
  );
  return name;
}
