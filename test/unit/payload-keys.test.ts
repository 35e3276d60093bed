/** Parsing SLUICE_PAYLOAD_KEYS: both forms, rotation, and messages that never show a key. */
import { randomBytes } from 'node:crypto';
import type { ConfigIssue } from '../../common/connection';
import { parsePayloadKeys, payloadKeysFromEnv, PayloadKeyConfigError } from '../../plugin/payload-keys';

const b64 = () => randomBytes(32).toString('base64');

test('keyId:base64key list: the first encrypts, SLUICE_PAYLOAD_KEY_ID picks another, all decrypt', () => {
  const [a, b] = [b64(), b64()];
  expect(payloadKeysFromEnv({ SLUICE_PAYLOAD_KEYS: `new:${a}, old:${b}` })).toMatchObject({ encryptWith: 'new' });
  const keys = payloadKeysFromEnv({ SLUICE_PAYLOAD_KEYS: `new:${a},old:${b}`, SLUICE_PAYLOAD_KEY_ID: 'old' })!;
  expect(keys.encryptWith).toBe('old');
  expect([...keys.keys.keys()]).toEqual(['new', 'old']);
  expect(payloadKeysFromEnv({})).toBeUndefined();
});

test('the JSON form, as the CDK-generated secret holds it (43 alphanumerics read as base64: 32 bytes)', () => {
  const generated = 'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1eF3hJ5kL7nP9r';
  expect(generated).toHaveLength(43);
  const issues: ConfigIssue[] = [];
  const keys = parsePayloadKeys(JSON.stringify({ k1: generated }), 'SLUICE_PAYLOAD_KEY_SECRET', undefined, issues);
  expect(issues).toEqual([]);
  expect(keys?.encryptWith).toBe('k1');
  expect(keys?.keys.get('k1')?.symmetricKeySize).toBe(32);
});

test('every problem names the variable and the fix, never the key', () => {
  const short = randomBytes(24).toString('base64');
  let err: unknown;
  try {
    payloadKeysFromEnv({ SLUICE_PAYLOAD_KEYS: `k1:${short},k1:${b64()},${b64()}` });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PayloadKeyConfigError);
  const msg = (err as Error).message;
  expect(msg).toMatch(/SLUICE_PAYLOAD_KEYS: key k1 is 24 bytes; AES-256-GCM needs exactly 32/);
  expect(msg).toMatch(/received "k1:<24 bytes, not shown>"/);
  expect(msg).toMatch(/an entry is not keyId:base64key/);
  expect(msg).toMatch(/Fix: generate a key with `openssl rand -base64 32`/);
  expect(msg).not.toContain(short);
  expect(() => payloadKeysFromEnv({ SLUICE_PAYLOAD_KEY_SECRET: 'sluice/keys' })).toThrow(
    /read asynchronously[\s\S]*loadPayloadKeys/,
  );
  expect(() => payloadKeysFromEnv({ SLUICE_PAYLOAD_KEYS: `k1:${b64()}`, SLUICE_PAYLOAD_KEY_SECRET: 'x' })).toThrow(
    /set together with SLUICE_PAYLOAD_KEYS/,
  );
});
