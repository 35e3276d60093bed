/** The pure parts of glue.crawler, databrew.job, emr.step, emr.cluster, emr.terminate and emr-serverless.job: state mapping, ids, names, tokens, validation. */
import { mapDataBrewState } from '../../kinds/databrew-job/handler';
import { mapEmrStepState, taggedStepName } from '../../kinds/emr-step/handler';
import { clusterKeyTag, mapEmrClusterState } from '../../kinds/emr-cluster/handler';
import { mapEmrTerminateState } from '../../kinds/emr-terminate/handler';
import { emrServerlessClientToken, mapEmrServerlessState } from '../../kinds/emr-serverless-job/handler';
import { crawlerJobId, mapCrawlState, parseCrawlerJobId } from '../../kinds/glue-crawler/handler';
import { stageIdempotencyKey } from '../../common/naming';
import { definePipeline, PipelineValidationError } from '../../common/pipeline';

function problems(stage: Record<string, unknown>): string {
  try {
    definePipeline({ name: 'p', stages: [{ id: 's', ...stage }] as never });
  } catch (err) {
    if (err instanceof PipelineValidationError) return err.message;
    throw err;
  }
  return '';
}

describe('glue.crawler', () => {
  test.each([
    ['RUNNING', 'running'],
    ['COMPLETED', 'succeeded'],
    ['FAILED', 'failed'],
    ['STOPPED', 'stopped'],
  ] as const)('crawl %s → %s', (aws, ours) => {
    expect(mapCrawlState({ State: aws }).state).toBe(ours);
  });

  test('a failed crawl keeps AWS’s message', () => {
    expect(mapCrawlState({ State: 'FAILED', ErrorMessage: 'Insufficient Lake Formation permission(s)' })).toEqual({
      state: 'failed',
      awsState: 'FAILED',
      message: 'Insufficient Lake Formation permission(s)',
    });
  });

  test('the job id names the crawler and the crawl; a crawler name may itself contain "@"', () => {
    const id = crawlerJobId('raw@orders', '1f42c2f6-f41f-4fb6-b8ca-a5d841daf8f0');
    expect(id).toBe('raw@orders@1f42c2f6-f41f-4fb6-b8ca-a5d841daf8f0');
    expect(parseCrawlerJobId(id)).toEqual({ name: 'raw@orders', crawlId: '1f42c2f6-f41f-4fb6-b8ca-a5d841daf8f0' });
    expect(() => parseCrawlerJobId('no-crawl-id')).toThrow(/<CrawlerName>@<CrawlId>/);
  });

  test('Name is required', () => {
    expect(problems({ kind: 'glue.crawler', params: {} })).toContain(
      'params.Name: required by glue.crawler (Glue StartCrawler)',
    );
  });
});

describe('databrew.job', () => {
  test.each([
    ['STARTING', 'running'],
    ['RUNNING', 'running'],
    ['STOPPING', 'running'],
    ['SUCCEEDED', 'succeeded'],
    ['FAILED', 'failed'],
    ['TIMEOUT', 'timeout'],
    ['STOPPED', 'stopped'],
  ] as const)('%s → %s', (aws, ours) => {
    expect(mapDataBrewState({ State: aws }).state).toBe(ours);
  });

  test('failed keeps AWS’s message; a timeout without one still says why', () => {
    expect(mapDataBrewState({ State: 'FAILED', ErrorMessage: 'Dataset not found' })).toEqual({
      state: 'failed',
      awsState: 'FAILED',
      message: 'Dataset not found',
    });
    expect(mapDataBrewState({ State: 'TIMEOUT' })).toMatchObject({
      state: 'timeout',
      message: expect.stringMatching(/timeout/) as unknown,
    });
  });
});

