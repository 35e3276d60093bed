/** `sluice validate`: a pipeline file checked without running it. */
import type { Command } from 'commander';
import { loadPipelineFile } from '../load-pipeline';
import { checkNamedPools, namedPools } from '../pools';
import { ifReachable } from './skeleton';

export function addValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('Check a pipeline file without running it.')
    .requiredOption('-p, --pipeline <file>', 'pipeline definition (YAML)')
    .action(async (opts: { pipeline: string }) => {
      const def = loadPipelineFile(opts.pipeline);
      // Pools named by hand must exist (a typo would share nothing); checked when Temporal answers.
      if (namedPools(def).length)
        await ifReachable(
          (client, settings) => checkNamedPools(client, settings, def, opts.pipeline),
          (settings) =>
            console.log(
              `note: pools ${namedPools(def)
                .map((n) => n.pool)
                .join(', ')} not checked: Temporal at ${settings.address} did not answer.`,
            ),
        );
      console.log(`${opts.pipeline}: pipeline "${def.name}" with ${def.stages.length} stage(s) is valid.`);
    });
}
