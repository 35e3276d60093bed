/** Bundles the workflow code once (at build time), so workers start without webpack. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { SluicePlugin } from './plugin';

export async function writeWorkflowBundle(out: string): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    // The plugin adds Sluice's workflow interceptor module, as it does for a team bundling its own workflows.
    plugins: [new SluicePlugin()],
    logger: new DefaultLogger('WARN'),
  });
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, code);
}

if (require.main === module) {
  const out = process.argv[2] ?? path.resolve(__dirname, '..', 'workflow-bundle.js');
  writeWorkflowBundle(out).then(
    () => console.log(`workflow bundle written to ${out}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
