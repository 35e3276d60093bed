/**
 * `pipeline.wait` through the CLI as a data engineer uses it: `sluice run --wait` of a pipeline
 * whose first stage waits for another pipeline's run of the date, started later with
 * `sluice run`. The wait ends when that run succeeds; when it fails, the wait stage fails at once
 * with a message naming the upstream run and why it failed (it does not wait to its deadline).
 */
import { createGlueJob, uniqueName } from '../support/aws';
import { pipelineDir, sluice, type CliResult } from '../support/cli';
import { gateway } from '../support/gateway';
import { fileContext, cliEnv, waitFor } from '../support/temporal';

const DS = '2024-03-01';
const ctx = fileContext('e2e-wait-cli', { worker: {} });
const env = cliEnv(ctx);
const { file } = pipelineDir('sluice-wait-cli-');

/** An upstream pipeline (one Glue job) and a downstream one waiting for its run of the date, then running its own job. */
async function setup(outcome: 'SUCCEEDED' | 'FAILED') {
  const [upstream, downstream] = [uniqueName('clicks'), uniqueName('reports')];
  const [upJob, downJob] = [await createGlueJob(), await createGlueJob()];
  await gateway.setScenario({
    service: 'glue',
    match: upJob,
    durationMs: 500,
    outcome,
    ...(outcome === 'FAILED' ? { message: 'clickstream partition is corrupt' } : {}),
  });
  await gateway.setScenario({ service: 'glue', match: downJob, durationMs: 200, outcome: 'SUCCEEDED' });
  const fast = 'defaults: { poll: { initial: 200ms, max: 1s }, retry: { maximumAttempts: 1 } }';
  const upFile = file(
    upstream,
    `name: ${upstream}
${fast}
stages:
  - { id: ingest, kind: glue.job, params: { JobName: ${upJob} } }
`,
  );
  const downFile = file(
    downstream,
    `name: ${downstream}
${fast}
stages:
  - id: clicks_ready
    kind: pipeline.wait
    params: { pipeline: ${upstream}, date: "{{ ds }}" }
    timeout: { total: 10m }
    poll: { initial: 200ms, max: 500ms }
  - id: report
    kind: glue.job
    dependsOn: [clicks_ready]
    params: { JobName: ${downJob} }
`,
  );
  return { upstream, downstream, upFile, downFile, upJob, downJob };
}

/** `sluice run --wait` of the downstream pipeline, once its wait stage is waiting (`done`: the CLI's exit). */
async function startWaiting(downFile: string, downstream: string): Promise<{ done: Promise<CliResult> }> {
  const waiting = sluice(['run', '-p', downFile, '-d', DS, '--wait'], env, 120_000);
  await waitFor(
    'the wait stage to run',
    async () => {
      const d = await ctx.client.workflow
        .getHandle(`${downstream}/${DS}`)
        .describe()
        .catch(() => undefined);
      return (d?.raw.pendingActivities?.length ?? 0) > 0;
    },
    60_000,
  );
  return { done: waiting };
}

test('sluice run --wait waits for the other pipeline’s date run started later with sluice run, and succeeds after it', async () => {
  const s = await setup('SUCCEEDED');
  const waiting = await startWaiting(s.downFile, s.downstream);
  const up = await sluice(['run', '-p', s.upFile, '-d', DS, '--wait'], env);
  expect(up.stderr).toBe('');
  expect(up.code).toBe(0);

  const down = await waiting.done;
  expect(down.stderr).toBe('');
  expect(down.code).toBe(0);
  const upRunId = (await ctx.client.workflow.getHandle(`${s.upstream}/${DS}`).describe()).runId;
  expect(down.stdout).toContain(
    `✔ clicks_ready (pipeline.wait) succeeded: ${s.upstream}/${DS} succeeded (run ${upRunId}`,
  );
  expect(down.stdout).toMatch(/✔ report \(glue\.job\) succeeded/);
  expect(down.stdout).toContain(`Run ${s.downstream}/${DS} succeeded.`);
  const status = await sluice(['status', s.downstream, DS, '--json'], env);
  const run = JSON.parse(status.stdout) as { stages: { id: string; result?: { output?: unknown } }[] };
  expect(run.stages[0]?.result?.output).toMatchObject({
    workflowId: `${s.upstream}/${DS}`,
    runId: upRunId,
    status: 'Succeeded',
  });
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: s.downJob })).toBe(1);
});

test('the upstream run fails: the wait stage fails at once naming that run and its failure; the downstream run fails', async () => {
  const s = await setup('FAILED');
  const waiting = await startWaiting(s.downFile, s.downstream);
  const up = await sluice(['run', '-p', s.upFile, '-d', DS, '--wait'], env);
  expect(up.code).toBe(1);

  const down = await waiting.done;
  expect(down.code).toBe(1);
  const why = `${s.upstream}/${DS} failed: Stage "ingest" (glue.job) failed:`;
  expect(down.stdout).toContain(`✘ clicks_ready (pipeline.wait) failed: ${why}`);
  expect(down.stdout).toContain('clickstream partition is corrupt');
  expect(down.stdout).toContain('– report (glue.job) skipped');
  expect(down.stderr).toContain(
    `Run ${s.downstream}/${DS} failed: Stage "clicks_ready" (pipeline.wait) failed: ${why}`,
  );
  const status = await sluice(['status', s.downstream, DS], env);
  expect(status.stdout).toContain(`${s.downstream}/${DS}: failed`);
  expect(status.stdout).toContain(`✘ clicks_ready (pipeline.wait) failed: ${why}`);
  expect(await gateway.calls({ service: 'glue', operation: 'StartJobRun', resource: s.downJob })).toBe(0);
});
