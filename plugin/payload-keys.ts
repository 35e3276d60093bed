/**
 * The keys that encrypt Sluice's payloads (plugin/encryption.ts), read from the environment the
 * same way by the worker, the CLI and `sluice codec-server`:
 *
 *   SLUICE_PAYLOAD_KEYS        keyId:base64key[,keyId:base64key…]  (each key 32 random bytes,
 *                              e.g. `openssl rand -base64 32`), or the JSON {"keyId": "base64key", …}
 *   SLUICE_PAYLOAD_KEY_SECRET  or: a Secrets Manager secret (name or ARN) whose value is that same
 *                              text, fetched once at startup (AWS_REGION, AWS_ENDPOINT_URL, the
 *                              default credential chain)
 *   SLUICE_PAYLOAD_KEY_ID      the key that encrypts (default: the first one); every listed key
 *                              decrypts, so a key is rotated by putting a new one first and keeping
 *                              the old ones for as long as histories encrypted with them are read
 *
 * Unset: payloads are not encrypted. A bad value fails at startup (PayloadKeyConfigError, exit 2)
 * naming the variable, what was received (a key id, a length, never key material) and the fix.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { ConfigError, type ConfigIssue } from '../common/connection';

export const PAYLOAD_KEY_VARIABLES = {
  keys: 'SLUICE_PAYLOAD_KEYS',
  secret: 'SLUICE_PAYLOAD_KEY_SECRET',
  keyId: 'SLUICE_PAYLOAD_KEY_ID',
} as const;

/** AES-256: 32-byte keys. */
export const PAYLOAD_KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const GENERATE = '`openssl rand -base64 32`';

/** The configured keys: one encrypts, all decrypt. Key material is held as KeyObjects (they print as `SecretKeyObject`, never their bytes). */
export interface PayloadKeys {
  /** Id of the key that encrypts new payloads. */
  readonly encryptWith: string;
  /** Every key by id, the encrypting one included. */
  readonly keys: ReadonlyMap<string, KeyObject>;
}

export class PayloadKeyConfigError extends ConfigError {
  constructor(issues: ConfigIssue[]) {
    super(issues, "the payload encryption keys' configuration");
    this.name = 'PayloadKeyConfigError';
  }
}

/** How an entry is shown in a message: its key id and the length of its key, never the key. */
function redacted(id: string, key: string): string {
  return `${id}:<${key.length} characters, not shown>`;
}

/**
 * Parses `keyId:base64key[,…]` (from `variable`, or from the secret it names) and picks the
 * encrypting key (`keyId`, default the first). Problems are appended to `issues`.
 */
export function parsePayloadKeys(
  text: string,
  variable: string,
  keyId: string | undefined,
  issues: ConfigIssue[],
): PayloadKeys | undefined {
  const before = issues.length;
  const keys = new Map<string, KeyObject>();
  let entries: string[];
  if (text.trim().startsWith('{')) {
    // The JSON form (what the CDK app's generated secret holds): {"keyId": "base64key", …}, first key encrypts.
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      obj = undefined;
    }
    if (!obj || typeof obj !== 'object' || Object.values(obj).some((v) => typeof v !== 'string')) {
      issues.push({
        variable,
        problem: 'it starts with "{" but is not a JSON object of keyId: "base64key"',
        fix: 'write {"k1": "<base64 key>"} or k1:<base64 key>',
      });
      return undefined;
    }
    entries = Object.entries(obj as Record<string, string>).map(([id, key]) => `${id}:${key}`);
  } else
    entries = text
      .split(/[,\n]/)
      .map((e) => e.trim())
      .filter(Boolean);
  if (!entries.length)
    issues.push({
      variable,
      problem: 'no key in it',
      fix: `set keyId:base64key, e.g. "k1:" followed by the output of ${GENERATE}`,
    });
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    if (colon < 0) {
      issues.push({
        variable,
        received: `<${entry.length} characters without a "keyId:" prefix, not shown>`,
        problem: 'an entry is not keyId:base64key',
        fix: `write each key as keyId:base64key (e.g. k1:$(${GENERATE.slice(1, -1)})), separated by commas`,
      });
      continue;
    }
    const id = entry.slice(0, colon).trim();
    const b64 = entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) {
      issues.push({
        variable,
        received: id.length <= 64 ? id : `<${id.length} characters>`,
        problem: 'a key id must be 1 to 64 letters, digits, ".", "_" or "-"',
        fix: 'name each key with a short id such as k1 or 2026-05',
      });
      continue;
    }
    if (keys.has(id)) {
      issues.push({
        variable,
        received: id,
        problem: `key id ${id} appears twice`,
        fix: 'give every key its own id',
      });
      continue;
    }
    const bytes = BASE64.test(b64)
      ? Buffer.from(b64, b64.includes('-') || b64.includes('_') ? 'base64url' : 'base64')
      : undefined;
    if (!bytes || bytes.length !== PAYLOAD_KEY_BYTES) {
      issues.push({
        variable,
        received: bytes ? `${id}:<${bytes.length} bytes, not shown>` : redacted(id, b64),
        problem: bytes
          ? `key ${id} is ${bytes.length} bytes; AES-256-GCM needs exactly ${PAYLOAD_KEY_BYTES} (256 bits)`
          : `key ${id} is not base64`,
        fix: `generate a key with ${GENERATE} (32 random bytes, base64)`,
      });
      continue;
    }
    keys.set(id, createSecretKey(bytes));
    bytes.fill(0);
  }
  if (issues.length > before) return undefined;
  const encryptWith = keyId?.trim() || [...keys.keys()][0]!;
  if (!keys.has(encryptWith)) {
    issues.push({
      variable: PAYLOAD_KEY_VARIABLES.keyId,
      received: encryptWith,
      problem: `no key with this id in ${variable} (its ids: ${[...keys.keys()].join(', ')})`,
      fix: `set ${PAYLOAD_KEY_VARIABLES.keyId} to one of those ids, or add the key to ${variable}`,
    });
    return undefined;
  }
  return { encryptWith, keys };
}

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

