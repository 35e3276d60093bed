/** `sluice pool set|list|describe|delete`: the pools stages share (client/pools.ts). */
import { InvalidArgumentError, type Command } from 'commander';
import { POOL_NAME, slotsProblem, type PoolView } from '../../common/pools';
import { UserInputError } from '../errors';
import { deletePool, describePool, listPools, noSuchPool, setPoolSlots } from '../pools';
import { table } from '../run-list';
import { printJson, withClient } from './skeleton';

function slotsArg(value: string): number {
  const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
  const problem = slotsProblem(n);
  if (problem) throw new InvalidArgumentError(`--slots: ${problem} (received "${value}").`);
  return n;
}

function poolName(name: string): string {
  if (!POOL_NAME.test(name))
    throw new UserInputError(
      `<name> must be a pool name of letters, digits, "_", ".", ":", "/", "@" or "-", starting with a letter or digit (received "${name}").\n  Fix: e.g. warehouse, or glue:my-job for a Glue job's pool.`,
    );
  return name;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}

function summary(v: PoolView): string {
  return `${v.name}: ${v.held}/${v.slots} held, ${v.waiting} waiting (slots from ${v.source})`;
}

export function addPoolCommands(program: Command): void {
  const pool = program
    .command('pool')
    .description('Pools: capacity every run, backfill and schedule shares (default pools learn their slots from AWS).');

  pool
    .command('set')
    .description('Set the slots of a pool (creates it); takes effect at once, for stages already waiting too.')
    .argument('<name>', 'pool name, e.g. warehouse or glue:my-job')
    .requiredOption('--slots <n>', 'how many stages may hold a slot at once', slotsArg)
    .option('--json', 'print JSON')
    .action(async (name: string, o: { slots: number; json?: boolean }) => {
      poolName(name);
      await withClient(async (client, settings) => {
        await setPoolSlots(client, settings, name, o.slots);
        if (o.json) return printJson({ name, slots: o.slots });
        console.log(`pool ${name}: ${o.slots} slot${o.slots === 1 ? '' : 's'}`);
      });
    });

  pool
    .command('list')
    .description('Every pool in use or set, with its slots, holders and waiters.')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      await withClient(async (client, settings) => {
        const views = await listPools(client, settings);
        if (o.json) return printJson(views);
        if (!views.length) return console.log(`No pools on task queue ${settings.taskQueue}.`);
        console.log(
          table(
            ['pool', 'held', 'slots', 'waiting', 'slots from'],
            views.map((v) => [v.name, String(v.held), String(v.slots), String(v.waiting), v.source]),
          ),
        );
      });
    });

  pool
    .command('describe')
    .description('One pool: who holds its slots and who waits, by pipeline, date and stage, and for how long.')
    .argument('<name>', 'pool name')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { json?: boolean }) => {
      poolName(name);
      await withClient(async (client, settings) => {
        const v = await describePool(client, settings, name);
        if (!v) throw await noSuchPool(client, settings, name);
        if (o.json) return printJson(v);
        console.log(summary(v));
        if (v.learned) console.log(`  learned: ${v.learned.slots} (${v.learned.source}, ${v.learned.at})`);
        console.log(`  holders:${v.holders.length ? '' : ' none'}`);
        for (const h of v.holders)
          console.log(
            `    ${h.pipeline} ${h.ds} ${h.stage}: holding ${seconds(h.heldMs)}, waited ${seconds(h.waitedMs)} (priority ${h.priority})`,
          );
        console.log(`  waiting:${v.waiters.length ? '' : ' none'}`);
        for (const w of v.waiters)
          console.log(`    ${w.pipeline} ${w.ds} ${w.stage}: waiting ${seconds(w.waitedMs)} (priority ${w.priority})`);
        const s = v.stats;
        console.log(
          `  since it started: ${s.granted} granted, mean wait ${seconds(s.granted ? Math.round(s.waitedMs / s.granted) : 0)}, longest ${seconds(s.maxWaitMs)}, ${s.reclaimed} reclaimed from closed runs`,
        );
      });
    });

  pool
    .command('delete')
    .description(
      'Forget the slots set for a pool: an idle pool ends; one in use goes on with its learned or default slots.',
    )
    .argument('<name>', 'pool name')
    .option('--json', 'print JSON')
    .action(async (name: string, o: { json?: boolean }) => {
      poolName(name);
      await withClient(async (client, settings) => {
        const v = await deletePool(client, settings, name);
        const busy = v.held + v.waiting > 0;
        if (o.json) return printJson({ name, deleted: true, inUse: busy });
        console.log(
          busy
            ? `pool ${name}: deleted; ${v.held} holding and ${v.waiting} waiting go on with its ${v.learned ? 'learned' : 'default'} slots, then it ends`
            : `pool ${name}: deleted`,
        );
      });
    });
}
