/**
 * End to end: the EMR cluster lifecycle (emr.cluster → emr.step on that cluster → emr.terminate)
 * through a real worker on the real dev server, the AWS SDK over HTTP to the local endpoint (moto
 * keeps the clusters; the gateway runs their lifecycle and their steps). Every test has its own
 * cluster name, and counts RunJobFlow by that name and the other calls by the cluster id.
 */
import {
  DescribeClusterCommand,
  ListClustersCommand,
  ListStepsCommand,
  RunJobFlowCommand,
  TerminateJobFlowsCommand,
  type RunJobFlowCommandInput,
} from '@aws-sdk/client-emr';
import { CancelledFailure, type WorkflowFailedError } from '@temporalio/client';
import { taggedStepName } from '../../kinds/emr-step/handler';
import { EMR_CLUSTER_TAGS, ERROR_TYPES } from '../../common/constants';
import { stageIdempotencyKey } from '../../common/naming';
import { definePipeline, type PipelineDefinition, type StageDefinition } from '../../common/pipeline';
import type { RunStatus, StageStatus } from '../../common/run-types';
import { startRun, waitForRun, type RunOutcome } from '../../client/runs';
import { awsClients, uniqueName } from '../support/aws';
import { spawnWorker } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, waitFor, temporalTestContext } from '../support/temporal';
import { runToEnd as runOn } from '../support/runs';
import { FAST } from '../support/timing';

const ctx = fileContext('e2e-emr-cluster', { worker: {} });

const fast = FAST;
const DS = '2024-03-01';

// ---------------------------------------------------------------- fixtures and helpers

function clusterParams(name: string): RunJobFlowCommandInput & Record<string, unknown> {
  return {
    Name: name,
    ReleaseLabel: 'emr-7.0.0',
    Instances: {
      MasterInstanceType: 'm5.xlarge',
      SlaveInstanceType: 'm5.xlarge',
      InstanceCount: 3,
      KeepJobFlowAliveWhenNoSteps: true,
    },
    JobFlowRole: 'EMR_EC2_DefaultRole',
    ServiceRole: 'EMR_DefaultRole',
    Tags: [{ Key: 'team', Value: 'data' }],
  };
}

function pipelineOf(
  prefix: string,
  stages: (Omit<StageDefinition, 'dependsOn'> & { dependsOn?: string[] })[],
): PipelineDefinition {
  return definePipeline({ name: uniqueName(prefix), defaults: fast, stages });
}

const runToEnd = (pipeline: PipelineDefinition): Promise<RunOutcome> => runOn(ctx, pipeline, DS);

function stageOf(status: RunStatus | undefined, id: string): StageStatus | undefined {
  return status?.stages.find((s) => s.id === id);
}

async function clusterStatus(id: string) {
  return (await awsClients().emr.send(new DescribeClusterCommand({ ClusterId: id }))).Cluster;
}

/** The ids of the clusters of that name (ListClusters), newest first. */
async function clustersNamed(name: string): Promise<string[]> {
  const out = await awsClients().emr.send(new ListClustersCommand({}));
  return (out.Clusters ?? []).filter((c) => c.Name === name).map((c) => c.Id as string);
}

async function startCluster(name: string, tags: { Key: string; Value: string }[] = []): Promise<string> {
  const out = await awsClients().emr.send(new RunJobFlowCommand({ ...clusterParams(name), Tags: tags }));
  return out.JobFlowId as string;
}

const runJobFlows = (name: string) => gateway.calls({ service: 'emr', operation: 'RunJobFlow', resource: name });
const terminates = (id: string) => gateway.calls({ service: 'emr', operation: 'TerminateJobFlows', resource: id });

// ---------------------------------------------------------------- emr.cluster → emr.step → emr.terminate

