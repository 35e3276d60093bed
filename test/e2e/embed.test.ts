/**
 * Sluice as a library in a team's own Temporal app: `npm pack` the repository, install the tarball
 * into a scratch project outside the repo (examples/embed copied to the OS temp dir), type-check
 * the example against the installed .d.ts, then run its own worker — its own workflow and activity
 * plus `new SluicePlugin()` — on the local stack. Its workflow runs the example pipeline as a child;
 * the test asserts the child is the run `sluice run` would have started (workflow ID, summary,
 * search attributes), that its stage wrote the S3 object, and that Sluice's interceptors ran.
 *
 * The install is a normal `npm install` of pinned versions (`--prefer-offline`: from the npm cache
 * when it has them, the registry otherwise). The package is packed with --ignore-scripts: the jest
 * globalSetup has just built dist/ (`npm run build`, what `prepare` would run).
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomInt } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { addDays } from '../../common/dates';
import { runSummary, runWorkflowId } from '../../common/naming';
import type { RunStatus } from '../../common/run-types';
import { RUN_STATUS, SEARCH_ATTRIBUTE_NAMES } from '../../common/constants';
import { awsClients, createBucket, uniqueName } from '../support/aws';
import { ROOT } from '../support/cli';

const run = promisify(execFile);
const EXAMPLE = path.join(ROOT, 'examples', 'embed');
const PIPELINE = 'embed-report';

let dir: string;
let packed: { filename: string; files: { path: string }[] };

interface Proc {
  code: number | null;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} ran over ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function filesUnder(root: string, keep: (file: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const p = path.join(root, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p, keep));
    else if (keep(p)) out.push(p);
  }
  return out;
}

/** The package a module specifier names (`@scope/name/sub` → `@scope/name`), or undefined for relative and built-in ones. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0] ?? '')) return;
  return spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
}

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist', 'client', 'index.js')))
    throw new Error('dist/ is not built: the jest globalSetup runs `npm run build` (unset SLUICE_TEST_SKIP_BUILD)');
  dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-embed-'));
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  packed = (JSON.parse(stdout) as (typeof packed)[])[0]!;
  // The example as a team would have it: its own package.json (sluice from file:sluice.tgz), sources, pipeline.
  for (const f of ['package.json', 'tsconfig.json', 'pipeline.yaml', 'src'])
    cpSync(path.join(EXAMPLE, f), path.join(dir, f), { recursive: true });
  cpSync(path.join(dir, packed.filename), path.join(dir, 'sluice.tgz'));
  const install = await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], dir, 150_000);
  if (install.code !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the package ships the compiled library with its types, the CLI and the docs, not tests, fixtures or infra', () => {
  const files = packed.files.map((f) => f.path);
  for (const f of [
    'bin/sluice.js',
    'dist/client/index.js',
    'dist/client/index.d.ts',
    'dist/workflows/index.js',
    'dist/workflows/index.d.ts',
    'dist/workflows/child.d.ts',
    'dist/workers/plugin.d.ts',
    'dist/workflow-bundle.js',
    'package.json',
    'README.md',
    'docs/kinds.md',
    'kinds/glue-job/README.md',
    'ui/index.html',
  ])
    expect(files).toContain(f);
  // Beside the code: the README, the docs (pages and their images), each kind's page (not the kinds'
  // sources) and the page `sluice ui` serves (plain files: nothing to build).
  expect(
    files.filter(
      (f) =>
        !/^(bin|dist)\/|^package\.json$|^README\.md$|^docs\/.+\.(md|png)$|^kinds\/[^/]+\/README\.md$|^ui\/[^/]+\.(html|js|css)$/.test(
          f,
        ),
    ),
  ).toEqual([]);
  expect(
    files.filter(
      (f) => /(^|\/)(test|fixtures|infra|examples|scripts)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')),
    ),
  ).toEqual([]);
  expect(files).not.toContain('dist/.tsbuildinfo');
});

test('what ships imports only the package dependencies, and every module loads without the devDependencies', async () => {
  const installed = path.join(dir, 'node_modules', 'sluice');
  const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
  };
  const allowed = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);
  const undeclared: string[] = [];
  const seen = new Set<string>();
  for (const file of filesUnder(path.join(installed, 'dist'), (f) => /\.(js|d\.ts)$/.test(f))) {
    if (file.endsWith('workflow-bundle.js')) continue; // webpack output: everything it needs is inside
    const text = readFileSync(file, 'utf8');
    // tsc's CommonJS output (`require("x")`) and declarations (`from "x"`, `import("x")`).
    for (const m of text.matchAll(
      /\brequire\("([^"]+)"\)|^(?:import|export)\b[^;]*?\bfrom "([^"]+)"|\bimport\("([^"]+)"\)/gm,
    )) {
      const pkg = packageOf(m[1] ?? m[2] ?? m[3] ?? '');
      if (pkg) seen.add(pkg);
      if (pkg && !allowed.has(pkg)) undeclared.push(`${path.relative(installed, file)}: ${pkg}`);
    }
  }
  expect(undeclared).toEqual([]);
  // The scan saw the imports (the plugin's SDK package, the stages' AWS SDK, the CLI's commander).
  expect([...seen]).toEqual(expect.arrayContaining(['@temporalio/plugin', '@aws-sdk/client-s3', 'commander']));
  // The scratch project has only the package's dependencies (and typescript, @types/node): every
  // shipped module loads there.
  const load = await exec(
    process.execPath,
    [
      '-e',
      `const fs = require('node:fs'), path = require('node:path');
       const root = path.join(path.dirname(require.resolve('sluice/package.json')), 'dist');
       const walk = (d) => fs.readdirSync(d).flatMap((f) => fs.statSync(path.join(d, f)).isDirectory() ? walk(path.join(d, f)) : [path.join(d, f)]);
       const mods = walk(root).filter((f) => f.endsWith('.js') && !f.endsWith('workflow-bundle.js'));
       const failed = mods.flatMap((f) => { try { require(f); return []; } catch (e) { return [path.relative(root, f) + ': ' + e.message]; } });
       console.log(JSON.stringify({ loaded: mods.length, failed }));`,
    ],
    dir,
    60_000,
  );
  const loaded = JSON.parse(load.stdout.trim().split('\n').pop()!) as { loaded: number; failed: string[] };
  expect(loaded.failed).toEqual([]);
  expect(loaded.loaded).toBeGreaterThan(50);
});

test("one copy of each Temporal package: Sluice's are peer dependencies, shared with the team's app", () => {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'node_modules', 'sluice', 'package.json'), 'utf8')) as {
    peerDependencies: Record<string, string>;
  };
  expect(Object.keys(manifest.peerDependencies)).toEqual(
    expect.arrayContaining([
      '@temporalio/activity',
      '@temporalio/client',
      '@temporalio/common',
      '@temporalio/workflow',
    ]),
  );
  expect(existsSync(path.join(dir, 'node_modules', 'sluice', 'node_modules', '@temporalio'))).toBe(false);
  for (const name of Object.keys(manifest.peerDependencies))
    expect(existsSync(path.join(dir, 'node_modules', name, 'package.json'))).toBe(true);
});

test('the example type-checks against the installed declarations (exports map and node10 resolution), and those check clean themselves', async () => {
  // The example's own build (skipLibCheck, as most projects): its code against sluice's .d.ts.
  const build = await exec(path.join(dir, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], dir, 90_000);
  expect(build.stdout + build.stderr).toBe('');
  expect(build.code).toBe(0);
  const tsc = (...args: string[]) =>
    exec(path.join(dir, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json', '--noEmit', ...args], dir, 90_000);
  const [node10, strict] = await Promise.all([
    // Projects still on `moduleResolution: node` (no exports maps) find the subpaths' types too (typesVersions).
    tsc('--module', 'commonjs', '--moduleResolution', 'node'),
    // Sluice's declarations checked too (skipLibCheck off): no error in them. Other packages' own
    // declarations are theirs (@temporalio/common's need @types/ms).
    tsc('--skipLibCheck', 'false', '--pretty', 'false'),
  ]);
  expect(node10.stdout + node10.stderr).toBe('');
  const errors = strict.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
  // Any error not in another package's declarations (sluice's, the example's, the config) fails.
  expect(errors.filter((l) => !/^node_modules\/(?!sluice\/)/.test(l))).toEqual([]);
  expect(strict.stderr).toBe('');
}, 150_000);

test("importing the library loads neither the stage code's AWS SDK nor the worker's native runtime", async () => {
  const res = await exec(
    process.execPath,
    [
      '-e',
      `require('sluice'); require('sluice/workflows/child');
       const heavy = Object.keys(require.cache).filter((k) => /node_modules[\\/](@aws-sdk|@temporalio[\\/](worker|core-bridge))[\\/]/.test(k));
       console.log(JSON.stringify({ sluice: Object.keys(require('sluice')).length, heavy }));`,
    ],
    dir,
    30_000,
  );
  const out = JSON.parse(res.stdout.trim()) as { sluice: number; heavy: string[] };
  expect(out.heavy).toEqual([]);
  expect(out.sluice).toBeGreaterThan(30);
});

test('the CLI runs from the installed package', async () => {
  const res = await exec(
    path.join(dir, 'node_modules', '.bin', 'sluice'),
    ['validate', '--pipeline', 'pipeline.yaml'],
    dir,
    30_000,
  );
  expect(res.stderr).not.toMatch(/not built/);
  expect(res.code).toBe(0);
  expect(res.stdout).toContain(PIPELINE);
});

test("the team's worker runs its own workflow and activity, then the Sluice pipeline as a child with Sluice's ID, summary and search attributes", async () => {
  // The example's build above wrote lib/; rebuild if this test runs alone.
  if (!existsSync(path.join(dir, 'lib', 'main.js')))
    await exec(path.join(dir, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], dir, 90_000);
  const bucket = await createBucket();
  // A date no earlier jest run used (the pipeline name is fixed in the file): this run is generation 0.
  const ds = addDays('2000-01-01', randomInt(0, 9000));
  const res = await exec(process.execPath, ['lib/main.js', bucket, ds], dir, 90_000, {
    EMBED_TASK_QUEUE: uniqueName('embed'),
  });
  if (res.code !== 0) throw new Error(`the example failed (${res.code}):\n${res.stderr}`);
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as {
    parent: string;
    note: string;
    run: RunStatus;
    child: {
      workflowId: string;
      type: string;
      parent?: string;
      summary: string | null;
      searchAttributes: Record<string, unknown>;
    };
  };
  // The team's own activity ran first: its note is the pipeline's param and the object's body.
  expect(out.note).toBe(`embed report for ${ds}`);
  expect(out.run).toMatchObject({ pipeline: PIPELINE, ds, generation: 0, status: 'succeeded' });
  expect(out.run.params).toEqual({ bucket, note: out.note });
  const key = `reports/dt=${ds}/note.txt`;
  expect(out.run.stages).toEqual([
    expect.objectContaining({
      id: 'write_note',
      kind: 's3.put',
      state: 'succeeded',
      result: expect.objectContaining({ output: expect.objectContaining({ uri: `s3://${bucket}/${key}` }) }),
    }),
  ]);
  // The child is the run `sluice run` would start: same ID, type, summary and search attributes.
  expect(out.child).toEqual({
    workflowId: runWorkflowId(PIPELINE, ds),
    type: 'runPipeline',
    parent: out.parent,
    summary: runSummary(PIPELINE, ds, 1),
    searchAttributes: expect.objectContaining({
      [SEARCH_ATTRIBUTE_NAMES.pipeline]: PIPELINE,
      [SEARCH_ATTRIBUTE_NAMES.date]: `${ds}T00:00:00.000Z`,
      [SEARCH_ATTRIBUTE_NAMES.status]: RUN_STATUS.succeeded,
    }),
  });
  const object = await awsClients().s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  expect(await object.Body!.transformToString()).toBe(out.note);
  // SluicePlugin's interceptors ran on the team's worker: the workflow interceptor's run lines and
  // the activity interceptor's stage lines, with the stage's log attributes.
  expect(res.stderr).toMatch(/run started[\s\S]*workflowId: 'embed-report\//);
  // Once: the worker (workflowsPath) and the bundler both add the plugin's workflow module, registered once.
  expect(res.stderr.match(/\] run started \{/g)).toHaveLength(1);
  expect(res.stderr).toMatch(/stage attempt succeeded[\s\S]*stage: 'write_note'[\s\S]*kind: 's3.put'/);
}, 120_000);
