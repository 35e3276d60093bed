/**
 * `sluice codec-server`: reads the payload keys as the worker does, checks the token variable,
 * serves until SIGINT/SIGTERM. A missing key or token variable fails before listening (exit 2).
 */
import { ConfigError } from '../common/connection';
import { startCodecServer } from './codec-server';
import { closeServer } from './http';
import { AesGcmPayloadCodec } from '../plugin/encryption';
import {
  describePayloadKeys,
  loadPayloadKeys,
  PAYLOAD_KEY_VARIABLES,
  PayloadKeyConfigError,
} from '../plugin/payload-keys';

export interface ServeCodecOptions {
  port: number;
  host: string;
  origins: string[];
  /** Name of the environment variable holding the bearer token. */
  tokenEnv?: string;
  env?: NodeJS.ProcessEnv;
}

export async function serveCodec(opts: ServeCodecOptions): Promise<void> {
  const env = opts.env ?? process.env;
  const keys = await loadPayloadKeys(env);
  if (!keys)
    throw new PayloadKeyConfigError([
      {
        variable: PAYLOAD_KEY_VARIABLES.keys,
        problem: `not set, nor ${PAYLOAD_KEY_VARIABLES.secret}: the codec server has no key to decode with`,
        fix: `set the workers' ${PAYLOAD_KEY_VARIABLES.keys} or ${PAYLOAD_KEY_VARIABLES.secret}`,
      },
    ]);
  let token: string | undefined;
  if (opts.tokenEnv !== undefined) {
    token = env[opts.tokenEnv];
    if (!token?.trim())
      throw new ConfigError(
        [
          {
            variable: opts.tokenEnv,
            problem: 'not set or empty (--token-env names it)',
            fix: `export ${opts.tokenEnv}=<a long random token>, e.g. $(openssl rand -hex 32), or drop --token-env`,
          },
        ],
        "the codec server's token",
      );
    token = token.trim();
  }
  const server = await startCodecServer({
    codecs: [new AesGcmPayloadCodec(keys)],
    port: opts.port,
    host: opts.host,
    origins: opts.origins,
    ...(token ? { token } : {}),
  });
  console.error(
    JSON.stringify({
      msg: 'sluice codec server listening',
      url: `http://${opts.host}:${opts.port}`,
      origins: opts.origins,
      auth: token ? `bearer token from ${opts.tokenEnv}` : 'none',
      ...describePayloadKeys(keys),
    }),
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void closeServer(server).then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