describe('emr.step', () => {
  test.each([
    ['PENDING', 'running'],
    ['RUNNING', 'running'],
    ['CANCEL_PENDING', 'running'],
    ['COMPLETED', 'succeeded'],
    ['FAILED', 'failed'],
    ['CANCELLED', 'stopped'],
    ['INTERRUPTED', 'stopped'],
  ] as const)('%s → %s', (aws, ours) => {
    expect(mapEmrStepState({ State: aws }).state).toBe(ours);
  });

  test('a failed step keeps FailureDetails (reason, message, log file)', () => {
    expect(
      mapEmrStepState({
        State: 'FAILED',
        FailureDetails: {
          Reason: 'Unknown Error.',
          Message: 'Exception in thread main',
          LogFile: 's3://logs/j-1/steps/s-1/',
        },
      }),
    ).toEqual({
      state: 'failed',
      awsState: 'FAILED',
      message: 'Unknown Error.: Exception in thread main (log: s3://logs/j-1/steps/s-1/)',
    });
    expect(mapEmrStepState({ State: 'FAILED', FailureDetails: { Reason: 'x', Message: 'x' } })).toMatchObject({
      message: 'x',
    });
    expect(mapEmrStepState({ State: 'CANCELLED', StateChangeReason: { Message: 'Cancelled by user' } })).toEqual({
      state: 'stopped',
      awsState: 'CANCELLED',
      message: 'Cancelled by user',
    });
  });

  test('the step name carries a hash of the key, stays within 256 characters, and differs per generation', () => {
    const key = stageIdempotencyKey('sales', '2024-03-01', 'spark', 0);
    const name = taggedStepName('nightly spark', key);
    expect(name).toMatch(/^nightly spark \[sluice:[0-9a-f]{16}\]$/);
    expect(taggedStepName('nightly spark', key)).toBe(name);
    expect(taggedStepName('nightly spark', stageIdempotencyKey('sales', '2024-03-01', 'spark', 1))).not.toBe(name);
    const long = taggedStepName('x'.repeat(400), key);
    expect(long).toHaveLength(256);
    expect(long.endsWith(name.slice('nightly spark'.length))).toBe(true);
  });

  test('Steps must hold exactly one step with a jar', () => {
    const jar = { Name: 'a', HadoopJarStep: { Jar: 'command-runner.jar' } };
    expect(problems({ kind: 'emr.step', params: { JobFlowId: 'j-1', Steps: [jar] } })).toBe('');
    expect(problems({ kind: 'emr.step', params: { JobFlowId: 'j-1', Steps: [jar, jar] } })).toContain(
      'params.Steps: emr.step runs exactly one step',
    );
    expect(problems({ kind: 'emr.step', params: { JobFlowId: 'j-1', Steps: [{ Name: 'a' }] } })).toContain(
      'params.Steps[0].HadoopJarStep.Jar: required by EMR AddJobFlowSteps',
    );
    const missing = problems({ kind: 'emr.step', params: {} });
    expect(missing).toContain('params.JobFlowId: required by emr.step');
    expect(missing).toContain('params.Steps: required by emr.step');
  });
});

describe('emr.cluster', () => {
  const params = {
    Name: 'nightly',
    ReleaseLabel: 'emr-7.0.0',
    Instances: { MasterInstanceType: 'm5.xlarge', InstanceCount: 1, KeepJobFlowAliveWhenNoSteps: true },
    JobFlowRole: 'EMR_EC2_DefaultRole',
    ServiceRole: 'EMR_DefaultRole',
  };

  test.each([
    ['STARTING', 'running'],
    ['BOOTSTRAPPING', 'running'],
    ['TERMINATING', 'running'],
    ['WAITING', 'succeeded'],
    ['RUNNING', 'succeeded'],
    ['TERMINATED_WITH_ERRORS', 'failed'],
    ['TERMINATED', 'failed'],
  ] as const)('starting: %s → %s', (aws, ours) => {
    expect(mapEmrClusterState({ State: aws }).state).toBe(ours);
  });

  test('ending while starting keeps AWS’s StateChangeReason; terminated by a user request is stopped', () => {
    expect(
      mapEmrClusterState({
        State: 'TERMINATED_WITH_ERRORS',
        StateChangeReason: { Code: 'VALIDATION_ERROR', Message: 'The subnet does not exist' },
      }),
    ).toEqual({
      state: 'failed',
      awsState: 'TERMINATED_WITH_ERRORS',
      message: 'The subnet does not exist (VALIDATION_ERROR)',
    });
    expect(
      mapEmrClusterState({
        State: 'TERMINATED',
        StateChangeReason: { Code: 'USER_REQUEST', Message: 'Terminated by user request' },
      }),
    ).toEqual({ state: 'stopped', awsState: 'TERMINATED', message: 'Terminated by user request (USER_REQUEST)' });
    expect(mapEmrClusterState({ State: 'TERMINATED', StateChangeReason: { Code: 'ALL_STEPS_COMPLETED' } })).toEqual({
      state: 'failed',
      awsState: 'TERMINATED',
      message: 'ALL_STEPS_COMPLETED',
    });
  });

  test('the key tag is the key itself, or its sha256 when longer than a tag value', () => {
    const key = stageIdempotencyKey('sales', '2024-03-01', 'cluster', 0);
    expect(clusterKeyTag(key)).toBe(key);
    const long = stageIdempotencyKey('sales', '2024-03-01', 'c'.repeat(300), 0);
    expect(clusterKeyTag(long)).toMatch(/^[0-9a-f]{64}$/);
    expect(clusterKeyTag(long)).toBe(clusterKeyTag(long));
  });

  test('Name, Instances and both roles are required; the cluster must stay alive without steps; sluice:* tags are reserved', () => {
    expect(problems({ kind: 'emr.cluster', params })).toBe('');
    const missing = problems({ kind: 'emr.cluster', params: {} });
    for (const f of ['Name', 'Instances', 'JobFlowRole', 'ServiceRole'])
      expect(missing).toContain(`params.${f}: required by emr.cluster`);
    expect(
      problems({
        kind: 'emr.cluster',
        params: { ...params, Instances: { ...params.Instances, KeepJobFlowAliveWhenNoSteps: false } },
      }),
    ).toContain('params.Instances.KeepJobFlowAliveWhenNoSteps');
    expect(problems({ kind: 'emr.cluster', params: { ...params, Instances: { InstanceCount: 1 } } })).toContain(
      'params.Instances.KeepJobFlowAliveWhenNoSteps',
    );
    const tagged = problems({
      kind: 'emr.cluster',
      params: {
        ...params,
        Tags: [
          { Key: 'team', Value: 'data' },
          { Key: 'sluice:stage-key', Value: 'x' },
        ],
      },
    });
    expect(tagged).toContain('params.Tags[1].Key');
    expect(tagged).not.toContain('params.Tags[0]');
  });
});

