/**
 * Worker process entrypoint (`sluice worker`, and the container's command). The SDK's Runtime
 * turns SIGTERM/SIGINT into a graceful shutdown: no new tasks are taken, running stages get the
 * grace time, and a stage cut short leaves its AWS job running for the next worker to reattach to.
 */
import { createSluiceWorker, type SluiceWorkerOptions } from './worker';
import { temporalSettings } from '../common/env';

export async function runWorker(opts: SluiceWorkerOptions = {}): Promise<void> {
  const settings = opts.settings ?? temporalSettings();
  const worker = await createSluiceWorker({ ...opts, settings });
  console.log(
    JSON.stringify({ level: 'info', msg: 'sluice worker started', address: settings.address, namespace: settings.namespace, taskQueue: settings.taskQueue }),
  );
  await worker.run();
  console.log(JSON.stringify({ level: 'info', msg: 'sluice worker stopped' }));
}

if (require.main === module) {
  runWorker().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
