/**
 * `sluice backfill --dry-run` through the CLI, against the local stack: the dates that would run
 * and those skipped (the backfill's own plan over visibility), an estimate from past runs, and
 * nothing started.
 */
import { WorkflowNotFoundError } from '@temporalio/common';
import { readRunStatus } from '../../client/runs';
import { uniqueName } from '../support/aws';
import { DEFAULT_PRICES } from '../../common/prices';
import { pipelineDir, sluice } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, cliEnv } from '../support/temporal';

const ctx = fileContext('e2e-dry-run', { worker: {} });
const env = cliEnv(ctx);
const { file: pipelineFile } = pipelineDir('sluice-dry-run-');

interface DryRun {
  dryRun: true;
  workflowId: string;
  run: { ds: string; generation: number }[];
  skipped: { ds: string; reason: string }[];
  estimate: {
    pastRuns: number;
    stages: { id: string; medianSeconds?: number; samples: number; medianUsd?: number }[];
    perDateSeconds?: number;
    wallSeconds?: number;
    cost: { perDateUsd?: number; totalUsd?: number; note: string };
  };
}

test('--dry-run lists what would run and be skipped, estimates from past runs, and starts nothing', async () => {
  const name = uniqueName('dry');
  const table = uniqueName('t');
  // Each date's query takes 400 ms; the one for 2024-05-02 fails.
  await gateway.setScenario({ service: 'athena', match: `${table} `, durationMs: 400 });
  await gateway.setScenario({ service: 'athena', match: `${table} 2024-05-02'`, durationMs: 100, outcome: 'FAILED' });
  const file = pipelineFile(
    name,
    `name: ${name}
defaults:
  poll: { initial: 100ms, max: 500ms }
  retry: { maximumAttempts: 1 }
stages:
  - id: count
    kind: athena.query
    params: { QueryString: "SELECT '${table} {{ ds }}'" }
  - id: after
    kind: athena.query
    dependsOn: [count]
    params: { QueryString: "SELECT '${table} {{ ds }} after'" }
`,
  );
  // Past runs: 2024-05-01 succeeded, 2024-05-02 failed.
  for (const [ds, code] of [
    ['2024-05-01', 0],
    ['2024-05-02', 1],
  ] as const) {
    const res = await sluice(['run', '-p', file, '-d', ds, '--wait'], env);
    expect(res.code).toBe(code);
  }
  const before = (await ctx.client.workflow.count(`SluicePipeline = "${name}"`)).count;

  const res = await sluice(
    ['backfill', '-p', file, '--from', '2024-05-01', '--to', '2024-05-04', '-c', '2', '--dry-run', '--json'],
    env,
  );
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const plan = JSON.parse(res.stdout) as DryRun;
  // The backfill's own plan (--only missing): the failed date again as its second run, two never run.
  expect(plan.run).toEqual([
    { ds: '2024-05-02', generation: 1 },
    { ds: '2024-05-03', generation: 0 },
    { ds: '2024-05-04', generation: 0 },
  ]);
  expect(plan.skipped).toEqual([{ ds: '2024-05-01', reason: 'already succeeded' }]);
  // The estimate rests on the one succeeded run; its stage figures are that run's own.
  expect(plan.estimate.pastRuns).toBe(1);
  const past = await readRunStatus(ctx.client.workflow, `${name}/2024-05-01`);
  const took = (id: string) => {
    const st = past?.stages.find((s) => s.id === id);
    return (Date.parse(st?.endedAt ?? '') - Date.parse(st?.startedAt ?? '')) / 1000;
  };
  // Athena's 10 MB minimum per query at $5 per TB, plus the stage's Temporal actions.
  const actionsUsd = (id: string) =>
    (past?.stages.find((s) => s.id === id)?.result?.temporalActions ?? NaN) * DEFAULT_PRICES.temporal.perAction;
  const athena = ((10 * 1024 * 1024) / 1024 ** 4) * 5;
  expect(plan.estimate.stages).toEqual([
    {
      id: 'count',
      kind: 'athena.query',
      medianSeconds: took('count'),
      samples: 1,
      medianUsd: athena + actionsUsd('count'),
    },
    {
      id: 'after',
      kind: 'athena.query',
      medianSeconds: took('after'),
      samples: 1,
      medianUsd: athena + actionsUsd('after'),
    },
  ]);
  const perQuery = athena + (actionsUsd('count') + actionsUsd('after')) / 2;
  expect(took('count')).toBeGreaterThanOrEqual(0.4);
  // Two stages in a chain; three dates at concurrency 2 are two waves.
  expect(plan.estimate.perDateSeconds).toBeCloseTo(took('count') + took('after'), 5);
  expect(plan.estimate.wallSeconds).toBeGreaterThanOrEqual(2 * (plan.estimate.perDateSeconds ?? 0));
  // Two queries per date; three dates.
  expect(plan.estimate.cost.perDateUsd).toBeCloseTo(2 * perQuery, 12);
  expect(plan.estimate.cost.totalUsd).toBeCloseTo(3 * 2 * perQuery, 12);

  // Nothing started: no backfill, no new run.
  await expect(ctx.client.workflow.getHandle(plan.workflowId).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  expect((await ctx.client.workflow.count(`SluicePipeline = "${name}"`)).count).toBe(before);

  // The text form says the same, and how many runs the estimate rests on.
  const text = await sluice(['backfill', '-p', file, '--from', '2024-05-01', '--to', '2024-05-04', '--dry-run'], env);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain('Dry run — nothing started');
  expect(text.stdout).toContain('Would run 3 dates:');
  expect(text.stdout).toContain('2024-05-02  rerun (generation 1)');
  expect(text.stdout).toContain('2024-05-01  already succeeded');
  expect(text.stdout).toContain('Estimate from the latest 1 succeeded run of');
  expect(text.stdout).toContain('cost: about $');
});

test('--dry-run with no past run says there is nothing to estimate from; with --wait it is refused', async () => {
  const name = uniqueName('dry-new');
  const file = pipelineFile(
    name,
    `name: ${name}\nstages:\n  - id: q\n    kind: athena.query\n    params: { QueryString: "SELECT 1" }\n`,
  );
  const res = await sluice(['backfill', '-p', file, '--from', '2024-06-01', '--to', '2024-06-02', '--dry-run'], env);
  expect(res.code).toBe(0);
  expect(res.stdout).toContain('Would run 2 dates:');
  expect(res.stdout).toContain(`Estimate: none — ${name} has no succeeded run yet`);
  const both = await sluice(
    ['backfill', '-p', file, '--from', '2024-06-01', '--to', '2024-06-02', '--dry-run', '--wait'],
    env,
  );
  expect(both.code).toBe(2);
  expect(both.stderr).toContain('--dry-run starts nothing');
  expect((await ctx.client.workflow.count(`SluicePipeline = "${name}"`)).count).toBe(0);
});