/** Both sources set, or a key id without keys: a mistake to report rather than guess about. */
function checkSources(env: NodeJS.ProcessEnv, issues: ConfigIssue[]): void {
  const { keys, secret, keyId } = PAYLOAD_KEY_VARIABLES;
  if (nonEmpty(env, keys) && nonEmpty(env, secret))
    issues.push({
      variable: secret,
      received: env[secret]!,
      problem: `set together with ${keys}`,
      fix: `use one of them: ${keys} holds the keys, ${secret} names a Secrets Manager secret that holds them`,
    });
  if (nonEmpty(env, keyId) && !nonEmpty(env, keys) && !nonEmpty(env, secret))
    issues.push({
      variable: keyId,
      received: env[keyId]!,
      problem: `set without ${keys} or ${secret}`,
      fix: `set ${keys} (or ${secret}) too, or unset ${keyId}`,
    });
}

/**
 * The keys from SLUICE_PAYLOAD_KEYS, without network: undefined when no key is configured. With
 * SLUICE_PAYLOAD_KEY_SECRET this throws (the secret is read by {@link loadPayloadKeys}, which is async).
 */
export function payloadKeysFromEnv(env: NodeJS.ProcessEnv = process.env): PayloadKeys | undefined {
  const issues: ConfigIssue[] = [];
  checkSources(env, issues);
  const { keys: keysVar, secret, keyId } = PAYLOAD_KEY_VARIABLES;
  if (!issues.length && nonEmpty(env, secret))
    issues.push({
      variable: secret,
      received: env[secret]!,
      problem: 'a Secrets Manager secret is read asynchronously, and this caller reads the environment synchronously',
      fix: `pass the keys explicitly: new SluicePlugin({ payloads: { keys: await loadPayloadKeys() } })`,
    });
  const text = nonEmpty(env, keysVar);
  const parsed = !issues.length && text !== undefined ? parsePayloadKeys(text, keysVar, env[keyId], issues) : undefined;
  if (issues.length) throw new PayloadKeyConfigError(issues);
  return parsed;
}

/** What reads the secret: a Secrets Manager client's `send(GetSecretValueCommand)`. Tests may pass their own client. */
export interface LoadPayloadKeysOptions {
  secretsManager?: { send(command: unknown): Promise<{ SecretString?: string; SecretBinary?: Uint8Array }> };
}

/**
 * The keys from SLUICE_PAYLOAD_KEYS or from the Secrets Manager secret SLUICE_PAYLOAD_KEY_SECRET
 * names (one GetSecretValue at startup); undefined when neither is set. Throws
 * PayloadKeyConfigError for a bad value, a missing secret or one that cannot be read.
 */
export async function loadPayloadKeys(
  env: NodeJS.ProcessEnv = process.env,
  opts: LoadPayloadKeysOptions = {},
): Promise<PayloadKeys | undefined> {
  const { secret, keyId } = PAYLOAD_KEY_VARIABLES;
  const secretId = nonEmpty(env, secret)?.trim();
  if (!secretId) return payloadKeysFromEnv(env);
  const issues: ConfigIssue[] = [];
  checkSources(env, issues);
  if (issues.length) throw new PayloadKeyConfigError(issues);
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = opts.secretsManager ?? new SecretsManagerClient({});
  let value: string | undefined;
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    value = out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
  } catch (err) {
    const e = err as Error & { name?: string };
    const where = `region ${env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? '(default)'}${env.AWS_ENDPOINT_URL ? `, endpoint ${env.AWS_ENDPOINT_URL}` : ''}`;
    throw new PayloadKeyConfigError([
      {
        variable: secret,
        received: secretId,
        problem:
          e.name === 'ResourceNotFoundException'
            ? `no such Secrets Manager secret (${where})`
            : `the secret could not be read (${where}): ${e.name ?? 'Error'}: ${e.message}`,
        fix:
          e.name === 'ResourceNotFoundException'
            ? 'create it (aws secretsmanager create-secret --name … --secret-string "k1:$(openssl rand -base64 32)") or name an existing one (its name or ARN)'
            : 'check the secret id, the region and that this role may call secretsmanager:GetSecretValue on it',
      },
    ]);
  } finally {
    if (!opts.secretsManager) (client as InstanceType<typeof SecretsManagerClient>).destroy();
  }
  if (!value?.trim())
    throw new PayloadKeyConfigError([
      {
        variable: secret,
        received: secretId,
        problem: 'the secret has no value',
        fix: 'put keyId:base64key in it: aws secretsmanager put-secret-value --secret-id … --secret-string "k1:$(openssl rand -base64 32)"',
      },
    ]);
  const keys = parsePayloadKeys(value, `${secret} (secret ${secretId})`, env[keyId], issues);
  if (!keys) throw new PayloadKeyConfigError(issues);
  return keys;
}

/** What may be logged about the keys: ids only. */
export function describePayloadKeys(keys: PayloadKeys | undefined): Record<string, unknown> {
  return keys
    ? { payloadEncryption: 'AES-256-GCM', payloadKeyId: keys.encryptWith, payloadKeyIds: [...keys.keys.keys()] }
    : { payloadEncryption: 'off' };
}
