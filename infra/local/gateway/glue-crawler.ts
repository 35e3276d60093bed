/**
 * Glue crawls. moto keeps the crawler definitions (CreateCrawler, UpdateCrawler, ... are forwarded),
 * but its crawl lifecycle does not work through GetCrawler (a crawl advances only when ListCrawls is
 * called, and LastCrawl.Status reads RUNNING/COMPLETED, outside AWS's enum), so the gateway owns
 * StartCrawler / StopCrawler / GetCrawler / ListCrawls.
 *
 * As on AWS: one crawl at a time (CrawlerRunningException), StopCrawler only while running
 * (CrawlerNotRunningException; CrawlerStoppingException while stopping), GetCrawler's State is
 * RUNNING / STOPPING / READY and its LastCrawl describes the last crawl that *ended*
 * (SUCCEEDED / FAILED / CANCELLED, MessagePrefix = the CrawlId), ListCrawls lists every crawl with
 * its CrawlId and CrawlerHistoryState (RUNNING / COMPLETED / FAILED / STOPPED) and its filters.
 * Scenarios: service "glue-crawler", match = the exact crawler name.
 */
import { randomUUID } from 'node:crypto';
import {
  AwsError,
  epochSeconds,
  isObject,
  pageSize,
  requireString,
  takePage,
  type Emulator,
  type HandlerContext,
  type JsonObject,
} from './aws.js';
import { describeRun, requestStop, type LifecycleSpec, type Run, type RunView, type Scenario } from './lifecycle.js';
import { emitOnEnd, isoSeconds, runStopRequested } from './events.js';
import { findScenario } from './scenarios.js';

/** State names are the crawl history's (ListCrawls); GetCrawler's are derived from them. */
const SPEC: LifecycleSpec = {
  pending: { state: 'RUNNING', ms: 0 },
  running: 'RUNNING',
  stopping: { state: 'STOPPING', ms: 300 },
  stopped: 'STOPPED',
  outcomes: { SUCCEEDED: 'COMPLETED', FAILED: 'FAILED' },
};

const DEFAULT_SCENARIO: Scenario = { durationMs: 1500, outcome: 'SUCCEEDED' };
const INVALID = 'InvalidInputException';
const LAST_CRAWL_STATUS: Record<string, string> = { COMPLETED: 'SUCCEEDED', FAILED: 'FAILED', STOPPED: 'CANCELLED' };

interface Crawl extends Run {
  crawler: string;
}

/** Per crawler, its crawls in start order. */
const crawls = new Map<string, Crawl[]>();

async function getCrawler(name: string, ctx: HandlerContext): Promise<JsonObject> {
  const { status, body } = await ctx.moto.json('AWSGlue.GetCrawler', { Name: name }, ctx.headers);
  if (status === 200 && isObject(body) && isObject(body.Crawler)) return body.Crawler;
  if (isObject(body) && body.__type === 'EntityNotFoundException')
    throw new AwsError('EntityNotFoundException', `Crawler entry with name ${name} does not exist`);
  throw new AwsError('InternalServiceException', `GetCrawler on moto failed with HTTP ${status}`, 500);
}

function latest(name: string): Crawl | undefined {
  return crawls.get(name)?.at(-1);
}

function historyState(view: RunView): string {
  return view.terminal ? view.state : 'RUNNING'; // STOPPING is RUNNING in the crawl history
}

function toHistory(crawl: Crawl, now: number): JsonObject {
  const view = describeRun(SPEC, crawl, now);
  const out: JsonObject = {
    CrawlId: crawl.id,
    State: historyState(view),
    StartTime: epochSeconds(crawl.startedAt),
    LogGroup: '/aws-glue/crawlers',
    LogStream: crawl.crawler,
    MessagePrefix: crawl.id,
  };
  if (view.endedAt !== undefined) {
    out.EndTime = epochSeconds(view.endedAt);
    out.DPUHour = Math.round(((view.endedAt - crawl.startedAt) / 3_600_000) * 10 * 1000) / 1000;
  }
  if (view.outcome === 'FAILED') out.ErrorMessage = crawl.scenario.message ?? 'Internal Service Exception';
  return out;
}

async function startCrawler(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const name = requireString(input, 'Name', INVALID);
  ctx.call.resource = name;
  await getCrawler(name, ctx);
  const now = Date.now(); // after the await: check-and-insert below is synchronous
  const current = latest(name);
  if (current !== undefined && !describeRun(SPEC, current, now).terminal) {
    throw new AwsError('CrawlerRunningException', `Crawler with name ${name} has already started`);
  }
  const crawl: Crawl = {
    id: randomUUID(),
    startedAt: now,
    crawler: name,
    scenario: findScenario('glue-crawler', (m) => m === name) ?? DEFAULT_SCENARIO,
  };
  crawls.set(name, [...(crawls.get(name) ?? []), crawl]);
  emitOnEnd(SPEC, crawl, ctx.headers, (view) =>
    view.stopped
      ? undefined // a stopped crawl: no state-change event
      : {
          source: 'aws.glue',
          detailType: 'Glue Crawler State Change',
          detail: {
            crawlerName: name,
            state: view.outcome === 'SUCCEEDED' ? 'Succeeded' : 'Failed',
            message: view.outcome === 'SUCCEEDED' ? 'Crawler Succeeded' : 'Crawler Failed',
            accountId: '123456789012',
            ...(view.outcome === 'SUCCEEDED'
              ? { completionDate: isoSeconds(view.changedAt) }
              : { errorMessage: crawl.scenario.message ?? 'Internal Service Exception' }),
          },
        },
  );
  return {};
}

