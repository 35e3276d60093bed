/**
 * The `sluice` command line. Every command validates its input before it connects or starts
 * anything; bad input exits 2 with what was wrong and how to fix it.
 */
import { Command, InvalidArgumentError } from 'commander';
import { validateLogicalDate } from '../common/pipeline';
import type { StageStatus } from '../common/run-types';
import { describeError, EXIT, exitCodeFor, UserInputError } from './errors';
import { loadPipelineFile, runParams } from './load-pipeline';
import type { Client, ScheduleHandle, WorkflowHandle } from '@temporalio/client';
import { datesDone, type BackfillOnly, type BackfillOrder } from '../common/backfill-types';
import { BACKFILL_LIMITS, CHILD_RUN_KINDS } from '../common/constants';
import { runUiUrl, type TemporalSettings } from '../common/env';
import { parseRunWorkflowId, runWorkflowId, subRunWorkflowId } from '../common/naming';
import {
  backfillHandle,
  backfillProgress,
  backfillReport,
  formatReport,
  progressBar,
  startBackfill,
  steer,
  validateBackfillOptions,
  waitForBackfill,
} from './backfills';
import { dryRunBackfill, formatDryRun } from './backfill-plan';
import { BackfillCosts, formatBackfillCost, loadPrices, runCost } from './costs';
import { formatUsd } from '../common/prices';
import { costCell, listRuns, table } from './run-list';
import { runTraced } from './cli-tracing';
import { cancelRun, clientSettings, connectClient, listSubRuns, readRunStatus, startRun, waitForRun } from './runs';
import { ScheduleAlreadyRunning } from '@temporalio/client';
import { poolWaitLine, priorityProblem } from '../common/pools';
import { addPoolCommands } from './pool-cli';
import { checkNamedPools, livePool, namedPools, poolShares, poolSharesLine } from './pools';
import {
  createDailySchedule,
  defaultScheduleId,
  OVERLAP_POLICIES,
  SCHEDULE_DEFAULTS,
  triggerSchedule,
  updateDailySchedule,
  validateScheduleOptions,
  viewOf,
  type DailyScheduleOptions,
  type OverlapName,
  type ScheduleView,
} from './schedules';

function nonNegativeInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value))
      throw new InvalidArgumentError(`${flag} must be a whole number >= 0 (received "${value}").`);
    return Number(value);
  };
}

function portNumber(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535)
      throw new InvalidArgumentError(`${flag} must be a port between 1 and 65535 (received "${value}").`);
    return Number(value);
  };
}

function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^[1-9]\d*$/.test(value))
      throw new InvalidArgumentError(`${flag} must be a whole number >= 1 (received "${value}").`);
    return Number(value);
  };
}

function priorityArg(value: string): number {
  const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
  const problem = priorityProblem(n);
  if (problem) throw new InvalidArgumentError(`--priority: ${problem} (received "${value}").`);
  return n;
}
const PRIORITY_HELP =
  "when stages wait for a pool: 1 goes first … 5 last (default the pipeline's priority, else 3; backfills one lower)";

function withParams(params: Record<string, unknown>): { params?: Record<string, unknown> } {
  return Object.keys(params).length ? { params } : {};
}

/** `--param name=value`, repeatable. */
function collectParam(value: string, previous: string[]): string[] {
  return [...previous, value];
}
const PARAM_HELP = 'a run parameter, name=value (repeatable; JSON for arrays and objects)';

function stageLine(s: StageStatus): string {
  if (s.state === 'running' && s.pool && !s.pool.grantedAt) return `  ⧗ ${s.id} (${s.kind}) ${poolWaitLine(s.pool)}`;
  const mark = { running: '▶', succeeded: '✔', failed: '✘', cancelled: '■', skipped: '–', pending: '·' }[s.state];
  const detail =
    s.state === 'succeeded'
      ? (s.result?.summary ?? '')
      : s.state === 'failed' || s.state === 'cancelled'
        ? (s.error?.message ?? '')
        : s.state === 'skipped'
          ? (s.reason ?? '')
          : '';
  return `  ${mark} ${s.id} (${s.kind}) ${s.state}${detail ? `: ${detail}` : ''}`;
}

/** Sub-runs listed per stage in `sluice status` (all of them with --json). */
const SUB_RUNS_SHOWN = 20;

/**
 * The workflow ID `sluice status` reads: `<pipeline> <date>`, `<pipeline> <date> --stage <path>`
 * (a sub-run), or a run's or sub-run's workflow ID alone. Bad input is a UserInputError (exit 2).
 */
