/**
 * The team's worker and a starter in one process: a Worker with its own workflows and activities
 * and SluicePlugin, then one `nightlyReport` run, whose result is printed as JSON.
 *
 *   node lib/main.js <bucket> [ds]
 *
 * Connects to TEMPORAL_ADDRESS (default 127.0.0.1:7233); the pipeline's stage reaches AWS (or
 * AWS_ENDPOINT_URL) with the default credential chain.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadPipelineFile, runWorkflowId, SluicePlugin } from 'sluice';
import * as activities from './activities';
import type { nightlyReport } from './workflows';

async function main(): Promise<void> {
  const [bucket, ds = '2024-03-01'] = process.argv.slice(2);
  if (!bucket) throw new Error('usage: node lib/main.js <bucket> [ds]');
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.EMBED_TASK_QUEUE ?? 'embed-example';
  const pipeline = loadPipelineFile(path.join(__dirname, '..', 'pipeline.yaml'));

  // One plugin instance for the worker and the client.
  const sluice = new SluicePlugin();
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities,
    plugins: [sluice],
  });
  const client = new Client({ connection: await Connection.connect({ address }), namespace, plugins: [sluice] });

  const parentId = `embed-report/${ds}/${Date.now()}`;
  const result = await worker.runUntil(
    client.workflow.execute<typeof nightlyReport>('nightlyReport', {
      taskQueue,
      workflowId: parentId,
      args: [{ team: 'embed', ds, bucket, pipeline }],
    }),
  );
  const child = await client.workflow.getHandle(runWorkflowId(pipeline.name, ds)).describe();
  console.log(
    JSON.stringify({
      ...result,
      child: {
        workflowId: child.workflowId,
        type: child.type,
        parent: child.parentExecution?.workflowId,
        summary: (await child.staticSummary()) ?? null,
        searchAttributes: Object.fromEntries(child.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])),
      },
    }),
  );
  await client.connection.close();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