async function stopCrawler(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const name = requireString(input, 'Name', INVALID);
  ctx.call.resource = name;
  await getCrawler(name, ctx);
  const current = latest(name);
  if (current === undefined)
    throw new AwsError('CrawlerNotRunningException', `Crawler with name ${name} isn't running`);
  if (current.stopRequestedAt !== undefined && !describeRun(SPEC, current, ctx.now).terminal) {
    throw new AwsError('CrawlerStoppingException', `Crawler with name ${name} is stopping`);
  }
  const view = requestStop(SPEC, current, ctx.now);
  runStopRequested(current);
  if (view.terminal) throw new AwsError('CrawlerNotRunningException', `Crawler with name ${name} isn't running`);
  return {};
}

async function getCrawlerOp(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const name = requireString(input, 'Name', INVALID);
  ctx.call.resource = name;
  const crawler = { ...(await getCrawler(name, ctx)) };
  const all = crawls.get(name) ?? [];
  const current = all.at(-1);
  const currentView = current === undefined ? undefined : describeRun(SPEC, current, ctx.now);
  if (current !== undefined && currentView !== undefined && !currentView.terminal) {
    crawler.State = currentView.state; // RUNNING or STOPPING
    crawler.CrawlElapsedTime = ctx.now - current.startedAt;
  } else {
    crawler.State = 'READY';
    crawler.CrawlElapsedTime = 0;
  }
  // LastCrawl: the newest crawl that has ended (AWS's LastCrawlStatus has no RUNNING).
  delete crawler.LastCrawl;
  for (let i = all.length - 1; i >= 0; i--) {
    const crawl = all[i] as Crawl;
    const view = describeRun(SPEC, crawl, ctx.now);
    if (!view.terminal) continue;
    const last: JsonObject = {
      Status: LAST_CRAWL_STATUS[view.state] ?? view.state,
      LogGroup: '/aws-glue/crawlers',
      LogStream: name,
      MessagePrefix: crawl.id,
      StartTime: epochSeconds(crawl.startedAt),
    };
    if (view.outcome === 'FAILED') last.ErrorMessage = crawl.scenario.message ?? 'Internal Service Exception';
    crawler.LastCrawl = last;
    break;
  }
  return { Crawler: crawler };
}

function compare(actual: string | number | undefined, op: string, value: string): boolean {
  if (actual === undefined) return op === 'NE';
  const [a, b] = typeof actual === 'number' ? [actual, Number(value)] : [actual, value];
  switch (op) {
    case 'EQ':
      return a === b;
    case 'NE':
      return a !== b;
    case 'GT':
      return a > b;
    case 'GE':
      return a >= b;
    case 'LT':
      return a < b;
    case 'LE':
      return a <= b;
    default:
      throw new AwsError(INVALID, `Invalid FilterOperator ${op}`);
  }
}

/** ListCrawls filters: START_TIME / END_TIME in epoch milliseconds, as AWS documents. */
function matchesFilters(history: JsonObject, filters: JsonObject[]): boolean {
  return filters.every((f) => {
    const text = (v: unknown, def: string): string => (typeof v === 'string' ? v : def);
    const field = text(f.FieldName, '');
    const op = text(f.FilterOperator, 'EQ');
    const value = text(f.FieldValue, '');
    switch (field) {
      case 'CRAWL_ID':
        return compare(history.CrawlId as string, op, value);
      case 'STATE':
        return compare(history.State as string, op, value);
      case 'START_TIME':
        return compare(Math.round((history.StartTime as number) * 1000), op, value);
      case 'END_TIME':
        return compare(
          history.EndTime === undefined ? undefined : Math.round((history.EndTime as number) * 1000),
          op,
          value,
        );
      case 'DPU_HOUR':
        return compare(history.DPUHour as number | undefined, op, value);
      default:
        throw new AwsError(INVALID, `Invalid FieldName ${field}`);
    }
  });
}

async function listCrawls(input: JsonObject, ctx: HandlerContext): Promise<JsonObject> {
  const name = requireString(input, 'CrawlerName', INVALID);
  ctx.call.resource = name;
  await getCrawler(name, ctx);
  const filters = input.Filters ?? [];
  if (!Array.isArray(filters) || !filters.every(isObject))
    throw new AwsError(INVALID, 'Filters must be a list of CrawlsFilter');
  const all = [...(crawls.get(name) ?? [])]
    .reverse()
    .map((c) => toHistory(c, ctx.now))
    .filter((h) => matchesFilters(h, filters));
  const tag = `glue-crawls:${name}:${JSON.stringify(filters)}`;
  const { page, next } = takePage(
    all,
    typeof input.NextToken === 'string' ? input.NextToken : undefined,
    pageSize(input, 20, 1000, INVALID),
    tag,
    INVALID,
  );
  return { Crawls: page, ...(next ? { NextToken: next } : {}) };
}

export const glueCrawler: Emulator = {
  service: 'glue-crawler',
  targetPrefix: 'AWSGlue',
  spec: SPEC,
  defaultScenario: DEFAULT_SCENARIO,
  matchDescription: 'the exact Glue crawler Name',
  supportsResult: false,
  operations: {
    StartCrawler: startCrawler,
    StopCrawler: stopCrawler,
    GetCrawler: getCrawlerOp,
    ListCrawls: listCrawls,
  },
  reset: () => crawls.clear(),
};
