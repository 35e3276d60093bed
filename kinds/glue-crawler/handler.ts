/**
 * `glue.crawler`: StartCrawler → ListCrawls (the crawl's id and state) → StopCrawler on cancel.
 *
 * A crawler runs one crawl at a time and StartCrawler has neither a client token nor any per-run
 * input, and returns no id. So:
 *  - the job id is `<CrawlerName>@<CrawlId>`, the CrawlId read from ListCrawls right after the
 *    start (the crawler's only running crawl is the one just started); its state is then read by
 *    CrawlId, so a later crawl of the same crawler is never mistaken for ours (GetCrawler's
 *    LastCrawl only describes whichever crawl ended last);
 *  - idempotency: a crawl that started at or after the moment this stage was first scheduled is
 *    adopted (`find`) instead of starting another. A crawl carries no tag, so Sluice cannot tell
 *    whether it started it or someone else did in that window; it adopts such a crawl anyway,
 *    because a crawler takes no per-run input: a crawl begun after the stage became ready scans
 *    everything this stage's own crawl would have scanned. It says so in the log;
 *  - a crawl that started *before* the stage was scheduled is never adopted (it may have listed
 *    S3 before the upstream stages wrote this run's data). StartCrawler then answers
 *    CrawlerRunningException: the attempt fails as transient and the stage's retry policy waits for
 *    the crawler to be free (give crawlers shared with other schedules a generous retry).
 */
import { watchKey } from '../../common/stage-events';
import {
  GetCrawlerCommand,
  ListCrawlsCommand,
  StartCrawlerCommand,
  StopCrawlerCommand,
  type CrawlerHistory,
  type CrawlsFilter,
  CrawlerHistoryState as SERVICE_STATES,
} from '@aws-sdk/client-glue';
import { ApplicationFailure, log } from '@temporalio/activity';
import { ERROR_TYPES } from '../../common/constants';
import { jobStatus, type JobHandler, type JobStatus, type StageContext } from '../../activities/stage-handler';
import { glueCrawler as glueCrawlerKind } from './kind';

/** How far back, from the StartCrawler call, the crawl just started is looked for (clock skew between the worker and AWS). */
const START_LOOKBACK_MS = 5 * 60_000;
/** ListCrawls right after StartCrawler may not list the crawl yet: a few short retries. */
const LIST_AFTER_START_TRIES = 5;
const LIST_AFTER_START_PAUSE_MS = 1000;
/** Crawls read when looking for one: filtered by time, so a few pages of 100 are plenty. */
const MAX_PAGES = 10;

function crawlerName(params: Record<string, unknown>): string {
  return String(params.Name);
}

/** `<CrawlerName>@<CrawlId>`. A crawler name may contain "@", a CrawlId (a UUID) cannot: parse at the last one. */
export function crawlerJobId(name: string, crawlId: string): string {
  return `${name}@${crawlId}`;
}

export function parseCrawlerJobId(jobId: string): { name: string; crawlId: string } {
  const at = jobId.lastIndexOf('@');
  if (at <= 0) throw new Error(`not a glue.crawler job id (expected <CrawlerName>@<CrawlId>): ${jobId}`);
  return { name: jobId.slice(0, at), crawlId: jobId.slice(at + 1) };
}

/** A crawl's state in ListCrawls (CrawlerHistoryState), mapped once. */
export function mapCrawlState(crawl: Pick<CrawlerHistory, 'State' | 'ErrorMessage'>): JobStatus {
  // RUNNING also while the crawler is STOPPING.
  return jobStatus(glueCrawlerKind.states, crawl.State ?? 'UNKNOWN', crawl.ErrorMessage || undefined);
}

async function listCrawls(ctx: StageContext, name: string, Filters: CrawlsFilter[]): Promise<CrawlerHistory[]> {
  const all: CrawlerHistory[] = [];
  let NextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await ctx.clients.glue.send(
      new ListCrawlsCommand({ CrawlerName: name, Filters, MaxResults: 100, NextToken }),
    );
    all.push(...(out.Crawls ?? []));
    NextToken = out.NextToken;
    if (!NextToken) break;
  }
  return all;
}

const startMs = (c: CrawlerHistory): number => c.StartTime?.getTime() ?? 0;
const sinceFilter = (ms: number): CrawlsFilter => ({
  FieldName: 'START_TIME',
  FilterOperator: 'GE',
  FieldValue: String(ms),
});