describe('emr.terminate', () => {
  test.each([
    ['STARTING', 'running'],
    ['WAITING', 'running'],
    ['TERMINATING', 'running'],
    ['TERMINATED', 'succeeded'],
    ['TERMINATED_WITH_ERRORS', 'succeeded'],
  ] as const)('%s → %s', (aws, ours) => {
    expect(mapEmrTerminateState({ State: aws }).state).toBe(ours);
  });

  test('ClusterId is required; an emr.cluster stage’s output is the usual value', () => {
    expect(problems({ kind: 'emr.terminate', params: {} })).toContain('params.ClusterId: required by emr.terminate');
    expect(problems({ kind: 'emr.terminate', params: { ClusterId: 'j-1' } })).toBe('');
  });
});

describe('emr-serverless.job', () => {
  test.each([
    ['SUBMITTED', 'running'],
    ['PENDING', 'running'],
    ['SCHEDULED', 'running'],
    ['RUNNING', 'running'],
    ['QUEUED', 'running'],
    ['CANCELLING', 'running'],
    ['SUCCESS', 'succeeded'],
    ['FAILED', 'failed'],
    ['CANCELLED', 'stopped'],
  ] as const)('%s → %s', (aws, ours) => {
    expect(mapEmrServerlessState({ state: aws }).state).toBe(ours);
  });

  test('failed keeps stateDetails', () => {
    expect(mapEmrServerlessState({ state: 'FAILED', stateDetails: 'Job failed, please check complete logs' })).toEqual({
      state: 'failed',
      awsState: 'FAILED',
      message: 'Job failed, please check complete logs',
    });
  });

  test('the client token fits the API (1–64 of [A-Za-z0-9._-]) and is stable per key', () => {
    const key = stageIdempotencyKey('a-very-long-pipeline-name'.repeat(10), '2024-03-01', 'spark', 3);
    const token = emrServerlessClientToken(key);
    expect(token).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(emrServerlessClientToken(key)).toBe(token);
  });

  test('clientToken is set by Sluice; the start request’s own fields are required', () => {
    const out = problems({
      kind: 'emr-serverless.job',
      params: { applicationId: 'a', executionRoleArn: 'r', jobDriver: {}, clientToken: 'mine' },
    });
    expect(out).toContain('params.clientToken: set by Sluice');
    const missing = problems({ kind: 'emr-serverless.job', params: {} });
    for (const f of ['applicationId', 'executionRoleArn', 'jobDriver'])
      expect(missing).toContain(`params.${f}: required by emr-serverless.job`);
  });
});
