/**
 * Brings up the local stack (idempotent: reuses services already healthy) and bundles the
 * workflow code once, so every test worker starts in well under a second.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeWorkflowBundle } from '../../scripts/bundle-workflows';
import { applyLocalEnv } from './env';

export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  applyLocalEnv();
  if (!process.env.SLUICE_TEST_EXTERNAL_STACK) {
    execFileSync('bash', [path.join(root, 'infra/local/stack.sh'), 'up'], { stdio: 'inherit', cwd: root });
  }
  const dir = path.join(root, '.sluice', 'test');
  mkdirSync(dir, { recursive: true });
  const bundle = path.join(dir, 'workflow-bundle.js');
  await writeWorkflowBundle(bundle);
  process.env.SLUICE_WORKFLOW_BUNDLE = bundle;
}