export function statusTarget(pipelineOrId: string, date: string | undefined, stage: string | undefined): string {
  let run: string;
  if (date === undefined) {
    const parsed = parseRunWorkflowId(pipelineOrId);
    if (!parsed)
      throw new UserInputError(
        `<pipeline> without <date> must be a run's workflow ID, <pipeline>/<YYYY-MM-DD>[/<stage>[<i>]]... (received "${pipelineOrId}").\n  Fix: \`sluice status <pipeline> <date>\`, or a workflow ID as \`sluice runs\` and the Temporal UI show it.`,
      );
    validateLogicalDate(parsed.ds, '<date>');
    run = pipelineOrId;
  } else {
    if (pipelineOrId.includes('/'))
      throw new UserInputError(
        `<pipeline> is a workflow ID ("${pipelineOrId}") and <date> is given too.\n  Fix: \`sluice status ${pipelineOrId}\` alone, or \`sluice status <pipeline> <date>\`.`,
      );
    run = runWorkflowId(pipelineOrId, validateLogicalDate(date, '<date>'));
  }
  if (stage === undefined) return run;
  const sub = subRunWorkflowId(run, stage);
  if (!sub)
    throw new UserInputError(
      `--stage must name a pipeline.run stage, <stage> or <stage>[<i>] for a forEach item, "/" between the steps of a nested sub-run (received "${stage}").\n  Fix: e.g. --stage load_tables[3]; \`sluice status ${run.replace('/', ' ')}\` lists the sub-runs.`,
    );
  return sub;
}

/**
 * What `sluice worker` and `sluice codec-server` run: the worker's entry points (workers/main.ts,
 * workers/codec-main.ts), handed in by the executable (bin/sluice.js), which loads them only when
 * one of these commands runs: client/ never imports workers/, and no other command loads it.
 */
export interface ServerEntryPoints {
  runWorker(options: { maxConcurrentActivityTaskExecutions?: number }): Promise<void>;
  serveCodec(options: { port: number; host: string; origins: string[]; tokenEnv?: string }): Promise<void>;
}

