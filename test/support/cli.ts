/** Runs the real `bin/sluice.js` (the built CLI) as a user would, against the local stack. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const SLUICE_BIN = path.join(ROOT, 'bin', 'sluice.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function sluice(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLUICE_BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice ${args.join(' ')} ran over ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `sluice worker` in its own process; resolves once it says it has started. */
export function spawnWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SLUICE_BIN, 'worker'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('sluice worker started')) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`worker exited early (${code}): ${out}`)));
  });
}

/** A fresh temp folder for a test file's pipeline files, and the writer of `<name>.yaml` in it. */
export function pipelineDir(prefix: string): { dir: string; file(name: string, yaml: string): string } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return {
    dir,
    file(name, yaml) {
      const f = path.join(dir, `${name}.yaml`);
      writeFileSync(f, yaml);
      return f;
    },
  };
}