describe('the cluster lifecycle', () => {
  test('cluster → step on it (its id from the stage output) → terminate (all_done): one RunJobFlow, the cluster ends TERMINATED', async () => {
    const name = uniqueName('nightly');
    const stepName = uniqueName('orders');
    await gateway.setScenario({ service: 'emr-cluster', match: name, durationMs: 1200, outcome: 'SUCCEEDED' });
    await gateway.setScenario({ service: 'emr', match: stepName, durationMs: 800, outcome: 'SUCCEEDED' });
    const pipeline = pipelineOf('emrlife', [
      { id: 'cluster', kind: 'emr.cluster', params: clusterParams(name) },
      {
        id: 'spark',
        kind: 'emr.step',
        dependsOn: ['cluster'],
        params: {
          JobFlowId: '{{ stages.cluster.output.clusterId }}',
          Steps: [
            {
              Name: stepName,
              ActionOnFailure: 'CONTINUE',
              HadoopJarStep: {
                Jar: 'command-runner.jar',
                Args: ['spark-submit', 's3://lake/jobs/orders.py', '{{ ds }}'],
              },
            },
          ],
        },
      },
      {
        id: 'terminate',
        kind: 'emr.terminate',
        dependsOn: ['spark'],
        trigger: 'all_done',
        params: { ClusterId: '{{ stages.cluster.output.clusterId }}' },
      },
    ]);
    const outcome = await runToEnd(pipeline);
    if (!outcome.ok) throw new Error(outcome.message);

    const cluster = stageOf(outcome.status, 'cluster');
    const id = cluster?.jobId as string;
    expect(id).toMatch(/^j-[A-Z0-9]+$/);
    expect(cluster?.result?.output).toMatchObject({
      clusterId: id,
      clusterArn: expect.stringContaining(`:cluster/${id}`) as unknown,
      name,
      state: 'WAITING',
    });
    // The step ran on that cluster, the key in its name.
    const steps = (await awsClients().emr.send(new ListStepsCommand({ ClusterId: id }))).Steps ?? [];
    expect(steps.map((s) => [s.Name, s.Status?.State])).toEqual([
      [taggedStepName(stepName, stageIdempotencyKey(pipeline.name, DS, 'spark', 0)), 'COMPLETED'],
    ]);
    expect(stageOf(outcome.status, 'spark')?.result?.output).toMatchObject({ clusterId: id });
    expect(stageOf(outcome.status, 'terminate')?.result?.output).toMatchObject({
      clusterId: id,
      state: 'TERMINATED',
      withErrors: false,
      stateChangeReason: { code: 'USER_REQUEST', message: 'Terminated by user request' },
    });

    const after = await clusterStatus(id);
    expect(after?.Status?.State).toBe('TERMINATED');
    expect(after?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'team', Value: 'data' },
        { Key: EMR_CLUSTER_TAGS.pipeline, Value: pipeline.name },
        { Key: EMR_CLUSTER_TAGS.stageKey, Value: stageIdempotencyKey(pipeline.name, DS, 'cluster', 0) },
      ]),
    );
    expect(await runJobFlows(name)).toBe(1);
    expect(await clustersNamed(name)).toEqual([id]);
    expect(await gateway.calls({ service: 'emr', operation: 'AddJobFlowSteps', resource: id })).toBe(1);
    expect(await terminates(id)).toBe(1);
  });

  test('a cluster that fails to start fails the stage with AWS’s StateChangeReason, without a second RunJobFlow', async () => {
    const name = uniqueName('nightly');
    await gateway.setScenario({
      service: 'emr-cluster',
      match: name,
      durationMs: 800,
      outcome: 'FAILED',
      message: 'VALIDATION_ERROR: The subnet subnet-0bb1c79de3EXAMPLE does not exist.',
    });
    const outcome = await runToEnd(
      definePipeline({
        name: uniqueName('emrfail'),
        defaults: { ...fast, retry: { initialInterval: '200ms', maximumAttempts: 5 } },
        stages: [{ id: 'cluster', kind: 'emr.cluster', params: clusterParams(name) }],
      }),
    );
    if (outcome.ok) throw new Error('the run should have failed');
    expect(outcome.stage).toBe('cluster');
    expect(stageOf(outcome.status, 'cluster')?.error?.type).toBe(ERROR_TYPES.jobFailed);
    expect(outcome.message).toMatch(
      /^Stage "cluster" \(emr\.cluster\) failed: EMR cluster job j-[A-Z0-9]+ ended TERMINATED_WITH_ERRORS: The subnet subnet-0bb1c79de3EXAMPLE does not exist\. \(VALIDATION_ERROR\)$/,
    );
    expect(await runJobFlows(name)).toBe(1);
  });

  test('a run cancelled while the cluster is starting terminates it: TerminateJobFlows once, the cluster TERMINATED', async () => {
    const name = uniqueName('nightly');
    await gateway.setScenario({ service: 'emr-cluster', match: name, outcome: 'HANG' });
    const pipeline = pipelineOf('emrcancel', [{ id: 'cluster', kind: 'emr.cluster', params: clusterParams(name) }]);
    const started = await startRun(ctx.client, ctx.settings, pipeline, DS, { generation: 0 });
    const id = await waitFor('the cluster to be started', async () => (await clustersNamed(name))[0]);
    await waitFor(
      'the cluster to be polled',
      async () => (await gateway.calls({ service: 'emr', operation: 'DescribeCluster', resource: id })) >= 2,
    );
    expect((await clusterStatus(id))?.Status?.State).toBe('STARTING');
    await started.handle.cancel();
    const err: unknown = await started.handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const status = await started.handle.query<RunStatus>('status');
    expect(stageOf(status, 'cluster')?.state).toBe('cancelled');
    const after = await clusterStatus(id);
    expect([after?.Status?.State, after?.Status?.StateChangeReason?.Code]).toEqual(['TERMINATED', 'USER_REQUEST']);
    expect(await terminates(id)).toBe(1);
    expect(await runJobFlows(name)).toBe(1);
  });

  test('a cluster already tagged with the stage’s key (an attempt that died after RunJobFlow) is adopted: no second cluster', async () => {
    const name = uniqueName('nightly');
    await gateway.setScenario({ service: 'emr-cluster', match: name, durationMs: 1000, outcome: 'SUCCEEDED' });
    const pipeline = pipelineOf('emrfind', [{ id: 'cluster', kind: 'emr.cluster', params: clusterParams(name) }]);
    // A cluster of the same name that is not this stage's (another key) is left alone.
    const other = await startCluster(name, [
      { Key: EMR_CLUSTER_TAGS.stageKey, Value: stageIdempotencyKey(pipeline.name, DS, 'cluster', 7) },
    ]);
    const orphan = await startCluster(name, [
      { Key: EMR_CLUSTER_TAGS.pipeline, Value: pipeline.name },
      { Key: EMR_CLUSTER_TAGS.stageKey, Value: stageIdempotencyKey(pipeline.name, DS, 'cluster', 0) },
    ]);
    const outcome = await runToEnd(pipeline);
    if (!outcome.ok) throw new Error(outcome.message);
    const stage = stageOf(outcome.status, 'cluster');
    expect(stage?.jobId).toBe(orphan);
    expect(stage?.result?.reattached).toBe(true);
    expect(await runJobFlows(name)).toBe(2);
    expect((await clustersNamed(name)).sort()).toEqual([orphan, other].sort());
    await awsClients().emr.send(new TerminateJobFlowsCommand({ JobFlowIds: [orphan, other] }));
  });
});

