/** Real AWS SDK clients pointed at the local endpoint, and the fixtures tests create with them. */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateJobCommand, GetJobRunCommand, GetJobRunsCommand } from '@aws-sdk/client-glue';
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
export async function glueRunStates(jobName: string): Promise<string[]> {
  const out = await awsClients().glue.send(new GetJobRunsCommand({ JobName: jobName }));
  return (out.JobRuns ?? []).map((r) => r.JobRunState ?? 'UNKNOWN');
}
