// The page half of a crawl-stage run: ONE Crawlee crawler (HTTP, or the browser with --render) for
// every query's pages, so requests of many queries share the pool (per-host limits and robots hold
// across them, and no query waits for the slowest request of another). Crawlee owns the queue,
// concurrency, retries and parsing; requests carry their query and hit in `userData`. What a page
// brings is stored by PageStore; its images go to the image crawler as soon as the page is stored.
// An attempt Crawlee gave up on (its handler timed out) writes nothing.
import { HttpCrawler, type RequestQueue, type Request, type RequestOptions } from '@crawlee/cheerio';
import type { BasicCrawler } from '@crawlee/cheerio';
import type { StageCounts } from '../../src/core/stage.js';
import { pageFetchIdOf, type Fetch, type SearchHit } from '../../storage/index.js';
import { SafeCrawleeHttpClient } from '../net/crawlee-http-client.js';
import { FetchError } from '../net/safe-http.js';
import { navigationOptions, sharedCrawleeOptions, type CrawlEnv, type FinalFailure } from './crawlee-options.js';
import type { FetchedPage, PageRequestData } from './fetched-page.js';
import type { HostFeeder } from './host-feeder.js';
import { CrawlQueue } from './crawl-queue.js';
import type { ImageCrawler, ImageUse } from './image-crawler.js';
import type { PageParsePool } from './page-parse-pool.js';
import { PageStore, type Attempt } from './page-store.js';
import type { QueryTracker } from './query-tracker.js';
import { refusalOf } from './refusal.js';
import { validatorsOf } from './validators.js';

/**
 * How to decode a page's bytes: Crawlee passes through the charsets Node decodes itself (utf-8,
 * latin1, utf-16le, ascii) and re-encodes any other one it knows to UTF-8; hex and base64 are no
 * page's charset.
 */
function textEncodingOf(encoding: string): BufferEncoding {
  return Buffer.isEncoding(encoding) && !/^(hex|base64|base64url)$/i.test(encoding) ? encoding : 'utf8';
}

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
    const common = {
      ...sharedCrawleeOptions(this.env.config, queue, this.env.config.concurrency, {
        onRetry: (request) => this.abandon(request),
        onFinalFailure: (request, failure) => this.failed(request, failure),
      }),
      ...navigationOptions(this.env.config),
    };
    if (this.env.config.render) {
      const { createBrowserCrawler } = await import('./browser-crawler.js');
      return createBrowserCrawler(common, this.env, (page) => this.handle(page));
    }
    // Crawlee's HTTP crawler loads got-scraping (for its TimeoutError) when it makes its first
    // request, though our client makes the requests: 0.3–0.45 s of the main thread at 1× the latency
    // benchmark, after robots.txt and before any page. Loaded now instead, it overlaps the wait for
    // the hosts' robots.txt; the crawler's own import then finds it loaded.
    void import('got-scraping').catch(() => undefined);
    // Crawlee's HTTP crawler, not its CheerioCrawler: that one parses every page twice, and the
    // per-page logic parses it once, only after the checks on its bytes.
    return new HttpCrawler(
      {
        ...common,
        httpClient: new SafeCrawleeHttpClient({ ...this.env.fetchOptions, maxBytes: this.env.config.maxPageBytes }),
        additionalMimeTypes: ['application/xhtml+xml'],
        requestHandler: async ({ request, response, body, contentType, addRequests }) => {
          // The response is in: the host's room goes to its next request while this page is parsed and stored.
          this.env.feeder.release(request.uniqueKey);
          await this.handle({
            body,
            encoding: textEncodingOf(contentType.encoding),
            request: request as Request<PageRequestData>,
            status: response.statusCode ?? 0,
            finalUrl: request.loadedUrl ?? request.url,
            contentType: contentType.type,
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
      await this.env.feeder.offer(request.uniqueKey!, request.url, () =>
        this.queue!.add(request).catch((error: Error) => {
          counts.fail(`page-queue: ${error.message}`);
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
      this.env.feeder.release(request.uniqueKey);
      this.env.tracker.settle(data.queryId);
    }
  }

  /** Stores what a fetched request brought, queues its images, then settles it for its query (a thrown error is retried by Crawlee first). */
  private async handle(page: FetchedPage): Promise<void> {
    // 429 and 5xx may pass on another attempt: Crawlee retries them with backoff, and records the
    // last status if none passes (the HTTP crawler throws for 5xx itself, never for 429).
    if (page.status === 429 || page.status >= 500) throw new FetchError(`http-${page.status}`, `${page.request.url}: HTTP ${page.status}`, true, page.status);
    const { queryId } = page.request.userData;
    const counts = this.env.tracker.countsOf(queryId);
    if (!counts) return;
    const attempt: Attempt = { abandoned: false };
    this.attempts.set(page.request.uniqueKey, attempt);
    const uses = await this.pages.store(queryId, counts, page, attempt);
    if (attempt.abandoned) return;
    this.attempts.delete(page.request.uniqueKey);
    this.env.feeder.release(page.request.uniqueKey);
    this.want(uses);
    this.env.tracker.settle(queryId);
  }
}