describe('worker crashes', () => {
  test('killing the worker while the cluster starts: a new worker reattaches to it, one RunJobFlow', async () => {
    const name = uniqueName('nightly');
    await gateway.setScenario({ service: 'emr-cluster', match: name, durationMs: 6000, outcome: 'SUCCEEDED' });
    const crashCtx = await temporalTestContext('e2e-emr-cluster-crash');
    try {
      const pipeline = definePipeline({
        name: uniqueName('emrcrash'),
        defaults: { ...fast, timeout: { heartbeat: '2s' }, retry: { initialInterval: '200ms' } },
        stages: [{ id: 'cluster', kind: 'emr.cluster', params: clusterParams(name) }],
      });
      const doomed = await spawnWorker({ SLUICE_TASK_QUEUE: crashCtx.settings.taskQueue });
      const started = await startRun(crashCtx.client, crashCtx.settings, pipeline, DS, { generation: 0 });
      const id = await waitFor('the cluster to be started', async () => (await clustersNamed(name))[0]);
      await waitFor(
        'the first worker to poll the cluster',
        async () => (await gateway.calls({ service: 'emr', operation: 'DescribeCluster', resource: id })) >= 2,
      );
      const exited = new Promise((r) => doomed.once('exit', r));
      doomed.kill('SIGKILL');
      await exited;
      expect((await clusterStatus(id))?.Status?.State).not.toBe('WAITING');

      await crashCtx.startWorker();
      const outcome = await waitForRun(started.handle);
      if (!outcome.ok) throw new Error(outcome.message);
      const stage = stageOf(outcome.status, 'cluster');
      expect(stage?.jobId).toBe(id);
      expect(stage?.result?.reattached).toBe(true);
      expect(await runJobFlows(name)).toBe(1);
      await awsClients().emr.send(new TerminateJobFlowsCommand({ JobFlowIds: [id] }));
    } finally {
      await crashCtx.close();
    }
  });
});