async function ourCrawl(ctx: StageContext, jobId: string): Promise<CrawlerHistory> {
  const { name, crawlId } = parseCrawlerJobId(jobId);
  const crawls = await listCrawls(ctx, name, [{ FieldName: 'CRAWL_ID', FilterOperator: 'EQ', FieldValue: crawlId }]);
  const crawl = crawls.find((c) => c.CrawlId === crawlId);
  if (!crawl)
    throw Object.assign(new Error(`crawl ${crawlId} of crawler ${name} is not in its crawl history (ListCrawls)`), {
      name: 'EntityNotFoundException',
    });
  return crawl;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const glueCrawler: JobHandler = {
  kind: glueCrawlerKind.kind,
  mode: 'job',
  serviceStates: Object.values(SERVICE_STATES),
  service: 'Glue crawler',
  watchKey: (_ctx, jobId) => watchKey('glue.crawler', parseCrawlerJobId(jobId).name),
  capacityErrors: ['CrawlerRunningException'],
  capacity: () => Promise.resolve({ slots: 1, source: 'a Glue crawler runs one crawl at a time' }),
  async find(ctx) {
    if (ctx.firstScheduledAtMs === undefined) return undefined;
    const name = crawlerName(ctx.params);
    const crawls = await listCrawls(ctx, name, [sinceFilter(ctx.firstScheduledAtMs)]);
    const first = crawls
      .filter((c) => c.CrawlId && startMs(c) >= (ctx.firstScheduledAtMs ?? 0))
      .sort((a, b) => startMs(a) - startMs(b))[0];
    if (!first?.CrawlId) return undefined;
    log.warn(
      'adopting a crawl that started after this stage was scheduled (a crawl carries no tag: it may have been started by another caller)',
      {
        stage: ctx.stageId,
        crawler: name,
        crawlId: first.CrawlId,
        crawlStartedAt: first.StartTime?.toISOString(),
        stageScheduledAt: new Date(ctx.firstScheduledAtMs).toISOString(),
      },
    );
    return crawlerJobId(name, first.CrawlId);
  },
  async start(ctx) {
    const name = crawlerName(ctx.params);
    const requestedAt = Date.now();
    try {
      await ctx.clients.glue.send(new StartCrawlerCommand({ Name: name }));
    } catch (err) {
      if ((err as { name?: string }).name !== 'CrawlerRunningException') throw err;
      // Busy with a crawl `find` did not adopt: one that started before this stage was scheduled.
      throw ApplicationFailure.create({
        message: `Glue crawler ${name} is running a crawl that started before this stage was scheduled; it is not adopted (it may have missed this run's data). Retrying until the crawler is free`,
        type: ERROR_TYPES.awsTransient,
        details: [
          {
            service: 'Glue crawler',
            operation: 'StartCrawler',
            code: 'CrawlerRunningException',
            awsMessage: (err as Error).message,
          },
        ],
      });
    }
    // The crawler ran nothing when StartCrawler accepted, so the newest crawl since the call is ours.
    for (let attempt = 1; ; attempt++) {
      const crawls = await listCrawls(ctx, name, [sinceFilter(requestedAt - START_LOOKBACK_MS)]);
      const newest = crawls.filter((c) => c.CrawlId).sort((a, b) => startMs(b) - startMs(a))[0];
      if (newest?.CrawlId) return crawlerJobId(name, newest.CrawlId);
      // Not listed yet. Failing here is safe too: the next attempt's `find` adopts the crawl.
      if (attempt >= LIST_AFTER_START_TRIES)
        throw ApplicationFailure.create({
          message: `Glue crawler ${name} started, but its crawl is not listed yet (ListCrawls)`,
          type: ERROR_TYPES.awsTransient,
        });
      await sleep(LIST_AFTER_START_PAUSE_MS);
    }
  },
  async describe(ctx, jobId) {
    return mapCrawlState(await ourCrawl(ctx, jobId));
  },
  async stop(ctx, jobId) {
    const { name } = parseCrawlerJobId(jobId);
    // StopCrawler stops whatever the crawler is running: only call it while that is our crawl.
    if ((await glueCrawler.describe(ctx, jobId)).state !== 'running') return;
    try {
      await ctx.clients.glue.send(new StopCrawlerCommand({ Name: name }));
    } catch (err) {
      // Judge by state: our crawl ended meanwhile, or a stop is already under way (crawler STOPPING).
      if ((await glueCrawler.describe(ctx, jobId)).state !== 'running') return;
      const crawler = await ctx.clients.glue.send(new GetCrawlerCommand({ Name: name }));
      if (crawler.Crawler?.State === 'STOPPING') return;
      throw err;
    }
  },
  async collect(ctx, jobId) {
    const crawl = await ourCrawl(ctx, jobId);
    const { name, crawlId } = parseCrawlerJobId(jobId);
    let summary: unknown;
    try {
      summary = crawl.Summary ? JSON.parse(crawl.Summary) : undefined;
    } catch {
      summary = crawl.Summary;
    }
    const seconds =
      crawl.StartTime && crawl.EndTime
        ? Math.round((crawl.EndTime.getTime() - crawl.StartTime.getTime()) / 1000)
        : undefined;
    return {
      summary: `Glue crawler ${name} crawl ${crawlId} completed${seconds !== undefined ? ` in ${seconds}s` : ''}`,
      output: {
        crawlerName: name,
        crawlId,
        ...(crawl.StartTime ? { startTime: crawl.StartTime.toISOString() } : {}),
        ...(crawl.EndTime ? { endTime: crawl.EndTime.toISOString() } : {}),
        ...(crawl.DPUHour !== undefined ? { dpuHour: crawl.DPUHour } : {}),
        ...(summary !== undefined ? { crawlSummary: summary } : {}),
      },
    };
  },
};