export function buildCli(servers: ServerEntryPoints): Command {
  const program = new Command('sluice')
    .description('Run AWS data pipelines as durable Temporal workflows.')
    .showHelpAfterError('(run with --help for usage)')
    // `backfill --json` and `backfill status <id> --json` are different options: each belongs to its own command.
    .enablePositionalOptions()
    .exitOverride();

  program
    .command('run')
    .description('Run a pipeline for one logical date (workflow ID <pipeline>/<date>).')
    .requiredOption('-p, --pipeline <file>', 'pipeline definition (YAML)')
    .requiredOption('-d, --date <YYYY-MM-DD>', 'logical date of the run')
    .option('-w, --wait', 'wait for the run to end, printing each stage; exit 1 if it fails')
    .option(
      '--generation <n>',
      'rerun generation (default: the number of earlier runs of this date)',
      nonNegativeInt('--generation'),
    )
    .option('--param <name=value>', PARAM_HELP, collectParam, [])
    .option('--priority <n>', PRIORITY_HELP, priorityArg)
    .option('--json', 'print JSON instead of text')
    .action(
      async (opts: {
        pipeline: string;
        date: string;
        wait?: boolean;
        generation?: number;
        param: string[];
        priority?: number;
        json?: boolean;
      }) => {
        // Validate everything before connecting, so bad input starts nothing.
        const ds = validateLogicalDate(opts.date);
        const pipeline = loadPipelineFile(opts.pipeline);
        const params = runParams(pipeline, opts.param);
        const { settings, options } = clientSettings();
        const client = await connectClient(settings, options);
        try {
          await checkNamedPools(client, settings, pipeline, opts.pipeline);
          const started = await startRun(client, settings, pipeline, ds, {
            ...(opts.generation !== undefined ? { generation: opts.generation } : {}),
            ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
            ...withParams(params),
          });
          const { handle: _h, ...info } = started;
          if (opts.json && !opts.wait) {
            console.log(JSON.stringify(info));
          } else if (!opts.json) {
            console.log(
              `${started.attached ? 'Already running, following' : 'Started'} ${started.workflowId} (run ${started.runId}, generation ${started.generation})`,
            );
            if (started.url) console.log(`Temporal UI: ${started.url}`);
          }
          if (!opts.wait) return;
          const outcome = await waitForRun(started.handle, opts.json ? undefined : (s) => console.log(stageLine(s)));
          if (opts.json) console.log(JSON.stringify({ ...info, ...outcome }));
          if (outcome.ok) {
            if (!opts.json) console.log(`Run ${started.workflowId} succeeded.`);
            return;
          }
          if (!opts.json) {
            console.error(
              outcome.cancelled
                ? `Run ${started.workflowId} was cancelled.`
                : `Run ${started.workflowId} failed: ${outcome.message}`,
            );
            if (started.url) console.error(`Details: ${started.url}`);
          }
          process.exitCode = EXIT.failed;
        } finally {
          await client.connection.close();
        }
      },
    );

  addBackfillCommands(program);
  addScheduleCommands(program);
  addPoolCommands(program, withClient);

  program
    .command('runs')
    .description('List the runs of a pipeline by date (Temporal visibility, search attributes).')
    .requiredOption('-p, --pipeline <name>', 'pipeline name (as in its file)')
    .option('--from <YYYY-MM-DD>', 'first logical date (included)')
    .option('--to <YYYY-MM-DD>', 'last logical date (included)')
    .option('--status <status>', 'Running, Succeeded, Failed or Cancelled')
    .option('--json', 'print JSON')
    .action(async (opts: { pipeline: string; from?: string; to?: string; status?: string; json?: boolean }) => {
      if (opts.from) validateLogicalDate(opts.from, '--from');
      if (opts.to) validateLogicalDate(opts.to, '--to');
      await withClient(async (client, settings) => {
        const rows = await listRuns(client, settings, opts);
        if (opts.json) return console.log(JSON.stringify(rows));
        if (!rows.length) return console.log(`No runs of ${opts.pipeline} found.`);
        console.log(
          table(
            ['date', 'status', 'duration', 'cost', 'started', 'link'],
            rows.map((r) => [
              r.ds,
              r.status,
              r.durationSeconds !== undefined ? `${r.durationSeconds}s` : '…',
              costCell(r.cost),
              r.startedAt,
              r.url ?? r.workflowId,
            ]),
          ),
        );
      });
    });

  program
    .command('status')
    .description(
      "Show one run's stages and their states, and the sub-runs its pipeline.run stages started; or one sub-run's.",
    )
    .argument('<pipeline>', "pipeline name, or a run's workflow ID (<pipeline>/<date>[/<stage>[<i>]]...)")
    .argument('[date]', 'logical date, YYYY-MM-DD (not with a workflow ID)')
    .option('--stage <stage>', 'a sub-run of the run: its pipeline.run stage, <stage>[<i>] for a forEach item')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  sluice status per-table 2024-03-01                       the run, its stages and its sub-runs
  sluice status per-table 2024-03-01 --stage tables[1]     the sub-run of stage tables, item 1
  sluice status 'per-table/2024-03-01/tables[1]'           the same, by its workflow ID`,
    )
    .action(async (pipeline: string, date: string | undefined, opts: { stage?: string; json?: boolean }) => {
      const workflowId = statusTarget(pipeline, date, opts.stage);
      const target = parseRunWorkflowId(workflowId) as NonNullable<ReturnType<typeof parseRunWorkflowId>>;
      await withClient(async (client, settings) => {
        const handle = client.workflow.getHandle(workflowId);
        const read = await readRunStatus(client.workflow, workflowId);
        // A stage waiting for a pool: the pool's counts of now.
        const status = read && {
          ...read,
          stages: await Promise.all(
            read.stages.map(async (s) => (s.pool ? { ...s, pool: await livePool(client, settings, s.pool) } : s)),
          ),
        };
        if (!status) {
          const run = runWorkflowId(target.pipeline, target.ds);
          throw new UserInputError(
            target.steps.length
              ? `no sub-run ${workflowId} was found (or no worker is running to answer).\n  Fix: \`sluice status ${target.pipeline} ${target.ds}\` lists the sub-runs of ${run}; the stage may not have started it yet.`
              : `no run ${workflowId} was found (or no worker is running to answer).\n  Fix: check the name and date with \`sluice runs --pipeline ${pipeline}\`.`,
          );
        }
        const desc = await handle.describe();
        const childStages = status.stages.filter((s) => CHILD_RUN_KINDS.includes(s.kind)).map((s) => s.id);
        const subRuns = childStages.length
          ? await listSubRuns(client, workflowId, { since: desc.startTime, stageOrder: childStages })
          : [];
        const cost = runCost(status, loadPrices());
        if (opts.json) return console.log(JSON.stringify({ ...status, cost, ...(subRuns.length ? { subRuns } : {}) }));
        console.log(`${workflowId}: ${status.status} (generation ${status.generation})`);
        if (target.steps.length)
          console.log(
            `sub-run of ${workflowId.slice(0, workflowId.lastIndexOf('/'))} (stage ${target.steps[target.steps.length - 1]}), pipeline ${status.pipeline}`,
          );
        if (status.params && Object.keys(status.params).length)
          console.log(
            `params: ${Object.entries(status.params)
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(' ')}`,
          );
        const url = runUiUrl(settings, workflowId, desc.runId);
        if (url) console.log(`Temporal UI: ${url}`);
        for (const s of status.stages) {
          console.log(stageLine(s));
          const own = subRuns.filter((r) => r.stage === s.id || r.stage.startsWith(`${s.id}[`));
          for (const r of own.slice(0, SUB_RUNS_SHOWN))
            console.log(`      ↳ ${r.stage}: ${r.status.toLowerCase()} (${r.pipeline ?? '?'}, ${r.workflowId})`);
          if (own.length > SUB_RUNS_SHOWN)
            console.log(`      ↳ … ${own.length - SUB_RUNS_SHOWN} more (--json lists them all)`);
          // Only figures: a stage whose kind reports none is counted in the total's note.
          const c = cost.stages[s.id];
          if (c?.usd !== undefined) console.log(`      cost: ${formatUsd(c.usd)} (${c.note})`);
        }
        const actions = cost.total.temporal
          ? `; ${cost.total.temporal.actions} Temporal actions, ${formatUsd(cost.total.temporal.usd)}`
          : '';
        console.log(
          `cost of this run: ${cost.total.usd !== undefined ? `${formatUsd(cost.total.usd)} (${cost.total.note}${actions})` : cost.total.note}`,
        );
        if (subRuns.length)
          console.log(
            `A sub-run's stages: sluice status ${target.pipeline} ${target.ds} --stage ${[...target.steps, subRuns[0]?.stage].join('/')}`,
          );
      });
    });

  program
    .command('cancel')
    .description('Cancel one run: every AWS job it started is stopped (from any worker) before it reports cancelled.')
    .argument('<pipeline>', 'pipeline name')
    .argument('<date>', 'logical date, YYYY-MM-DD')
    .option('--no-wait', 'return once the cancel is requested, without waiting for the jobs to stop')
    .option('--json', 'print JSON')
    .action(async (pipeline: string, date: string, opts: { wait: boolean; json?: boolean }) => {
      const ds = validateLogicalDate(date, '<date>');
      await withClient(async (client) => {
        const outcome = await cancelRun(client, runWorkflowId(pipeline, ds), { wait: opts.wait });
        if (opts.json) console.log(JSON.stringify(outcome));
        else {
          console.log(outcome.message);
          for (const s of outcome.status?.stages ?? [])
            if (s.state !== 'pending' && s.state !== 'skipped') console.log(stageLine(s));
        }
        if (!outcome.ok) process.exitCode = EXIT.failed;
      });
    });

  program
    .command('validate')
    .description('Check a pipeline file without running it.')
    .requiredOption('-p, --pipeline <file>', 'pipeline definition (YAML)')
    .action(async (opts: { pipeline: string }) => {
      const def = loadPipelineFile(opts.pipeline);
      // Pools named by hand must exist (a typo would share nothing); checked when Temporal answers.
      if (namedPools(def).length) {
        const { settings, options } = clientSettings();
        const client = await connectClient(settings, options).catch(() => undefined);
        if (!client)
          console.log(
            `note: pools ${namedPools(def)
              .map((n) => n.pool)
              .join(', ')} not checked: Temporal at ${settings.address} did not answer.`,
          );
        else {
          try {
            await checkNamedPools(client, settings, def, opts.pipeline);
          } finally {
            await client.connection.close();
          }
        }
      }
      console.log(`${opts.pipeline}: pipeline "${def.name}" with ${def.stages.length} stage(s) is valid.`);
    });

  program
    .command('worker')
    .description(
      'Run a worker: the pipeline workflows and the AWS stage activities (stops gracefully on SIGTERM/SIGINT).',
    )
    .option(
      '--max-concurrent-stages <n>',
      'stages this worker runs at once (default SLUICE_MAX_CONCURRENT_STAGES or 100)',
      positiveInt('--max-concurrent-stages'),
    )
    .addHelpText(
      'after',
      `
Configuration (environment; validated before connecting, a bad value exits 2):
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY      where to connect (Temporal Cloud: API key turns on TLS)
  TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH|_DATA,          TLS / mTLS, the SDK's own variables
    TEMPORAL_TLS_CLIENT_KEY_PATH|_DATA, TEMPORAL_TLS_SERVER_CA_CERT_PATH|_DATA, TEMPORAL_TLS_SERVER_NAME
  TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE                      a profile of a temporal.toml file
  SLUICE_TASK_QUEUE (sluice)                                  task queue
  SLUICE_MAX_CONCURRENT_STAGES (100), SLUICE_MAX_CONCURRENT_WORKFLOW_TASKS (40)
  SLUICE_SHUTDOWN_GRACE (30s)                                 time running stages get after SIGTERM
  SLUICE_HTTP_PORT (off)                                      serve /metrics (Prometheus) and /healthz
  SLUICE_SDK_METRICS_PORT (SLUICE_HTTP_PORT + 1)              loopback port of the SDK exporter
  SLUICE_LOG_LEVEL (INFO)                                     TRACE, DEBUG, INFO, WARN, ERROR (JSON lines)
  SLUICE_PAYLOAD_KEYS (off)                                   encrypt payloads: keyId:base64key[,keyId:base64key…]
  SLUICE_PAYLOAD_KEY_SECRET                                   or a Secrets Manager secret (name/ARN) holding them
  SLUICE_PAYLOAD_KEY_ID (the first)                           the key that encrypts; all of them decrypt
  OTEL_EXPORTER_OTLP_ENDPOINT (off)                           export OpenTelemetry traces (OTLP/HTTP)`,
    )
    .action(async (opts: { maxConcurrentStages?: number }) => {
      // Loaded only for this command: the worker (the SDK's native runtime, every AWS client) is
      // heavy, and `sluice validate` or `sluice run` must not need it to load, or fail if it cannot.
      // A bad variable throws WorkerConfigError, a ConfigError: exit 2 with every problem and its fix.
      await servers.runWorker(
        opts.maxConcurrentStages ? { maxConcurrentActivityTaskExecutions: opts.maxConcurrentStages } : {},
      );
    });

  program
    .command('codec-server')
    .description(
      "Serve Temporal's remote codec (POST /encode, /decode) with Sluice's payload keys, for the Web UI and the temporal CLI.",
    )
    .option('--port <port>', 'port to listen on', portNumber('--port'), 8888)
    .option('--host <host>', 'address to bind (0.0.0.0 to serve other machines; put TLS in front)', '127.0.0.1')
    .option(
      '--origin <url>',
      'a Web UI origin allowed to call it from the browser (CORS); repeat for several (default http://localhost:8233 and http://127.0.0.1:8233)',
      (v: string, acc: string[]) => [...acc, v.replace(/\/+$/, '')],
      [] as string[],
    )
    .option('--token-env <name>', 'environment variable holding a bearer token every request must carry')
    .addHelpText(
      'after',
      `
Keys: the worker's (SLUICE_PAYLOAD_KEYS, or SLUICE_PAYLOAD_KEY_SECRET naming a Secrets Manager secret).
Use it: temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8888, the UI's codec server setting,
or temporal workflow show -w <id> --codec-endpoint http://127.0.0.1:8888 [--codec-auth "Bearer <token>"].`,
    )
    .action(async (opts: { port: number; host: string; origin: string[]; tokenEnv?: string }) => {
      await servers.serveCodec({
        port: opts.port,
        host: opts.host,
        origins: opts.origin.length ? opts.origin : ['http://localhost:8233', 'http://127.0.0.1:8233'],
        ...(opts.tokenEnv ? { tokenEnv: opts.tokenEnv } : {}),
      });
    });

  return program;
}

