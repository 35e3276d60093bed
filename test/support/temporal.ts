/** A real worker on the real dev server, on a task queue of the test's own. */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { temporalSettings, type TemporalSettings } from '../../common/env';
import { createSluiceWorker, type SluiceWorkerOptions } from '../../workers/worker';
import { uniqueName } from './aws';

export interface TestContext {
  settings: TemporalSettings;
  client: Client;
  startWorker(opts?: Partial<SluiceWorkerOptions>): Promise<RunningWorker>;
  close(): Promise<void>;
}

export interface RunningWorker {
  worker: Worker;
  stop(): Promise<void>;
}

export async function temporalTestContext(queuePrefix: string): Promise<TestContext> {
  const settings: TemporalSettings = { ...temporalSettings(), taskQueue: uniqueName(queuePrefix) };
  const connection = await Connection.connect({ address: settings.address });
  const client = new Client({ connection, namespace: settings.namespace });
  const nativeConnections: NativeConnection[] = [];
  const running: RunningWorker[] = [];
  return {
    settings,
    client,
    async startWorker(opts = {}) {
      const nc = await NativeConnection.connect({ address: settings.address });
      nativeConnections.push(nc);
      const worker = await createSluiceWorker({ settings, connection: nc, shutdownGraceTime: '5s', ...opts });
      const done = worker.run();
      const rw: RunningWorker = {
        worker,
        async stop() {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await done;
        },
      };
      running.push(rw);
      return rw;
    },
    async close() {
      await Promise.all(running.map((w) => w.stop()));
      await Promise.all(nativeConnections.map((c) => c.close()));
      await connection.close();
    },
  };
}

/**
 * A test file's context: made before its tests and closed after them (the beforeAll and afterAll
 * hooks are registered where this is called, so call it at the top of the file), with one worker
 * started when `worker` is given (its options; `{}` for the defaults). Read it in tests and hooks:
 * before the file's beforeAll has run it has nothing to give.
 */
export function fileContext(queuePrefix: string, opts: { worker?: Partial<SluiceWorkerOptions> } = {}): TestContext {
  let made: TestContext | undefined;
  beforeAll(async () => {
    made = await temporalTestContext(queuePrefix);
    if (opts.worker) await made.startWorker(opts.worker);
  });
  afterAll(async () => {
    await made?.close();
  });
  const it = (): TestContext => {
    if (!made) throw new Error(`the ${queuePrefix} test context is made in beforeAll: read it in a test or hook`);
    return made;
  };
  return {
    get settings() {
      return it().settings;
    },
    get client() {
      return it().client;
    },
    startWorker: (o) => it().startWorker(o),
    close: () => it().close(),
  };
}

/**
 * The environment of the CLI's processes a test spawns (`sluice(args, cliEnv(ctx))`): the file's
 * task queue, read when the environment is spread into the process's (so it may be made before the
 * context is).
 */
export function cliEnv(ctx: TestContext): NodeJS.ProcessEnv {
  return {
    get SLUICE_TASK_QUEUE() {
      return ctx.settings.taskQueue;
    },
  };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
