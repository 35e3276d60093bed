/**
 * One jest run: unit tests (pure logic), workflow tests (real Temporal server, activities mocked
 * only where the test is about workflow logic) and end-to-end tests (real worker + real server +
 * the AWS SDK over HTTP to the local endpoint). globalSetup starts the local stack once.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  setupFiles: ['<rootDir>/test/support/quiet-runtime.ts'],
  testTimeout: 120_000,
  // Two cores: two test files at a time, each with its own worker and task queue.
  maxWorkers: 2,
  // The Temporal native runtime keeps handles open briefly after shutdown.
  forceExit: true,
};
