/**
 * AWS SDK v3 clients, created once per worker (lazily: a worker only builds the clients of the
 * stage kinds it actually runs) and injected into the activities; tests can pass their own.
 * Configuration comes from the SDK's own conventions: AWS_REGION, the default credential chain,
 * and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> for a local endpoint.
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import { DataPipelineClient } from '@aws-sdk/client-data-pipeline';
import { DataBrewClient } from '@aws-sdk/client-databrew';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { EMRClient } from '@aws-sdk/client-emr';
import { EMRServerlessClient } from '@aws-sdk/client-emr-serverless';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { GlueClient } from '@aws-sdk/client-glue';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { QuickSightClient } from '@aws-sdk/client-quicksight';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { traceAwsClient } from '../common/tracing';

export interface AwsClientOptions {
  region?: string;
  /** Overrides AWS_ENDPOINT_URL for every client. */
  endpoint?: string;
  /** Path-style S3 addressing; needed by local endpoints. Default: on when an endpoint override is set. */
  s3ForcePathStyle?: boolean;
  /** SDK attempts per call (the SDK's own retry of throttling and 5xx). Default: the SDK's (3). */
  maxAttempts?: number;
}

interface Destroyable {
  destroy(): void;
}

export class AwsClients {
  private readonly made = new Map<string, Destroyable>();
  private readonly common: { region?: string; endpoint?: string; maxAttempts?: number };
  private readonly forcePathStyle: boolean;

  constructor(opts: AwsClientOptions = {}) {
    this.common = {
      ...(opts.region ? { region: opts.region } : {}),
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
    };
    this.forcePathStyle = opts.s3ForcePathStyle ?? (opts.endpoint ?? process.env.AWS_ENDPOINT_URL) !== undefined;
  }

  private get<T extends Destroyable>(name: string, make: () => T): T {
    let c = this.made.get(name) as T | undefined;
    if (!c) {
      // With tracing on, one span per AWS call (activities/aws-tracing.ts); a no-op otherwise.
      c = traceAwsClient(make());
      this.made.set(name, c);
    }
    return c;
  }

  get s3(): S3Client {
    return this.get('s3', () => new S3Client({ ...this.common, forcePathStyle: this.forcePathStyle }));
  }
  get glue(): GlueClient {
    return this.get('glue', () => new GlueClient(this.common));
  }
  get athena(): AthenaClient {
    return this.get('athena', () => new AthenaClient(this.common));
  }
  get databrew(): DataBrewClient {
    return this.get('databrew', () => new DataBrewClient(this.common));
  }
  get emr(): EMRClient {
    return this.get('emr', () => new EMRClient(this.common));
  }
  get emrServerless(): EMRServerlessClient {
    return this.get('emrServerless', () => new EMRServerlessClient(this.common));
  }
  /** Account quotas no other API tells (EMR Serverless's vCPUs): the slots of default pools. */
  get serviceQuotas(): ServiceQuotasClient {
    return this.get('serviceQuotas', () => new ServiceQuotasClient(this.common));
  }
  get lambda(): LambdaClient {
    return this.get('lambda', () => new LambdaClient(this.common));
  }
  get redshiftData(): RedshiftDataClient {
    return this.get('redshiftData', () => new RedshiftDataClient(this.common));
  }
  get sfn(): SFNClient {
    return this.get('sfn', () => new SFNClient(this.common));
  }
  /** PutRecords needs no HTTP/2 (only SubscribeToShard does); HTTP/1.1 works with AWS and local endpoints alike. */
  get kinesis(): KinesisClient {
    return this.get('kinesis', () => new KinesisClient({ ...this.common, requestHandler: new NodeHttpHandler() }));
  }
  get firehose(): FirehoseClient {
    return this.get('firehose', () => new FirehoseClient(this.common));
  }
  get quicksight(): QuickSightClient {
    return this.get('quicksight', () => new QuickSightClient(this.common));
  }
  get dataPipeline(): DataPipelineClient {
    return this.get('dataPipeline', () => new DataPipelineClient(this.common));
  }

  /** Notifications (activities/notify.ts) go to the Region their destination's ARN names. */
  sns(region?: string): SNSClient {
    return this.get(`sns:${region ?? ''}`, () => new SNSClient({ ...this.common, ...(region ? { region } : {}) }));
  }
  eventBridge(region?: string): EventBridgeClient {
    return this.get(
      `events:${region ?? ''}`,
      () => new EventBridgeClient({ ...this.common, ...(region ? { region } : {}) }),
    );
  }
  secretsManager(region?: string): SecretsManagerClient {
    return this.get(
      `secretsmanager:${region ?? ''}`,
      () => new SecretsManagerClient({ ...this.common, ...(region ? { region } : {}) }),
    );
  }

  /** The stage-event queue's consumer (plugin/stage-events.ts). */
  get sqs(): SQSClient {
    // The configured endpoint (AWS's, or AWS_ENDPOINT_URL locally) rather than the queue URL's host.
    return this.get('sqs', () => new SQSClient({ ...this.common, useQueueUrlAsEndpoint: false }));
  }

  destroy(): void {
    for (const c of this.made.values()) c.destroy();
    this.made.clear();
  }
}

export function createAwsClients(opts: AwsClientOptions = {}): AwsClients {
  return new AwsClients(opts);
}

export function destroyAwsClients(clients: AwsClients): void {
  clients.destroy();
}
