/**
 * The CLI's root span: with OTEL_EXPORTER_OTLP_ENDPOINT set, a command that talks to Temporal runs
 * in a span `sluice <command>` (service sluice-cli), the parent of the client span that starts a
 * workflow, so `sluice run` and everything the run does share one trace. The spans are exported
 * before the CLI exits. Unset, this loads nothing of OpenTelemetry and only calls parseAsync.
 */
import type { Command } from 'commander';
import { TRACE_ATTRIBUTES, tracingEndpoint } from '../../common/tracing';
import type * as TracingLoadModule from '../../plugin/tracing-load';

/** Long-running servers: the worker traces on its own (service sluice-worker); the codec server does not. */
const UNTRACED: ReadonlySet<string> = new Set(['worker', 'codec-server']);

export async function runTraced(program: Command, argv: string[]): Promise<void> {
  const command = argv[2];
  const traced =
    command !== undefined &&
    !UNTRACED.has(command) &&
    program.commands.some((c) => c.name() === command) &&
    tracingEndpoint() !== undefined;
  if (!traced) {
    await program.parseAsync(argv);
    return;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { sluiceTracingFromEnv } = require('../../plugin/tracing-load') as typeof TracingLoadModule;
  const tracing = sluiceTracingFromEnv('sluice-cli')!;
  try {
    await tracing.inSpan(`sluice ${command}`, { [TRACE_ATTRIBUTES.command]: command }, async (span) => {
      await program.parseAsync(argv);
      if (typeof process.exitCode === 'number' && process.exitCode !== 0)
        tracing.setError(span, `sluice ${command} exited ${process.exitCode}`);
    });
  } finally {
    await tracing.shutdown();
  }
}
