/**
 * Cancelling a forEach.s3 fan-out while its keys are still being listed, through `sluice cancel`:
 * the stage's listing (listKeyChunks, before any chunk exists) and a chunk's listing of its own
 * key range (listKeyRange, before its first item starts). The gateway holds the ListObjectsV2 call
 * so the cancel lands inside the window. The run ends CANCELLED, no chunk or item starts, and
 * nothing starts once the held listing returns.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { readRunStatus } from '../../client/runs';
import { awsClients, createBucket, createGlueJob, uniqueName } from '../support/aws';
import { sluice } from '../support/cli';
import { gateway } from '../support/gateway';
import { cliEnv, fileContext, waitFor } from '../support/temporal';

const DS = '2024-03-01';
/** How long the gateway holds the ListObjectsV2 call the cancel must land in. */
const HELD_MS = 10_000;
const ctx = fileContext('e2e-fanout-listing');
const env = cliEnv(ctx);
let worker: Worker;
const dir = mkdtempSync(path.join(tmpdir(), 'sluice-fanout-listing-'));

beforeAll(async () => {
  worker = (await ctx.startWorker()).worker;
});

/** A bucket with `n` keys under the date's prefix, a Glue job, and a pipeline fanning out over them. */
async function setup(n: number): Promise<{ name: string; bucket: string; job: string; file: string }> {
  const name = uniqueName('fan-listing');
  const [bucket, job] = [await createBucket(), await createGlueJob(uniqueName('job'), 100)];
  await gateway.setScenario({ service: 'glue', match: job, durationMs: 200, outcome: 'SUCCEEDED' });
  for (let i = 0; i < n; i++)
    await awsClients().s3.send(new PutObjectCommand({ Bucket: bucket, Key: `raw/dt=${DS}/part-${i}.gz`, Body: 'x' }));
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
defaults: { poll: { initial: 200ms, max: 1s } }
stages:
  - id: transform
    kind: glue.job
    forEach:
      s3: { Bucket: ${bucket}, Prefix: "raw/dt={{ ds }}/" }
      concurrency: 4
    params: { JobName: ${job}, Arguments: { "--key": "{{ item }}" } }
`,
  );
  return { name, bucket, job, file };
}

const listings = (bucket: string) => gateway.calls({ service: 's3', operation: 'ListObjectsV2', resource: bucket });

async function exists(workflowId: string): Promise<string | undefined> {
  try {
    return (await ctx.client.workflow.getHandle(workflowId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Cancels through the CLI once `listed` ListObjectsV2 calls reached the gateway; checks what the cancel left. */
async function cancelDuringListing(listed: number, s: Awaited<ReturnType<typeof setup>>): Promise<void> {
  const res = await sluice(['run', '-p', s.file, '-d', DS], env);
  expect(res.code).toBe(0);
  await waitFor('the held listing call', async () => (await listings(s.bucket)) >= listed, 60_000, 50);
  const cancel = await sluice(['cancel', s.name, DS], env, 60_000);
  expect(cancel.stderr).toBe('');
  expect(cancel.code).toBe(0);
  expect(cancel.stdout).toContain(`Run ${s.name}/${DS} cancelled`);
  const runId = `${s.name}/${DS}`;
  expect(await exists(runId)).toBe('CANCELLED');
  // The held call returns; the listing activity ends (its result goes nowhere).
  await waitFor('the listing activity to end', async () => worker.getStatus().numInFlightActivities === 0, 60_000);
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: s.job })).toBe(0);
  const status = await readRunStatus(ctx.client.workflow, runId);
  expect(status?.status).toBe('cancelled');
  expect(status?.stages[0]?.state).toBe('cancelled');
}

test('cancelled while the stage lists the keys under the prefix: CANCELLED, no chunk and no item ever starts', async () => {
  const s = await setup(3);
  await gateway.addFault({
    service: 's3',
    operation: 'ListObjectsV2',
    resource: s.bucket,
    kind: 'latency',
    latencyMs: HELD_MS,
  });
  await cancelDuringListing(1, s);
  expect(await exists(`${s.name}/${DS}/transform/g0`)).toBe('CANCELLED');
  expect(await exists(`${s.name}/${DS}/transform/g0/chunk-0`)).toBeUndefined();
  expect(await listings(s.bucket)).toBe(1);
});

test('cancelled while the first chunk lists its key range: CANCELLED, the chunk starts no item', async () => {
  const s = await setup(3);
  // The stage's listing passes; the chunk's own listing of its range is held.
  await gateway.addFault({
    service: 's3',
    operation: 'ListObjectsV2',
    resource: s.bucket,
    kind: 'latency',
    latencyMs: 0,
  });
  await gateway.addFault({
    service: 's3',
    operation: 'ListObjectsV2',
    resource: s.bucket,
    kind: 'latency',
    latencyMs: HELD_MS,
  });
  await cancelDuringListing(2, s);
  // The stage's workflow returns what it did (a child's cancellation would carry no details).
  expect(await exists(`${s.name}/${DS}/transform/g0`)).toBe('COMPLETED');
  expect(await exists(`${s.name}/${DS}/transform/g0/chunk-0`)).toBe('CANCELLED');
  const status = await readRunStatus(ctx.client.workflow, `${s.name}/${DS}`);
  expect(status?.stages[0]?.result?.output).toMatchObject({ items: 3, succeeded: 0, failed: 0, cancelled: 0 });
  expect(await listings(s.bucket)).toBe(2);
});
