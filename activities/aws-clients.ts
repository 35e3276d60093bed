/**
 * AWS SDK v3 clients, created once per worker and injected into the activities (tests can pass
 * their own). Configuration comes from the SDK's own conventions: AWS_REGION, the default
 * credential chain, and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> for a local endpoint.
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';

export interface AwsClients {
  s3: S3Client;
  glue: GlueClient;
  athena: AthenaClient;
}

export interface AwsClientOptions {
  region?: string;
  /** Overrides AWS_ENDPOINT_URL for every client. */
  endpoint?: string;
  /** Path-style S3 addressing; needed by local endpoints. Default: on when an endpoint override is set. */
  s3ForcePathStyle?: boolean;
}

export function createAwsClients(opts: AwsClientOptions = {}): AwsClients {
  const endpoint = opts.endpoint ?? process.env.AWS_ENDPOINT_URL;
  const common = {
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
  };
  return {
    s3: new S3Client({ ...common, forcePathStyle: opts.s3ForcePathStyle ?? endpoint !== undefined }),
    glue: new GlueClient(common),
    athena: new AthenaClient(common),
  };
}

export function destroyAwsClients(clients: AwsClients): void {
  for (const c of Object.values(clients)) (c as { destroy(): void }).destroy();
}
