/**
 * Two lanes, one jest run covering both (`npm test`), or one of them (`--selectProjects`):
 * - unit (`npm run test:unit`): pure logic (test/unit) and the replay tests over the committed
 *   histories. No stack: nothing is started, built or listened to; a replay test bundles the
 *   workflow code itself unless the run built one (test/support/workflow-bundle.ts).
 * - e2e (`npm run test:e2e`): workflow tests (real Temporal server, activities mocked only where the
 *   test is about workflow logic), end-to-end tests (real worker + real server + the AWS SDK over
 *   HTTP to the local endpoint) and the CDK app. Its globalSetup starts the local stack once and
 *   builds the project.
 * @type {import('jest').Config}
 */
const REPLAY = ['replay', 'replay-traced', 'backfill-replay'].map((f) => `<rootDir>/test/workflow/${f}.test.ts`);

const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  setupFiles: ['<rootDir>/test/support/quiet-runtime.ts'],
};

module.exports = {
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', ...REPLAY],
      globalSetup: '<rootDir>/test/support/unit-setup.ts',
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/', ...REPLAY],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
  ],
  testTimeout: 120_000,
  // Two cores: two test files at a time, each with its own worker and task queue.
  maxWorkers: 2,
  // The Temporal native runtime keeps handles open briefly after shutdown.
  forceExit: true,
};
