/**
 * `quicksight.refresh`: CreateIngestion (a SPICE refresh of a data set) → DescribeIngestion →
 * CancelIngestion on cancel.
 *
 * The IngestionId is derived from the idempotency key, and an ingestion id is unique per data set:
 * a retried attempt that finds the id taken (ResourceExistsException) adopts that ingestion.
 * The job id is `<DataSetId>/<IngestionId>`, as DescribeIngestion needs both.
 */
import { createHash } from 'node:crypto';
import {
  CancelIngestionCommand,
  CreateIngestionCommand,
  DescribeIngestionCommand,
  type CreateIngestionCommandInput,
  type Ingestion,
  IngestionStatus as SERVICE_STATES,
} from '@aws-sdk/client-quicksight';
import { jobStatus, type JobHandler, type JobStatus, type StageContext } from '../../activities/stage-handler';
import { quicksightRefresh as quicksightRefreshKind } from './kind';

/** IngestionId: 1–128 characters of [A-Za-z0-9-_]. */
const ID_MAX = 128;

/** `<readable key>-<16 hex of its SHA-256>`: valid, stable, and distinct for distinct keys. */
export function quicksightIngestionId(idempotencyKey: string): string {
  const hash = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 16);
  return `${idempotencyKey.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, ID_MAX - hash.length - 1)}-${hash}`;
}

export function mapIngestionState(ingestion: Partial<Pick<Ingestion, 'IngestionStatus' | 'ErrorInfo'>>): JobStatus {
  const e = ingestion.ErrorInfo;
  const message = e ? [e.Type, e.Message].filter(Boolean).join(': ') || undefined : undefined;
  return jobStatus(quicksightRefreshKind.states, ingestion.IngestionStatus ?? 'UNKNOWN', message);
}

function parseJobId(jobId: string): { DataSetId: string; IngestionId: string } {
  const slash = jobId.lastIndexOf('/');
  return { DataSetId: jobId.slice(0, slash), IngestionId: jobId.slice(slash + 1) };
}

function account(ctx: StageContext): string {
  return String(ctx.params.AwsAccountId);
}

async function describe(ctx: StageContext, jobId: string): Promise<Partial<Ingestion>> {
  const out = await ctx.clients.quicksight.send(
    new DescribeIngestionCommand({ AwsAccountId: account(ctx), ...parseJobId(jobId) }),
  );
  return out.Ingestion ?? {};
}

export const quicksightRefresh: JobHandler = {
  kind: quicksightRefreshKind.kind,
  mode: 'job',
  serviceStates: Object.values(SERVICE_STATES),
  // Ingestions of one dataset run one at a time, and per account within a quota.
  capacityErrors: ['LimitExceededException'],
  service: 'QuickSight',
  async start(ctx) {
    const request = ctx.params as unknown as CreateIngestionCommandInput;
    const IngestionId = quicksightIngestionId(ctx.idempotencyKey);
    const jobId = `${request.DataSetId}/${IngestionId}`;
    try {
      await ctx.clients.quicksight.send(new CreateIngestionCommand({ ...request, IngestionId }));
    } catch (err) {
      if ((err as { name?: string }).name !== 'ResourceExistsException') throw err;
      // An earlier attempt created this key's ingestion: adopt it (it must exist to be adopted).
      await describe(ctx, jobId);
    }
    return jobId;
  },
  async describe(ctx, jobId) {
    return mapIngestionState(await describe(ctx, jobId));
  },
  async stop(ctx, jobId) {
    try {
      await ctx.clients.quicksight.send(
        new CancelIngestionCommand({ AwsAccountId: account(ctx), ...parseJobId(jobId) }),
      );
    } catch (err) {
      if ((await quicksightRefresh.describe(ctx, jobId)).state === 'running') throw err;
    }
  },
  async collect(ctx, jobId) {
    const i = await describe(ctx, jobId);
    const rows = i.RowInfo?.RowsIngested;
    const { DataSetId, IngestionId } = parseJobId(jobId);
    return {
      summary: `QuickSight ingestion ${IngestionId} of data set ${DataSetId} completed${rows !== undefined ? `: ${rows} rows ingested` : ''}`,
      output: {
        dataSetId: DataSetId,
        ingestionId: IngestionId,
        ...(rows !== undefined ? { rowsIngested: rows, rowsDropped: i.RowInfo?.RowsDropped ?? 0 } : {}),
        ...(i.IngestionTimeInSeconds !== undefined ? { seconds: i.IngestionTimeInSeconds } : {}),
      },
    };
  },
};
