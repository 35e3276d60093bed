/**
 * AES-256-GCM payload codec: every payload Sluice writes is replaced by one whose data is
 * nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes) of the whole original Payload (metadata and
 * data, protobuf-serialized, as Temporal's samples do), with metadata
 * `encoding: binary/encrypted` and `encryption-key-id: <id>` in clear so that a reader picks the
 * key. The key id is also the GCM additional data: a payload relabelled with another key id does
 * not decrypt. Decoding leaves payloads without that encoding as they are (histories written
 * before encryption was turned on still read), and fails naming the key id when the key is not
 * configured. Runs outside the workflow sandbox (node:crypto).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { PAYLOAD_KEY_VARIABLES, type PayloadKeys } from './payload-keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
export const CIPHER = 'AES-256-GCM';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A payload that cannot be decrypted: which key it needs and what to do; never its contents. */
export class PayloadDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

function text(metadata: Payload['metadata'], key: string): string | undefined {
  const v = metadata?.[key];
  return v ? fromUtf8.decode(v) : undefined;
}

export function isEncrypted(payload: Payload): boolean {
  return text(payload.metadata, METADATA_ENCODING_KEY) === ENCRYPTED_ENCODING;
}

export class AesGcmPayloadCodec implements PayloadCodec {
  constructor(private readonly keys: PayloadKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyId = this.keys.encryptWith;
    const key = this.keys.keys.get(keyId)!;
    const aad = utf8.encode(keyId);
    return payloads.map((payload) => {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(aad);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: utf8.encode(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: aad,
          [CIPHER_METADATA]: utf8.encode(CIPHER),
        },
        data: new Uint8Array(data),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (!isEncrypted(payload)) return payload;
      const keyId = text(payload.metadata, KEY_ID_METADATA);
      const key = keyId !== undefined ? this.keys.keys.get(keyId) : undefined;
      if (!keyId || !key)
        throw new PayloadDecryptionError(
          `a payload is encrypted with key id ${JSON.stringify(keyId ?? '(none)')}, which is not among the configured keys (${[...this.keys.keys.keys()].join(', ')}).\n` +
            `  Fix: add that key to ${PAYLOAD_KEY_VARIABLES.keys} (or the secret ${PAYLOAD_KEY_VARIABLES.secret} names); keep retired keys there for as long as histories encrypted with them are read.`,
        );
      const data = payload.data ?? new Uint8Array();
      if (data.length < NONCE_BYTES + TAG_BYTES)
        throw new PayloadDecryptionError(`an encrypted payload (key id ${keyId}) is truncated: ${data.length} bytes.`);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES));
      decipher.setAAD(utf8.encode(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new PayloadDecryptionError(
          `a payload encrypted with key id ${keyId} does not decrypt with the configured key of that id (wrong key, or the payload was altered).\n` +
            `  Fix: configure the key that id had when the payload was written.`,
        );
      }
      const decoded = temporal.api.common.v1.Payload.decode(plain);
      return { metadata: decoded.metadata ?? {}, data: decoded.data ?? new Uint8Array() };
    });
  }
}