/** Connects with the environment's settings, runs `fn`, always closes the connection. */
async function withClient<T>(fn: (client: Client, settings: TemporalSettings) => Promise<T>): Promise<T> {
  const { settings, options } = clientSettings();
  const client = await connectClient(settings, options);
  try {
    return await fn(client, settings);
  } finally {
    await client.connection.close();
  }
}

function addBackfillCommands(program: Command): void {
  const backfill = program
    .command('backfill')
    .description('Run a pipeline for every date of a range (sliding window), or steer a running backfill.')
    .option('-p, --pipeline <file>', 'pipeline definition (YAML)')
    .option('--from <YYYY-MM-DD>', 'first logical date (included)')
    .option('--to <YYYY-MM-DD>', 'last logical date (included)')
    .option('-c, --concurrency <n>', 'dates running at once', positiveInt('--concurrency'), 4)
    .option('--only <which>', 'missing (no successful run yet), failed (last run failed) or all', 'missing')
    .option('--order <order>', 'oldest or newest first', 'oldest')
    .option('--force', `allow more than ${BACKFILL_LIMITS.maxDatesWithoutForce} dates`)
    .option('--param <name=value>', PARAM_HELP, collectParam, [])
    .option('--priority <n>', PRIORITY_HELP, priorityArg)
    .option('-w, --wait', 'show a live progress bar and the final report; exit 1 if any date failed')
    .option(
      '--dry-run',
      'start nothing: list the dates that would run and those skipped (with why), and estimate the wall time from past runs',
    )
    .option('--json', 'print JSON')
    .action(
      async (opts: {
        pipeline?: string;
        from?: string;
        to?: string;
        concurrency: number;
        only: string;
        order: string;
        force?: boolean;
        param: string[];
        priority?: number;
        wait?: boolean;
        dryRun?: boolean;
        json?: boolean;
      }) => {
        if (!opts.pipeline || !opts.from || !opts.to) {
          throw new UserInputError(
            'sluice backfill needs --pipeline <file>, --from <date> and --to <date> (or a subcommand: status, pause, resume, cancel, set-concurrency).',
          );
        }
        const options = validateBackfillOptions(
          {
            from: opts.from,
            to: opts.to,
            concurrency: opts.concurrency,
            only: opts.only as BackfillOnly,
            order: opts.order as BackfillOrder,
          },
          opts.force,
        );
        if (opts.dryRun && opts.wait)
          throw new UserInputError('--dry-run starts nothing, so there is nothing to --wait for.\n  Fix: drop --wait.');
        const file = opts.pipeline;
        const pipeline = loadPipelineFile(file);
        const params = runParams(pipeline, opts.param);
        await withClient(async (client, settings) => {
          await checkNamedPools(client, settings, pipeline, file);
          if (opts.dryRun) {
            const plan = await dryRunBackfill(
              client,
              pipeline,
              { ...options, ...withParams(params) },
              loadPrices(),
              settings,
            );
            return console.log(opts.json ? JSON.stringify(plan) : formatDryRun(plan));
          }
          const started = await startBackfill(client, settings, pipeline, {
            ...options,
            ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
            ...withParams(params),
          });
          const { handle: _h, ...info } = started;
          if (opts.json && !opts.wait) return console.log(JSON.stringify(info));
          if (!opts.json) {
            console.log(
              `${started.attached ? 'Already running, following' : 'Started'} backfill ${started.workflowId}`,
            );
            if (started.url) console.log(`Temporal UI: ${started.url}`);
          }
          if (!opts.wait) return;
          // What the succeeded dates cost so far: read from their runs every 10 s, each date once.
          const costs = new BackfillCosts(client, pipeline.name, loadPrices());
          let costRead = 0;
          const costText = () => {
            const c = costs.total();
            return c.usd === undefined ? '…' : `${c.partial ? '≥ ' : ''}${formatUsd(c.usd)}`;
          };
          // The pools its dates wait on: read every 5 s (one query per pool of the task queue).
          let poolText = '';
          let poolRead = 0;
          const bar = opts.json ? undefined : progressBar(costText, () => poolText);
          const outcome = await waitForBackfill(started.handle, (p) => {
            bar?.update(p);
            if (bar && Date.now() - poolRead >= 5_000) {
              poolRead = Date.now();
              void poolShares(client, settings, started.workflowId)
                .then((s) => (poolText = poolSharesLine(s)))
                .catch(() => undefined);
            }
            if (Date.now() - costRead < 10_000 || !p.counts.succeeded) return;
            costRead = Date.now();
            void backfillReport(started.handle)
              .then((r) => costs.add(r.succeeded))
              .catch(() => undefined);
          });
          bar?.stop();
          await costs.add(outcome.report?.succeeded ?? []);
          const cost = costs.total();
          if (opts.json) console.log(JSON.stringify({ ...info, ...outcome, cost }));
          else
            console.log(
              outcome.report
                ? `${formatReport(outcome.report)}\n  cost of the succeeded dates: ${formatBackfillCost(cost)}`
                : `Backfill ${outcome.status}: ${outcome.message ?? ''}`,
            );
          if (outcome.status !== 'succeeded') process.exitCode = EXIT.failed;
        });
      },
    );

  backfill
    .command('status')
    .description("A backfill's progress: counts by state, dates running, failed dates with their errors.")
    .argument('<id>', 'backfill workflow ID')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withClient(async (client, settings) => {
        const handle = backfillHandle(client, id);
        const p = await backfillProgress(handle);
        const pools = await poolShares(client, settings, id).catch(() => []);
        if (opts.json) return console.log(JSON.stringify({ ...p, pools }));
        const c = p.counts;
        const url = runUiUrl(settings, id);
        console.log(
          `${id}: ${p.pipeline} ${p.from} → ${p.to}, concurrency ${p.concurrency}, only ${p.only}, ${p.order} first${p.paused ? ', PAUSED' : ''}${p.cancelling ? ', CANCELLING' : ''}`,
        );
        if (url) console.log(`Temporal UI: ${url}`);
        console.log(
          `  ${datesDone(c)}/${p.total} done: succeeded ${c.succeeded}, failed ${c.failed}, skipped ${c.skipped}, cancelled ${c.cancelled}; running ${c.running}, pending ${c.pending}`,
        );
        if (p.running.length) console.log(`  running: ${p.running.join(', ')}`);
        for (const s of pools)
          console.log(
            `  pool ${s.name}: ${s.held}/${s.slots} held (${s.heldHere} by this backfill), ${s.waitingHere} of its dates waiting${s.waiting > s.waitingHere ? ` (${s.waiting} in all)` : ''}`,
          );
        for (const f of p.failed) console.log(`  ✘ ${f.ds}${f.stage ? ` stage ${f.stage}` : ''}: ${f.message}`);
      });
    });

  const steerCommand = (name: string, description: string, act: (h: WorkflowHandle) => Promise<void>, done: string) =>
    backfill
      .command(name)
      .description(description)
      .argument('<id>', 'backfill workflow ID')
      .action(async (id: string) => {
        await withClient(async (client) => {
          await act(backfillHandle(client, id));
          console.log(`${id}: ${done}`);
        });
      });
  steerCommand('pause', 'Start no new dates (running ones finish).', steer.pause, 'paused');
  steerCommand('resume', 'Start dates again.', steer.resume, 'resumed');
  steerCommand(
    'cancel',
    'Cancel every running date (their AWS jobs are stopped) and start nothing more; the backfill ends CANCELED.',
    steer.cancel,
    'cancelling',
  );
  backfill
    .command('set-concurrency')
    .description('Change how many dates run at once.')
    .argument('<id>', 'backfill workflow ID')
    .argument('<n>', 'dates at once', positiveInt('<n>'))
    .action(async (id: string, n: number) => {
      if (n > BACKFILL_LIMITS.maxConcurrency)
        throw new UserInputError(`<n> must be at most ${BACKFILL_LIMITS.maxConcurrency} (received ${n}).`);
      await withClient(async (client) => {
        await steer.setConcurrency(backfillHandle(client, id), n);
        console.log(`${id}: concurrency set to ${n}`);
      });
    });
}

function addScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('Daily schedules (Temporal Schedules) of a pipeline.');
  const withScheduleOptions = (cmd: Command) =>
    cmd
      .requiredOption('-p, --pipeline <file>', 'pipeline definition (YAML)')
      .requiredOption('--at <HH:MM>', 'time of day, 24-hour clock')
      .option('--timezone <zone>', 'IANA time zone of --at', 'UTC')
      .option(
        '--date-offset <days>',
        `logical date = scheduled day minus this many days (default ${SCHEDULE_DEFAULTS.dateOffsetDays}: the day that just closed)`,
        nonNegativeInt('--date-offset'),
      )
      .option(
        '--overlap <policy>',
        `when a run is still going at the next time: ${Object.keys(OVERLAP_POLICIES).join(', ')} (default ${SCHEDULE_DEFAULTS.overlap})`,
      )
      .option(
        '--catchup-window <duration>',
        `missed runs within this window run after an outage (default ${SCHEDULE_DEFAULTS.catchupWindow})`,
      )
      .option('--pause-on-failure', 'pause the schedule when a run fails')
      .option('--param <name=value>', PARAM_HELP, collectParam, []);
  type ScheduleCliOptions = {
    pipeline: string;
    at: string;
    timezone: string;
    dateOffset?: number;
    overlap?: string;
    catchupWindow?: string;
    pauseOnFailure?: boolean;
    param: string[];
    id?: string;
  };
  const toOptions = (o: ScheduleCliOptions): DailyScheduleOptions => ({
    at: o.at,
    timezone: o.timezone,
    ...(o.id ? { id: o.id } : {}),
    ...(o.dateOffset !== undefined ? { dateOffsetDays: o.dateOffset } : {}),
    ...(o.overlap ? { overlap: o.overlap as OverlapName } : {}),
    ...(o.catchupWindow ? { catchupWindow: o.catchupWindow } : {}),
    ...(o.pauseOnFailure ? { pauseOnFailure: true } : {}),
  });

  withScheduleOptions(schedule.command('create').description('Run a pipeline every day at a time of day.'))
    .option('--id <id>', 'schedule ID (default <pipeline>/daily)')
    .action(async (o: ScheduleCliOptions) => {
      const pipeline = loadPipelineFile(o.pipeline);
      const options = { ...toOptions(o), ...withParams(runParams(pipeline, o.param)) };
      validateScheduleOptions(options);
      await withClient(async (client, settings) => {
        const handle = await createDailySchedule(client, settings, pipeline, options).catch((err: unknown) => {
          if (!(err instanceof ScheduleAlreadyRunning)) throw err;
          // The same options, as an update: create never replaces a schedule silently.
          const id = options.id ?? defaultScheduleId(pipeline.name);
          const flags = [
            `--pipeline ${o.pipeline}`,
            `--at ${o.at}`,
            `--timezone ${o.timezone}`,
            ...(o.dateOffset !== undefined ? [`--date-offset ${o.dateOffset}`] : []),
            ...(o.overlap ? [`--overlap ${o.overlap}`] : []),
            ...(o.catchupWindow ? [`--catchup-window ${o.catchupWindow}`] : []),
            ...(o.pauseOnFailure ? ['--pause-on-failure'] : []),
            ...o.param.map((p) => `--param ${JSON.stringify(p)}`),
          ];
          throw new UserInputError(
            `schedule ${id} already exists; create does not change it.\n  Fix: to change it, run \`sluice schedule update ${id} ${flags.join(' ')}\` (see it first with \`sluice schedule describe ${id}\`), or create another with --id.`,
          );
        });
        const d = await handle.describe();
        console.log(
          `Created schedule ${handle.scheduleId}: ${pipeline.name} daily at ${o.at} ${o.timezone}; next run ${d.info.nextActionTimes[0]?.toISOString() ?? 'none'}`,
        );
      });
    });

  withScheduleOptions(schedule.command('update').description("Replace a schedule's pipeline, time and policies."))
    .argument('<id>', 'schedule ID')
    .action(async (id: string, o: ScheduleCliOptions) => {
      const pipeline = loadPipelineFile(o.pipeline);
      const options = { ...toOptions(o), ...withParams(runParams(pipeline, o.param)) };
      validateScheduleOptions(options);
      await withClient(async (client, settings) => {
        await updateDailySchedule(client, settings, id, pipeline, options);
        console.log(`Updated schedule ${id}`);
      });
    });

  schedule
    .command('list')
    .description('Every schedule, paused or not, with its next run.')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      await withClient(async (client) => {
        const views: ScheduleView[] = [];
        for await (const s of client.schedule.list())
          views.push(viewOf(s.scheduleId, await client.schedule.getHandle(s.scheduleId).describe()));
        if (o.json) return console.log(JSON.stringify(views));
        if (!views.length) return console.log('No schedules.');
        console.log(
          table(
            ['id', 'pipeline', 'when', 'paused', 'next run'],
            views.map((v) => [v.id, v.pipeline ?? '', v.spec, v.paused ? 'yes' : 'no', v.nextRuns[0] ?? '']),
          ),
        );
      });
    });

  schedule
    .command('describe')
    .description('Next runs, recent runs, paused or not.')
    .argument('<id>', 'schedule ID')
    .option('--json', 'print JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      await withClient(async (client) => {
        const v = viewOf(id, await client.schedule.getHandle(id).describe());
        if (o.json) return console.log(JSON.stringify(v));
        console.log(
          `${v.id}: ${v.pipeline ?? '?'} ${v.spec}${v.paused ? ' (PAUSED)' : ''}${v.note ? ` — ${v.note}` : ''}`,
        );
        // Upcoming times on the schedule's clock (what --at means) and in UTC (what logs and the UI show).
        console.log(`  next runs:${v.nextRuns.length ? '' : ' none'}`);
        v.nextRuns.forEach((utc, i) => console.log(`    ${v.nextRunsLocal[i] ?? ''} (${utc})`));
        // Recent runs by the date run they started, the ID to look up with `sluice status`.
        console.log(`  recent runs:${v.recentRuns.length ? '' : ' none'}`);
        for (const r of v.recentRuns)
          console.log(`    ${r.run ?? r.workflowId} (scheduled ${r.scheduledAt}, launcher ${r.workflowId})`);
      });
    });

  const scheduleAction = (name: string, description: string, act: (h: ScheduleHandle) => Promise<void>, done: string) =>
    schedule
      .command(name)
      .description(description)
      .argument('<id>', 'schedule ID')
      .action(async (id: string) => {
        await withClient(async (client) => {
          await act(client.schedule.getHandle(id));
          console.log(`${id}: ${done}`);
        });
      });
  scheduleAction('pause', 'Stop starting runs.', (h) => h.pause('paused with sluice'), 'paused');
  scheduleAction('unpause', 'Start runs again.', (h) => h.unpause('unpaused with sluice'), 'unpaused');
  schedule
    .command('trigger')
    .description('Start a run now (its logical date follows the same rule).')
    .argument('<id>', 'schedule ID')
    .action(async (id: string) => {
      await withClient(async (client, settings) => {
        const started = await triggerSchedule(client.schedule.getHandle(id));
        if (!started?.run) {
          console.log(
            `${id}: triggered; the run did not show up yet (an overlap policy may have skipped it).\n  See: sluice schedule describe ${id}`,
          );
          return;
        }
        console.log(
          `${id}: triggered: logical date ${started.ds}, run ${started.run} (launcher ${started.workflowId})`,
        );
        const url = runUiUrl(settings, started.run);
        if (url) console.log(`Temporal UI: ${url}`);
      });
    });
  scheduleAction('delete', 'Delete the schedule (runs already started go on).', (h) => h.delete(), 'deleted');
}

export async function main(argv: string[], servers: ServerEntryPoints): Promise<number> {
  const program = buildCli(servers);
  try {
    await runTraced(program, argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // commander already printed the message (or the help / version).
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version'
        ? EXIT.ok
        : EXIT.badInput;
    }
    if (err instanceof UserInputError || exitCodeFor(err) === EXIT.badInput) {
      console.error(describeError(err));
      return EXIT.badInput;
    }
    console.error(describeError(err));
    return EXIT.failed;
  }
}
