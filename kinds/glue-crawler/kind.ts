import { defineKind } from '../types';

export const glueCrawler = defineKind({
  kind: 'glue.crawler',
  states: { RUNNING: 'running', COMPLETED: 'succeeded', FAILED: 'failed', STOPPED: 'stopped' },
  events: [
    {
      source: 'aws.glue',
      detailType: 'Glue Crawler State Change',
      stateField: 'state',
      ids: ['crawlerName'],
      states: {
        Started: 'running',
        Running: 'running',
        Succeeded: 'succeeded',
        Failed: 'failed',
        Cancelled: 'stopped',
        SUCCEEDED: 'succeeded',
        FAILED: 'failed',
        CANCELLED: 'stopped',
      },
    },
  ],
  usage: { none: 'Glue reports no DPU figures for a crawl' },
  stop: 'Glue StopCrawler',
  iam: ['glue:StartCrawler', 'glue:GetCrawler', 'glue:ListCrawls', 'glue:StopCrawler'],
  // A crawler runs one crawl at a time (CrawlerRunningException).
  defaultPool: (p) => (typeof p.Name === 'string' ? `glue-crawler:${p.Name}` : undefined),
  api: 'Glue StartCrawler',
  outputs: ['crawlerName', 'crawlId', 'startTime', 'endTime', 'dpuHour', 'crawlSummary'],
  required: [{ field: 'Name', hint: 'the name of an existing Glue crawler' }],
  grants: ({ p, g, arn, str }) => [
    g(
      ['glue:StartCrawler', 'glue:GetCrawler', 'glue:StopCrawler', 'glue:ListCrawls'],
      [arn('glue', `crawler/${str(p, 'Name')!}`)],
    ),
  ],
});
