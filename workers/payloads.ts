/**
 * How Sluice's payloads are encoded: the one place for it. Everything Sluice writes to Temporal
 * (workflow inputs with the pipeline and its params, results, heartbeat details, failures) passes
 * through the data converter this module builds, on the client (the CLI, `startRun`, a user's
 * Client with SluicePlugin) and on the worker (Sluice's own or a user's with SluicePlugin) alike,
 * because both get it from SluicePlugin.
 *
 * A payload codec (encryption, compression) is configured here: its options are added to
 * SluicePayloadOptions and turned into a PayloadCodec in `payloadCodecsOf`; nothing else changes.
 * Codecs run outside the workflow sandbox, so they may use Node (crypto, the AWS SDK).
 */
import type { DataConverter, PayloadCodec } from '@temporalio/common';

export interface SluicePayloadOptions {
  /**
   * Codecs applied to every payload, after any the Client or Worker already has (encoding runs
   * them in this order, decoding in reverse).
   */
  codecs?: PayloadCodec[];
}

function payloadCodecsOf(opts: SluicePayloadOptions): PayloadCodec[] {
  return opts.codecs ?? [];
}

/**
 * The data converter of a Client or Worker given SluicePlugin: the one it already has (a team's
 * own converter and codecs are kept) plus Sluice's codecs. Unchanged when Sluice adds none.
 */
export function sluiceDataConverter(
  existing: DataConverter | undefined,
  opts: SluicePayloadOptions = {},
): DataConverter | undefined {
  const codecs = payloadCodecsOf(opts);
  if (!codecs.length) return existing;
  return { ...existing, payloadCodecs: [...(existing?.payloadCodecs ?? []), ...codecs] };
}
