// Test output shows failures, not every worker state change: the SDK logs at WARN and above.
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger(process.env.SLUICE_TEST_LOG_LEVEL === 'INFO' ? 'INFO' : 'ERROR') });
} catch {
  // Already installed in this process by an earlier test file.
}
