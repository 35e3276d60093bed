/**
 * Structured logs: one JSON object per line on stdout, for CloudWatch Logs. The SDK's Runtime
 * logger receives every worker, workflow and activity log with the SDK's own attributes
 * (namespace, taskQueue, workflowId, runId, activityType, attempt…) plus Sluice's (pipeline,
 * stage, kind, jobId); they are flattened into the line, so an `_aws` member makes the line a
 * CloudWatch embedded-metric-format record (see emf.ts).
 */
import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';

/** Keys whose values are replaced before anything is written, wherever they appear. */
const SECRET_KEYS =
  /^(apiKey|api_key|TEMPORAL_API_KEY|key|clientKey|client_key|privateKey|password|secret|authorization|TEMPORAL_TLS_CLIENT_KEY_DATA)$/i;

function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object')
    return typeof value === 'bigint' ? value.toString() : value;
  if (value instanceof Error)
    return { name: value.name, message: value.message, ...(value.stack ? { stack: value.stack } : {}) };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>))
    out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

/** One log entry as the JSON line written for it. */
export function formatLogLine(entry: Pick<LogEntry, 'level' | 'message' | 'timestampNanos' | 'meta'>): string {
  const meta = (redact(entry.meta ?? {}) ?? {}) as Record<string, unknown>;
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  return JSON.stringify({ time, level: entry.level.toLowerCase(), msg: entry.message, ...meta });
}

/** A Logger for Runtime.install that writes JSON lines. */
export function jsonLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): DefaultLogger {
  return new DefaultLogger(level, (entry) => write(formatLogLine(entry)));
}
