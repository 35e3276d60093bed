/** `sluice schedule create|update|list|describe|pause|unpause|trigger|delete`: daily schedules (client/schedules.ts). */
import { ScheduleAlreadyRunning, type ScheduleHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { runUiUrl } from '../../common/env';
import { UserInputError } from '../errors';
import { loadPipelineFile, runParams } from '../load-pipeline';
import { table } from '../run-list';
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
} from '../schedules';
import { collectParam, nonNegativeInt, PARAM_HELP, printJson, withClient, withParams } from './skeleton';

export function addScheduleCommands(program: Command): void {
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
        if (o.json) return printJson(views);
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
        if (o.json) return printJson(v);
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
