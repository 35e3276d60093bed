/**
 * Bundles the workflow code once (at build time), so workers start without webpack. Two bundles:
 * the default one, and one whose failure converter encodes failure messages and stack traces
 * (ENCODED_FAILURES_PATH), which a worker with encrypted payloads loads instead.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { ENCODED_FAILURES_PATH } from './payloads';
import { SluicePlugin } from './plugin';

/** Where the bundle with encoded failures lives, beside the default bundle `bundlePath`. */
export function encodedFailuresBundlePath(bundlePath: string): string {
  return path.join(path.dirname(bundlePath), `encoded-failures.${path.basename(bundlePath)}`);
}

async function bundle(out: string, failureConverterPath?: string): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    // The plugin adds Sluice's workflow interceptor module, as it does for a team bundling its own
    // workflows. Its payload options are explicit: the build never reads SLUICE_PAYLOAD_KEYS.
    plugins: [new SluicePlugin({ payloads: {} })],
    ...(failureConverterPath ? { failureConverterPath } : {}),
    logger: new DefaultLogger('WARN'),
  });
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, code);
}

export async function writeWorkflowBundle(out: string): Promise<void> {
  await bundle(out);
  await bundle(encodedFailuresBundlePath(out), ENCODED_FAILURES_PATH);
}

if (require.main === module) {
  const out = process.argv[2] ?? path.resolve(__dirname, '..', 'workflow-bundle.js');
  writeWorkflowBundle(out).then(
    () => console.log(`workflow bundles written to ${out} and ${encodedFailuresBundlePath(out)}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
