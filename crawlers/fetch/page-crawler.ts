// The page half of a crawl-stage run: ONE Crawlee crawler (a BasicCrawler fetching through the safe
// client, or the browser with --render) for every query's pages, so requests of many queries share
// the pool (per-host limits and robots hold across them, and no query waits for the slowest request
// of another). Crawlee owns the queue, concurrency and retries; requests carry their query and hit
// in `userData`; a page's bytes are decoded and parsed once, on the parsing thread. What a page
// brings is stored by PageStore; its images go to the image crawler as soon as the page is stored.
// An attempt Crawlee gave up on (its handler timed out) writes nothing.
import { BasicCrawler, type RequestQueue, type Request, type RequestOptions } from '@crawlee/cheerio';
import type { StageCounts } from '../../src/core/stage.js';
import { pageFetchIdOf, type Fetch, type SearchHit } from '../../storage/index.js';
import { contentTypeOf } from '../net/content-type.js';
import { readBody, safeFetch } from '../net/safe-http.js';
import { navigationOptions, sharedCrawleeOptions, type CrawlEnv, type FinalFailure } from './crawlee-options.js';
import { retryableStatusError } from './failure.js';
import type { FetchedPage, PageRequestData } from './fetched-page.js';
import type { HostFeeder } from './host-feeder.js';
import { CrawlQueue } from './crawl-queue.js';
import type { ImageCrawler, ImageUse } from './image-crawler.js';
import type { PageParsePool } from './page-parse-pool.js';
import { PageStore, type Attempt } from './page-store.js';
import type { QueryTracker } from './query-tracker.js';
import { refusalOf } from './refusal.js';
import { validatorsOf } from './validators.js';

const PAGE_ACCEPT = 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8';
/** The media types a page is parsed from; anything else is a `skipped` Fetch with `not-html: <type>`. */
const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);

export interface PageCrawlEnv extends CrawlEnv {
  tracker: QueryTracker;
  images: ImageCrawler;
  feeder: HostFeeder;
  parser: PageParsePool;
}

export class PageCrawler {
  private readonly pages: PageStore;
  private queue?: CrawlQueue;
  /** The attempt in progress for each request, by unique key. */
  private readonly attempts = new Map<string, Attempt>();

  constructor(private readonly env: PageCrawlEnv) {
    this.pages = new PageStore(env);
  }

  /** The crawler on its queue: the HTTP crawler, or the browser crawler for `--render` (so plain crawls never load Playwright). */
  async create(queue: RequestQueue): Promise<Pick<BasicCrawler, 'run' | 'stop'>> {
    this.queue = new CrawlQueue(queue);
    // A page in flight holds only its text (it is parsed on a worker thread), so pages get the full width.
    const shared = sharedCrawleeOptions(this.env.config, queue, this.env.config.concurrency, {
      onRetry: (request) => this.abandon(request),
      onFinalFailure: (request, failure) => this.failed(request, failure),
    });
    if (this.env.config.render) {
      const { createBrowserCrawler } = await import('./browser-crawler.js');
      return createBrowserCrawler({ ...shared, ...navigationOptions(this.env.config) }, this.env, (page) => this.handle(page));
    }
    // Crawlee's BasicCrawler, fetching in the handler: its HTTP crawler's navigation, content-type
    // and decoding steps cost about 0.4 ms of the main thread per page, and the parsing thread
    // decodes the bytes anyway.
    const fetchOptions = { ...this.env.fetchOptions, maxBytes: this.env.config.maxPageBytes, headers: { accept: PAGE_ACCEPT } };
    return new BasicCrawler(
      {
        ...shared,
        requestHandler: async ({ request, addRequests }) => {
          const response = await safeFetch(request.url, fetchOptions);
          const retry = retryableStatusError(request.url, response.statusCode);
          if (retry) {
            // Crawlee retries it with backoff; the host keeps this request's room meanwhile.
            response.body.resume();
            throw retry;
          }
          const { type, charset } = contentTypeOf(response.headers['content-type'], response.url);
          // Only an HTML page with a status worth storing is read; the rest is drained, for the connection.
          let body: Uint8Array = new Uint8Array(0);
          if (response.statusCode < 400 && HTML_TYPES.has(type)) body = await readBody(response.body);
          else response.body.resume();
          // The response is in: the host's room goes to its next request while this page is parsed and stored.
          this.env.feeder.release(request.uniqueKey);
          await this.handle({
            body,
            charset,
            request: request as Request<PageRequestData>,
            status: response.statusCode,
            finalUrl: response.url,
            contentType: type,
            validators: validatorsOf(response.headers),
            rendered: false,
            attempts: request.retryCount + 1,
            enqueue: async (next) => void (await addRequests([next])),
          });
        },
      },
      this.env.crawleeConfig,
    );
  }

