/**
 * A run's shape (common/run-shape.ts): the patches a run started by this release takes without a
 * marker. Every id it lists is a patch the workflows really ask, and runs without a shape (started
 * before shapes: every committed history) take none of them for granted.
 */
import { RUN_SHAPE, SHAPE_PATCHES, shapeTakes } from '../../common/run-shape';
import { runStartOptions } from '../../common/run-start';
import { KINDS } from '../../kinds';
import { NOTIFY_PATCH } from '../../workflows/notify';
import { POOL_PATCHES } from '../../workflows/pool';
import { PATCHES } from '../../workflows/run-pipeline';
import { definePipeline } from '../../common/pipeline';

const known = new Set<string>([
  ...Object.values(PATCHES),
  ...Object.values(POOL_PATCHES),
  NOTIFY_PATCH,
  ...Object.values(KINDS).flatMap((k) => (k.defaultPoolPatch ? [k.defaultPoolPatch] : [])),
]);

test('every patch a shape takes is one the workflows ask', () => {
  expect(Object.keys(SHAPE_PATCHES).filter((id) => !known.has(id))).toEqual([]);
  expect(Object.values(SHAPE_PATCHES).every((s) => s >= 1 && s <= RUN_SHAPE)).toBe(true);
});

test.each([
  [undefined, 'sluice-pools-1', false],
  [0, 'sluice-pools-1', false],
  [1, 'sluice-pools-1', true],
  [1, 'sluice-grid-memo-1', true],
  [1, 'sluice-some-later-change-2', false],
])('shape %p takes %s: %p', (shape, id, expected) => {
  expect(shapeTakes(shape, id)).toBe(expected);
});

test('runs are started with the current shape', () => {
  const pipeline = definePipeline({
    name: 'p',
    stages: [{ id: 'a', kind: 's3.wait', params: { Bucket: 'b', Key: 'k' } }],
  });
  expect(runStartOptions(pipeline, '2024-01-01', 0).args[0].shape).toBe(RUN_SHAPE);
});
