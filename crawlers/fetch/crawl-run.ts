// The crawlers of one crawl-stage run: a page crawler and an image crawler, each one Crawlee crawler
// on its own in-memory queue, both on the same host limiter, safe HTTP client options and memory
// bound, serving every query of the run. A query's crawl resolves once every request it asked for
// (its pages, the meta-refresh targets they led to, their images and its auxiliary images) has its
// outcome written; the store, not Crawlee's queue, is the state a resumed run starts from.
import type { RequestQueue } from '@crawlee/core';
import type { StageCounts } from '../../src/core/stage.js';
import type { SearchHit } from '../../storage/index.js';
import { CrawlRequestQueue } from './crawl-queue-storage.js';
import { HostFeeder } from './host-feeder.js';
import { ImageCrawler, type ImageUse } from './image-crawler.js';
import type { CrawlEnv } from './crawlee-options.js';
import { PageCrawler } from './page-crawler.js';
import type { CrawlThreads } from './crawl-threads.js';
import { QueryTracker } from './query-tracker.js';

export type CrawlRunEnv = CrawlEnv;

export class CrawlRun {
  private readonly tracker = new QueryTracker();
  private readonly images: ImageCrawler;
  private readonly pages: PageCrawler;
  private queues: RequestQueue[] = [];
  private stops: Array<(reason: string) => void> = [];
  private running: Array<Promise<unknown>> = [];

  /** `threads` were started before Crawlee was loaded (crawl-threads.ts); the run closes them. */
  constructor(
    private readonly env: CrawlRunEnv,
    private readonly threads: CrawlThreads,
  ) {
    // One feeder for both crawlers: a host's politeness slots are shared by its pages and images.
    const feeder = new HostFeeder(env.config.perDomainConcurrency + 2);
    this.images = new ImageCrawler({ ...env, tracker: this.tracker, feeder });
    this.pages = new PageCrawler({ ...env, tracker: this.tracker, images: this.images, feeder, parser: threads.parser });
  }

  /** Starts both crawlers; they wait for requests until `close()`. An abort stops them and ends every query's wait. */
  async start(signal: AbortSignal): Promise<void> {
    const name = `${process.pid}-${Date.now()}`;
    const [pageQueue, imageQueue] = await Promise.all(['pages', 'images'].map((kind) => CrawlRequestQueue.open(`${kind}-${name}`, { config: this.env.crawleeConfig })));
    this.queues = [pageQueue!, imageQueue!];
    const crawlers = [await this.pages.create(pageQueue!), this.images.create(imageQueue!)];
    this.stops = crawlers.map((crawler) => (reason: string) => crawler.stop(reason));
    this.running = crawlers.map((crawler) => crawler.run().catch((error: Error) => this.tracker.settleAll(`crawler stopped: ${error.message}`)));
    const onAbort = (): void => {
      for (const stop of this.stops) stop('interrupted');
      this.tracker.settleAll();
    };
    // The crawl stage starts its crawlers while its first queries are searched: an interrupt may have come already.
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  async close(): Promise<void> {
    for (const stop of this.stops) stop('the crawl stage is done');
    await Promise.all(this.running);
    await Promise.all(this.queues.map((queue) => queue.drop()));
    await this.threads.close();
  }

  /** Crawls one query: its web hits' pages with their images, and its auxiliary images; resolves once all are settled. */
  async crawl(queryId: string, webHits: SearchHit[], auxiliary: ImageUse[], counts: StageCounts): Promise<void> {
    const settled = this.tracker.open(queryId, counts);
    try {
      await this.pages.enqueue(queryId, webHits, counts);
      void this.images.want(auxiliary);
    } catch (error) {
      counts.fail(`crawl-queue: ${(error as Error).message}`);
    } finally {
      this.tracker.seal(queryId);
    }
    await settled;
  }
}
