/**
 * How Sluice's payloads are encoded: the one place for it. Everything Sluice writes to Temporal
 * (workflow inputs with the pipeline and its params, results, heartbeat details, failures, memos,
 * summaries) passes through the data converter this module builds, on the client (the CLI,
 * `startRun`, a user's Client with SluicePlugin) and on the worker (Sluice's own or a user's with
 * SluicePlugin) alike, because both get it from SluicePlugin.
 *
 * With keys (SLUICE_PAYLOAD_KEYS or SLUICE_PAYLOAD_KEY_SECRET, see payload-keys.ts) every payload
 * is encrypted with AES-256-GCM (encryption.ts), and failures carry their message and stack trace
 * in an encoded payload too (encoded-failures.ts) instead of in clear. Codecs run outside the
 * workflow sandbox, so they may use Node (crypto, the AWS SDK); the failure converter runs inside it
 * as well, so a workflow bundle made ahead of time must be made with it (SluicePlugin's
 * configureBundler adds it; `npm run build` writes both bundles).
 */
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { AesGcmPayloadCodec } from './encryption';
import { payloadKeysFromEnv, type PayloadKeys } from './payload-keys';

export interface SluicePayloadOptions {
  /**
   * Codecs applied to every payload, after any the Client or Worker already has (encoding runs
   * them in this order, decoding in reverse). Encryption, when on, runs after these.
   */
  codecs?: PayloadCodec[];
  /**
   * Encrypt every payload with these keys (`await loadPayloadKeys()` reads them from the
   * environment or Secrets Manager). Default for SluicePlugin: SLUICE_PAYLOAD_KEYS, if set.
   */
  keys?: PayloadKeys;
}

/** The failure converter module that moves failure messages and stack traces into an (encrypted) payload. */
export const ENCODED_FAILURES_PATH = require.resolve('./encoded-failures');

/** SluicePlugin's payload options when none are given: the keys of SLUICE_PAYLOAD_KEYS (sync; see payloadKeysFromEnv). */
export function payloadOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SluicePayloadOptions {
  const keys = payloadKeysFromEnv(env);
  return keys ? { keys } : {};
}

/** Whether failures must be converted with encoded attributes (and the workflow bundle made with ENCODED_FAILURES_PATH). */
export function encodesFailures(opts: SluicePayloadOptions): boolean {
  return opts.keys !== undefined;
}

function payloadCodecsOf(opts: SluicePayloadOptions): PayloadCodec[] {
  return [...(opts.codecs ?? []), ...(opts.keys ? [new AesGcmPayloadCodec(opts.keys)] : [])];
}

/**
 * The data converter of a Client or Worker given SluicePlugin: the one it already has (a team's
 * own converter and codecs are kept) plus Sluice's codecs and, when encrypting, the failure
 * converter with encoded attributes (unless the team set a failure converter of its own).
 * Unchanged when Sluice adds nothing.
 */
export function sluiceDataConverter(
  existing: DataConverter | undefined,
  opts: SluicePayloadOptions = {},
): DataConverter | undefined {
  const codecs = payloadCodecsOf(opts);
  if (!codecs.length) return existing;
  return {
    ...existing,
    ...(encodesFailures(opts) ? { failureConverterPath: existing?.failureConverterPath ?? ENCODED_FAILURES_PATH } : {}),
    payloadCodecs: [...(existing?.payloadCodecs ?? []), ...codecs],
  };
}
