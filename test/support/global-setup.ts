/**
 * The e2e lane's globalSetup (the unit lane's is unit-setup.ts). Brings up the local stack (idempotent: reuses services already healthy) and builds the project
 * (incremental tsc + the workflow bundle), so the CLI tests run the real `bin/sluice.js` and every
 * test worker starts from the prebuilt bundle in well under a second.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { writeWorkflowBundle } from '../../workers/bundle-workflows';
import { applyLocalEnv, pollingByDefault } from './env';

export default async function globalSetup(): Promise<void> {
  const root = path.resolve(__dirname, '..', '..');
  applyLocalEnv();
  pollingByDefault();
  if (!process.env.SLUICE_TEST_EXTERNAL_STACK) {
    execFileSync('bash', [path.join(root, 'infra/local/stack.sh'), 'up'], { stdio: 'inherit', cwd: root });
  }
  if (process.env.SLUICE_TEST_SKIP_BUILD) {
    // Development loop: bundle the workflows only (the CLI tests need the full build).
    const bundle = path.join(root, '.sluice', 'test-workflow-bundle.js');
    await writeWorkflowBundle(bundle);
    process.env.SLUICE_WORKFLOW_BUNDLE = bundle;
    return;
  }
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit', cwd: root });
  process.env.SLUICE_WORKFLOW_BUNDLE = path.join(root, 'dist', 'workflow-bundle.js');
}
