import { defineKind } from './types';

export const glueCrawler = defineKind({
  kind: 'glue.crawler',
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
