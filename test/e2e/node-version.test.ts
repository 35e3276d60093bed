/**
 * A supported Node (issue #10, point 7): on the Node major the image runs (scripts/ensure-node.sh
 * installs it from the npm registry when the machine's node is older), the CLI builds AWS SDK
 * clients without the SDK's NodeVersionSupportWarning. `sluice codec-server` reading its key from a
 * Secrets Manager secret (moto) is the command: it constructs an SDK client and calls it before it
 * listens, which is where the SDK warns on Node < 22; the check that it really encrypts with that
 * key proves the SDK ran. The same command on the machine's own node (SLUICE_SYSTEM_NODE, set by
 * scripts/test.sh before it puts Node 24 first on PATH; else the Node running jest) warns exactly
 * when that Node is older than 22 (the detector is right). `npm run demo` runs on the same Node 24
 * (issue #19): scripts/demo.sh puts it first on PATH before it runs anything of Node.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { uniqueName } from '../support/aws';
import { ROOT, SLUICE_BIN } from '../support/cli';
import { encodingOf, freePort, newKeyEntry, type JsonPayload } from '../support/codec';
import { waitFor } from '../support/temporal';

const run = promisify(execFile);
const WARNING = /NodeVersionSupportWarning|no longer support|will require node/;

let secretArn: string;
let node24: string;

beforeAll(async () => {
  const { stdout } = await run('bash', [path.join(ROOT, 'scripts', 'ensure-node.sh')], { timeout: 300_000 });
  node24 = path.join(stdout.trim(), 'node');
  const sm = new SecretsManagerClient({});
  secretArn = (
    await sm.send(
      new CreateSecretCommand({ Name: uniqueName('sluice-node-version'), SecretString: newKeyEntry('nv1') }),
    )
  ).ARN!;
  sm.destroy();
}, 360_000);

/** `sluice codec-server` on `node`, its key from the secret: its stderr once it listens and has encrypted a payload. */
async function codecServerOn(node: string): Promise<string> {
  const port = await freePort();
  const child = spawn(node, [SLUICE_BIN, 'codec-server', '--port', String(port)], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_PAYLOAD_KEYS: '', SLUICE_PAYLOAD_KEY_SECRET: secretArn },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await waitFor(
      'the codec server to listen',
      async () => {
        if (child.exitCode !== null) throw new Error(`codec server exited ${child.exitCode}: ${out}${err}`);
        return (out + err).includes('codec server listening');
      },
      60_000,
    );
    const plain = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('1').toString('base64'),
    };
    const res = await fetch(`http://127.0.0.1:${port}/encode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payloads: [plain] }),
    });
    expect(res.status).toBe(200);
    const { payloads } = (await res.json()) as { payloads: JsonPayload[] };
    // Encrypted with the secret's key: the SDK client was built and called.
    expect(encodingOf(payloads[0]!)).toBe('binary/encrypted');
    expect(Buffer.from(payloads[0]!.metadata!['encryption-key-id']!, 'base64').toString()).toBe('nv1');
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  return err;
}

test("the image's Node major is the one scripts/ensure-node.sh gives", async () => {
  const major = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
  expect(major).toBe('24');
  const { stdout } = await run(node24, ['--version']);
  expect(stdout.trim()).toMatch(new RegExp(`^v${major}\\.`));
  const engines = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } })
    .engines.node;
  expect(engines).toBe('>=22');
});

test('npm run demo runs on that Node too: scripts/demo.sh puts it first on PATH before anything runs node or npm', () => {
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { demo: string } })
    .scripts;
  expect(scripts.demo).toBe('bash scripts/demo.sh');
  const commands = readFileSync(path.join(ROOT, 'scripts', 'demo.sh'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const found = commands.indexOf('NODE_BIN_DIR="$(bash scripts/ensure-node.sh)"');
  const first = commands.indexOf('export PATH="$NODE_BIN_DIR:$PATH"');
  expect(found).toBeGreaterThan(-1);
  expect(first).toBe(found + 1);
  // node, npm, npx, and the scripts that run them (npm ci, the stack's gateway, the fixtures): all after.
  const runsNode = commands.findIndex(
    (line) => !line.includes('ensure-node.sh') && /\b(node|npm|npx|tsx)\b|ensure-deps\.sh|stack\.sh/.test(line),
  );
  expect(runsNode).toBeGreaterThan(first);
});

test('on Node 24 the CLI uses the AWS SDK without its Node version warning', async () => {
  const stderr = await codecServerOn(node24);
  expect(stderr).not.toMatch(WARNING);
});

test("on the machine's own node the warning shows exactly when that Node is older than 22", async () => {
  const node = process.env.SLUICE_SYSTEM_NODE || process.execPath;
  const { stdout } = await run(node, ['--version']);
  const major = Number(/^v(\d+)\./.exec(stdout.trim())![1]);
  const stderr = await codecServerOn(node);
  expect(WARNING.test(stderr)).toBe(major < 22);
});