  /** Queues the query's web hits (the query waits for each, and for the images of the pages they bring). */
  async enqueue(queryId: string, hits: SearchHit[], counts: StageCounts): Promise<void> {
    const { tracker } = this.env;
    // The checks of one query's hits run together (each may wait for a host's robots.txt); the requests keep the hits' order.
    const requests = await Promise.all(hits.map((hit) => this.requestFor(queryId, hit, counts)));
    const toFetch = requests.filter((request): request is RequestOptions<PageRequestData> => request !== undefined);
    tracker.add(queryId, toFetch.length);
    for (const request of toFetch) {
      await this.env.feeder.offer(request.uniqueKey!, request.url, 'page', () =>
        this.queue!.add(request).catch((error: Error) => {
          counts.fail(`page-queue: ${error.message}`);
          this.pages.forget(request.userData!.hitId);
          this.env.feeder.release(request.uniqueKey!);
          tracker.settle(queryId);
        }),
      );
    }
  }

  /** The request for a hit, or undefined when its page is stored already (then it is linked) or it is refused (then that is recorded). */
  private async requestFor(queryId: string, hit: SearchHit, counts: StageCounts): Promise<RequestOptions<PageRequestData> | undefined> {
    const { store } = this.env;
    const stored = await store.get('fetches', pageFetchIdOf(hit.url));
    if (stored?.outcome === 'ok' && stored.pageId && (await store.has('pages', stored.pageId))) {
      await store.batch().link('query-pages', queryId, stored.pageId).put('hits', { ...hit, pageId: stored.pageId }).write();
      counts.add('pages-reused');
      this.want(await this.pages.openImageUsesOf(queryId, stored.pageId));
      return undefined;
    }
    const refusal = await refusalOf(hit.url, this.env.policy, this.env.robots);
    if (refusal) {
      await store.put('fetches', { id: pageFetchIdOf(hit.url), url: hit.url, kind: 'page', at: new Date().toISOString(), ...refusal } satisfies Fetch);
      counts.drop(`page-${refusal.reason.split(':')[0]}`);
      return undefined;
    }
    this.pages.remember(hit);
    // Keyed by query too: two queries may share a URL, and each must hear its outcome.
    return { url: hit.url, uniqueKey: `${queryId} ${hit.url}`, userData: { queryId, hitId: hit.id, via: [] } };
  }

  /** Hands image uses to the image crawler; each counts for its query until written. */
  private want(uses: ImageUse[]): void {
    void this.env.images.want(uses);
  }

  private abandon(request: Request): void {
    const attempt = this.attempts.get(request.uniqueKey);
    if (attempt) attempt.abandoned = true;
    this.attempts.delete(request.uniqueKey);
  }

  private async failed(request: Request, failure: FinalFailure): Promise<void> {
    const data = request.userData as PageRequestData;
    const counts = this.env.tracker.countsOf(data.queryId);
    try {
      if (counts) await this.pages.unstored(counts, data, request.url, { ...failure, at: new Date().toISOString() });
    } finally {
      this.pages.forget(data.hitId);
      this.env.feeder.release(request.uniqueKey);
      this.env.tracker.settle(data.queryId);
    }
  }

  /** Stores what a fetched request brought, queues its images, then settles it for its query (a thrown error is retried by Crawlee first). */
  private async handle(page: FetchedPage): Promise<void> {
    // The browser crawler hands every status to its handler: 429 and 5xx are retried from here.
    const retry = retryableStatusError(page.request.url, page.status);
    if (retry) throw retry;
    const { queryId } = page.request.userData;
    const counts = this.env.tracker.countsOf(queryId);
    if (!counts) return this.pages.forget(page.request.userData.hitId);
    const attempt: Attempt = { abandoned: false };
    this.attempts.set(page.request.uniqueKey, attempt);
    const uses = await this.pages.store(queryId, counts, page, attempt);
    if (attempt.abandoned) return;
    this.attempts.delete(page.request.uniqueKey);
    this.pages.forget(page.request.userData.hitId);
    this.env.feeder.release(page.request.uniqueKey);
    this.want(uses);
    this.env.tracker.settle(queryId);
  }
}