// ---------------------------------------------------------------- emr.terminate

describe('emr.terminate', () => {
  const terminatePipeline = (clusterId: string) =>
    pipelineOf('emrterm', [{ id: 'terminate', kind: 'emr.terminate', params: { ClusterId: clusterId } }]);

  test('an already terminated cluster succeeds at once, without another TerminateJobFlows', async () => {
    const name = uniqueName('done');
    await gateway.setScenario({ service: 'emr-cluster', match: name, durationMs: 200, outcome: 'SUCCEEDED' });
    const id = await startCluster(name);
    await awsClients().emr.send(new TerminateJobFlowsCommand({ JobFlowIds: [id] }));
    await waitFor('the cluster to end', async () => (await clusterStatus(id))?.Status?.State === 'TERMINATED');
    const outcome = await runToEnd(terminatePipeline(id));
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.status.stages[0]?.result?.output).toMatchObject({ clusterId: id, state: 'TERMINATED' });
    expect(await terminates(id)).toBe(1);
  });

  test('a cluster that ended TERMINATED_WITH_ERRORS is terminated: the stage succeeds and reports it', async () => {
    const name = uniqueName('broken');
    await gateway.setScenario({
      service: 'emr-cluster',
      match: name,
      durationMs: 200,
      outcome: 'FAILED',
      message: 'INSTANCE_FAILURE: Instance i-0123 failed to start',
    });
    const id = await startCluster(name);
    await waitFor(
      'the cluster to fail',
      async () => (await clusterStatus(id))?.Status?.State === 'TERMINATED_WITH_ERRORS',
    );
    const outcome = await runToEnd(terminatePipeline(id));
    if (!outcome.ok) throw new Error(outcome.message);
    const stage = outcome.status.stages[0];
    expect(stage?.result?.output).toMatchObject({
      state: 'TERMINATED_WITH_ERRORS',
      withErrors: true,
      stateChangeReason: { code: 'INSTANCE_FAILURE', message: 'Instance i-0123 failed to start' },
    });
    expect(stage?.result?.summary).toBe(
      `EMR cluster ${id} TERMINATED_WITH_ERRORS: Instance i-0123 failed to start (INSTANCE_FAILURE)`,
    );
    expect(await terminates(id)).toBe(0);
  });

  test('a nonexistent cluster fails with an AwsRequestError carrying AWS’s message', async () => {
    const outcome = await runToEnd(terminatePipeline('j-NOSUCHCLUSTER1'));
    if (outcome.ok) throw new Error('the run should have failed');
    expect(outcome.status?.stages[0]?.error?.type).toBe(ERROR_TYPES.awsRequest);
    expect(outcome.message).toContain("Cluster id 'j-NOSUCHCLUSTER1' is not valid.");
    expect(await terminates('j-NOSUCHCLUSTER1')).toBe(0);
  });
});
