/** startRun never guesses a rerun's generation: without visibility it fails before starting anything. */
import type { Client } from '@temporalio/client';
import { describeError, exitCodeFor, GenerationUnknownError } from '../../client/errors';
import { startRun } from '../../client/runs';
import { definePipeline } from '../../common/pipeline';
import type { RunPipelineInput } from '../../common/run-types';

const pipeline = definePipeline({ name: 'sales', stages: [{ id: 'etl', kind: 'glue.job', params: { JobName: 'j' } }] });
const settings = { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'sluice' };

/** A client whose visibility is down; it records what it was asked to start. */
function clientWithoutVisibility(started: RunPipelineInput[]): Client {
  return {
    workflow: {
      count: () => Promise.reject(new Error('14 UNAVAILABLE: visibility store is unavailable')),
      start: (_type: string, o: { args: [RunPipelineInput] }) => {
        started.push(o.args[0]);
        return Promise.resolve({ firstExecutionRunId: 'r1' });
      },
    },
  } as unknown as Client;
}

test('visibility unreadable: a clear error (retry, or --generation N), exit 1, and nothing started', async () => {
  const started: RunPipelineInput[] = [];
  const err: unknown = await startRun(clientWithoutVisibility(started), settings, pipeline, '2024-03-01').catch(
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GenerationUnknownError);
  expect(started).toEqual([]);
  const text = describeError(err);
  expect(text).toContain('cannot count the earlier runs of sales/2024-03-01');
  expect(text).toContain('14 UNAVAILABLE: visibility store is unavailable');
  expect(text).toContain('nothing was started');
  expect(text).toMatch(/Fix: retry .*--generation N/);
  expect(exitCodeFor(err)).toBe(1);
});

test('an explicit --generation needs no visibility', async () => {
  const started: RunPipelineInput[] = [];
  const run = await startRun(clientWithoutVisibility(started), settings, pipeline, '2024-03-01', { generation: 3 });
  expect(run.generation).toBe(3);
  expect(started.map((i) => [i.ds, i.generation])).toEqual([['2024-03-01', 3]]);
});
