/**
 * The unit lane's globalSetup: nothing is started, built or connected to. Its tests see the same
 * environment as the e2e lane's (the local endpoints' defaults, polling unless a test opts in to
 * push completion), so a test behaves the same in either run; nothing listens at those endpoints.
 */
import { applyLocalEnv, pollingByDefault } from './env';

export default function unitSetup(): void {
  applyLocalEnv();
  pollingByDefault();
}
