/**
 * SluicePlugin's configuration of a team's Worker, bundle and Client: Sluice's pieces are added
 * beside the team's own, never in their place.
 */
import type { PayloadCodec } from '@temporalio/common';
import type { WorkerOptions } from '@temporalio/worker';
import { definePipeline } from '../../common/pipeline';
import { runStartOptions } from '../../common/run-start';
import { RUN_SHAPE } from '../../common/run-shape';
import { sluiceActivityInterceptors } from '../../plugin/activity-interceptors';
import { SluicePlugin, WORKFLOW_INTERCEPTORS_PATH } from '../../plugin/plugin';
import { pipelineChildOptions } from '../../workflows/child';

const mine = {
  async composeNote(): Promise<string> {
    return 'note';
  },
};
const teamInterceptor = () => ({});
const codec = (tag: string): PayloadCodec => ({
  encode: async (p) => p.map((x) => ({ ...x, metadata: { ...x.metadata, [tag]: new Uint8Array([1]) } })),
  decode: async (p) => p,
});

test("on a Worker: Sluice's activities and interceptors beside the team's own", () => {
  const out = new SluicePlugin().configureWorker({
    taskQueue: 'team',
    workflowsPath: '/team/workflows.js',
    activities: mine,
    interceptors: { activity: [teamInterceptor], workflowModules: ['/team/interceptors.js'] },
  });
  expect(Object.keys(out.activities ?? {})).toEqual(
    expect.arrayContaining(['composeNote', 'runStage', 'stopRunJobs', 'stopStageJob', 'listDateRuns', 'awaitRun']),
  );
  expect((out.activities as typeof mine).composeNote).toBe(mine.composeNote);
  expect(out.interceptors?.activity).toEqual([teamInterceptor, sluiceActivityInterceptors]);
  expect(out.interceptors?.workflowModules).toEqual(['/team/interceptors.js', WORKFLOW_INTERCEPTORS_PATH]);
  expect(out.workflowsPath).toBe('/team/workflows.js');
  expect(out.dataConverter).toBeUndefined();
});

test('a prebuilt bundle: the workflow interceptor goes in at bundling time, where the plugin adds it', () => {
  const plugin = new SluicePlugin();
  const worker = plugin.configureWorker({ taskQueue: 'team', workflowBundle: { codePath: '/team/bundle.js' } });
  expect(worker.interceptors?.workflowModules ?? []).not.toContain(WORKFLOW_INTERCEPTORS_PATH);
  const bundle = plugin.configureBundler({ workflowsPath: '/team/workflows.js' });
  expect(bundle.workflowInterceptorModules).toEqual([WORKFLOW_INTERCEPTORS_PATH]);
});

test("an activity name the team already uses is refused, naming it, instead of replacing the team's", () => {
  const options: WorkerOptions = { taskQueue: 'team', workflowsPath: '/w.js', activities: { ...mine, runStage() {} } };
  expect(() => new SluicePlugin().configureWorker(options)).toThrow(/activities named runStage.*rename/s);
});

test('`activities` replaces Sluice’s set (stand-ins, or none for a workflow-only worker)', () => {
  const out = new SluicePlugin({ activities: {} }).configureWorker({ taskQueue: 'q', workflowsPath: '/w.js' });
  expect(out.activities).toEqual({});
});

test("payload codecs: appended to the Client's and Worker's own; without any, their converter is untouched", () => {
  const theirs = codec('theirs');
  const ours = codec('ours');
  const dataConverter = { payloadCodecs: [theirs], payloadConverterPath: '/team/converter.js' };
  const client = new SluicePlugin({ payloads: { codecs: [ours] } }).configureClient({ dataConverter });
  expect(client.dataConverter).toEqual({ payloadConverterPath: '/team/converter.js', payloadCodecs: [theirs, ours] });
  const worker = new SluicePlugin({ payloads: { codecs: [ours] } }).configureWorker({
    taskQueue: 'q',
    workflowsPath: '/w.js',
  });
  expect(worker.dataConverter?.payloadCodecs).toEqual([ours]);
  expect(new SluicePlugin().configureClient({ dataConverter }).dataConverter).toBe(dataConverter);
});

test('the child options are the start options the client uses, with a parent close policy that cancels, not terminates', () => {
  const pipeline = definePipeline({
    name: 'sales',
    stages: [{ id: 'etl', kind: 'glue.job', params: { JobName: 'j' } }],
  });
  const child = pipelineChildOptions(pipeline, '2024-03-01', { generation: 2, params: { a: 1 } });
  expect(child).toMatchObject(runStartOptions(pipeline, '2024-03-01', 2, { a: 1 }));
  expect(child).toMatchObject({
    workflowId: 'sales/2024-03-01',
    staticSummary: 'Pipeline sales for 2024-03-01 (1 stage)',
    parentClosePolicy: 'REQUEST_CANCEL',
    cancellationType: 'WAIT_CANCELLATION_COMPLETED',
  });
  expect(child.args[0]).toEqual({ pipeline, ds: '2024-03-01', generation: 2, params: { a: 1 }, shape: RUN_SHAPE });
});
