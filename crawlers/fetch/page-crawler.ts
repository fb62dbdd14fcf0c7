// The page spider of a crawl-stage run: ONE Crawlee crawler and queue for every query's pages, so
// requests of many queries share the pool (per-host limits and robots hold across them, and no
// query waits for the slowest request of another). Crawlee owns the queue, concurrency, retries and
// parsing; this file is the per-page logic and the bookkeeping of which query a request belongs to.
// Each page, its image occurrences and the images fetched for it are written in one atomic batch,
// and every URL ends in a Fetch record: ok, failed or skipped, with its reason. A query's crawl
// resolves once all of its requests (and the meta-refresh targets they led to) have settled.
import type { CheerioAPI } from 'cheerio';
import { CheerioCrawler, type Configuration, type RequestQueue, type Request, type RequestOptions } from '@crawlee/cheerio';
import type { PlaywrightCrawler } from '@crawlee/playwright';
import pLimit from 'p-limit';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../src/core/config.js';
import type { StageCounts } from '../../src/core/stage.js';
import { pageFetchIdOf, pageIdOf, type CorpusStore, type Fetch, type SearchHit, type StoreBatch } from '../../storage/index.js';
import { findPageImages, pageOccurrenceOf } from '../../src/core/markup/page-images.js';
import { SafeCrawleeHttpClient } from '../net/crawlee-http-client.js';
import type { RobotsCache } from '../net/robots.js';
import type { SafeFetchOptions } from '../net/safe-http.js';
import { RefusedUrlError, type UrlPolicy } from '../net/url-policy.js';
import { failureOf, settleFailure } from './failure.js';
import { DetachedRequestQueue } from './detached-queue.js';
import { canonicalUrlOf, metaRefreshTarget } from './html.js';
import type { FetchedPage, PageRequestData } from './fetched-page.js';
import { putImageOutcome, type ImageFetcher } from './image-fetcher.js';

const MAX_META_REDIRECTS = 10;
const IMAGES_PER_PAGE_IN_FLIGHT = 4;

interface Refusal {
  outcome: 'failed' | 'skipped';
  reason: string;
}


export interface PageCrawlEnv {
  store: CorpusStore;
  config: Config['crawl'];
  crawleeConfig: Configuration;
  fetchOptions: SafeFetchOptions;
  policy: UrlPolicy;
  robots?: RobotsCache;
  images: ImageFetcher;
  chromiumPath?: string;
}

/** A query being crawled: where its counts go, and its requests not settled yet. */
interface QueryRun {
  queryId: string;
  counts: StageCounts;
  pending: number;
  settled: () => void;
}


function failedFetch(url: string, at: string, fields: Omit<Fetch, 'id' | 'url' | 'kind' | 'at'>): Fetch {
  return { id: pageFetchIdOf(url), url, kind: 'page', at, ...fields };
}

/** Fetch records for the requested URL and every URL that redirected to it. */
function putFetches(batch: StoreBatch, data: PageRequestData, url: string, record: Omit<Fetch, 'id' | 'url' | 'kind'>): void {
  for (const u of [...data.via, url]) batch.put('fetches', { id: pageFetchIdOf(u), url: u, kind: 'page', ...record });
}

export class PageCrawler {
  constructor(private readonly env: PageCrawlEnv) {}

  private crawler?: CheerioCrawler | PlaywrightCrawler;
  private queue?: RequestQueue;
  private running?: Promise<unknown>;
  private readonly queries = new Map<string, QueryRun>();

  /** Starts the run's crawler; it waits for requests until `close()`. An abort stops it and settles every open query. */
  async start(signal: AbortSignal): Promise<void> {
    // One queue per run, in memory unless crawl.persistQueue: the store's Fetch records are the resume state.
    const queue = await DetachedRequestQueue.open(`crawl-${process.pid}-${Date.now()}`, { config: this.env.crawleeConfig });
    const crawler = this.env.config.render ? await this.browserCrawler(queue) : this.httpCrawler(queue);
    this.queue = queue;
    this.crawler = crawler;
    this.running = crawler.run().catch((error: Error) => this.settleAll(`crawler stopped: ${error.message}`));
    signal.addEventListener('abort', () => {
      crawler.stop('interrupted');
      this.settleAll();
    }, { once: true });
  }

  async close(): Promise<void> {
    this.crawler?.stop('the crawl stage is done');
    await this.running;
    await this.queue?.drop();
  }

  /** Ends every open query's wait (its unsettled hits then have no Fetch record, which keeps the query open). */
  private settleAll(reason?: string): void {
    for (const run of this.queries.values()) {
      if (reason) run.counts.fail(`page-crawler: ${reason}`);
      run.settled();
    }
    this.queries.clear();
  }

  /** Fetches the query's web hits (and the pages they redirect to) and stores them. */
  async crawl(queryId: string, hits: SearchHit[], counts: StageCounts, signal: AbortSignal): Promise<void> {
    const { store } = this.env;
    const toFetch: RequestOptions<PageRequestData>[] = [];
    for (const hit of hits) {
      const stored = await store.get('fetches', pageFetchIdOf(hit.url));
      if (stored?.outcome === 'ok' && stored.pageId && (await store.has('pages', stored.pageId))) {
        await this.linkExisting(queryId, hit, stored.pageId);
        counts.add('pages-reused');
        continue;
      }
      const refusal = await this.refusal(hit.url);
      if (refusal) {
        await store.put('fetches', failedFetch(hit.url, new Date().toISOString(), refusal));
        counts.drop(`page-${refusal.reason.split(':')[0]}`);
        continue;
      }
      // Keyed by query too: two queries may share a URL, and each must hear its outcome.
      toFetch.push({ url: hit.url, uniqueKey: `${queryId} ${hit.url}`, userData: { queryId, hitId: hit.id, via: [] } });
    }
    if (toFetch.length === 0 || signal.aborted) return;
    await new Promise<void>((resolve) => {
      this.queries.set(queryId, { queryId, counts, pending: toFetch.length, settled: resolve });
      this.queue!.addRequests(toFetch).catch((error: Error) => {
        counts.fail(`page-queue: ${error.message}`);
        this.queries.delete(queryId);
        resolve();
      });
    });
  }

  /** One request of a query has its outcome (or was followed by another, counted before this call). */
  private settle(data: PageRequestData): void {
    const run = this.queries.get(data.queryId);
    if (!run || --run.pending > 0) return;
    this.queries.delete(data.queryId);
    run.settled();
  }

  private runOf(data: PageRequestData): QueryRun | undefined {
    return this.queries.get(data.queryId);
  }

  /** Why `url` must not be fetched (robots.txt, scheme, private address literal), if it must not. */
  private async refusal(url: string): Promise<Refusal | undefined> {
    try {
      this.env.policy.check(url);
    } catch (error) {
      return { outcome: 'failed', reason: `refused: ${(error as RefusedUrlError).reason}` };
    }
    if (this.env.robots && !(await this.env.robots.isAllowed(url))) return { outcome: 'skipped', reason: 'robots-disallowed' };
    return undefined;
  }

  private async linkExisting(queryId: string, hit: SearchHit, pageId: string): Promise<void> {
    await this.env.store.batch().link('query-pages', queryId, pageId).put('hits', { ...hit, pageId }).write();
  }

  private commonOptions(queue: RequestQueue) {
    const { config } = this.env;
    return {
      requestQueue: queue,
      keepAlive: true,
      maxConcurrency: config.concurrency,
      minConcurrency: Math.min(config.concurrency, 2),
      maxRequestRetries: config.maxRetries,
      navigationTimeoutSecs: config.requestTimeoutSecs + 5,
      requestHandlerTimeoutSecs: config.requestTimeoutSecs * 4 + 30,
      useSessionPool: false,
      persistCookiesPerSession: false,
      errorHandler: async ({ request, response }: { request: Request; response?: unknown }, error: Error) => {
        (response as { destroy?: () => void } | undefined)?.destroy?.();
        const failure = failureOf(error);
        if (!failure.retryable) request.noRetry = true;
        else await sleep(Math.min(250 * 2 ** request.retryCount, 5_000));
      },
      failedRequestHandler: async ({ request, response }: { request: Request; response?: unknown }, error: Error) => {
        const streamed = response as { destroy?: () => void; statusCode?: number } | undefined;
        streamed?.destroy?.();
        // An error status outranks Crawlee's complaint about the error page's content type.
        const status = streamed?.statusCode ?? 0;
        const failure = status >= 400 ? { outcome: 'failed' as const, reason: `http-${status}`, httpStatus: status } : failureOf(error);
        const record = { outcome: failure.outcome, reason: failure.reason, httpStatus: failure.httpStatus, attempts: request.retryCount + 1, at: new Date().toISOString() };
        const data = request.userData as PageRequestData;
        const run = this.runOf(data);
        try {
          if (run) await this.recordUnstored(run.counts, data, request.url, record);
        } finally {
          this.settle(data);
        }
      },
    };
  }

  private httpCrawler(queue: RequestQueue): CheerioCrawler {
    return new CheerioCrawler(
      {
        ...this.commonOptions(queue),
        httpClient: new SafeCrawleeHttpClient({ ...this.env.fetchOptions, maxBytes: this.env.config.maxPageBytes }),
        additionalMimeTypes: ['application/xhtml+xml'],
        requestHandler: async ({ request, response, $, contentType, addRequests }) => {
          await this.handle({
            request: request as Request<PageRequestData>,
            status: response.statusCode ?? 0,
            finalUrl: request.loadedUrl ?? request.url,
            contentType: contentType.type,
            // The same cheerio package, typed once through its CommonJS and once through its ESM entry.
            $: $ as unknown as CheerioAPI,
            rendered: false,
            attempts: request.retryCount + 1,
            enqueue: async (next) => void (await addRequests([next])),
          });
        },
      },
      this.env.crawleeConfig,
    );
  }

  /** The browser crawler, loaded only for `--render` so plain crawls never load Playwright. */
  private async browserCrawler(queue: RequestQueue): Promise<PlaywrightCrawler> {
    const { createBrowserCrawler } = await import('./browser-crawler.js');
    return createBrowserCrawler(this.commonOptions(queue), this.env, (page) => this.handle(page));
  }

  /** Stores what a fetched request brought, then settles it for its query (a thrown error is retried by Crawlee first). */
  private async handle(page: FetchedPage): Promise<void> {
    const run = this.runOf(page.request.userData);
    if (!run) return;
    await this.store(run, page);
    this.settle(page.request.userData);
  }

  private async store({ queryId, counts }: QueryRun, page: FetchedPage): Promise<void> {
    const { store } = this.env;
    const data = page.request.userData;
    const url = page.request.url;
    const at = new Date().toISOString();
    const base = { httpStatus: page.status, contentType: page.contentType, finalUrl: page.finalUrl, attempts: page.attempts, at };
    if (page.status >= 400 || page.status === 0) {
      await this.recordUnstored(counts, data, url, { ...base, outcome: 'failed', reason: `http-${page.status}` });
      return;
    }
    if (!/html/i.test(page.contentType)) {
      await this.recordUnstored(counts, data, url, { ...base, outcome: 'skipped', reason: `not-html: ${page.contentType}` });
      return;
    }
    const $ = page.$;
    const refresh = metaRefreshTarget($, page.finalUrl);
    if (refresh) {
      await this.followRefresh(counts, page, data, refresh, base);
      return;
    }
    const canonicalUrl = canonicalUrlOf($, page.finalUrl);
    const pageId = pageIdOf(canonicalUrl);
    const hit = await store.get('hits', data.hitId);
    const batch = store.batch().link('query-pages', queryId, pageId);
    if (hit) batch.put('hits', { ...hit, pageId });
    putFetches(batch, data, url, { ...base, outcome: 'ok', pageId });
    if (await store.has('pages', pageId)) {
      // Another URL (a redirect, an alias) already brought this page: it is stored once.
      await batch.write();
      counts.add('pages-duplicate-canonical');
      return;
    }
    await this.addPage(counts, batch, $, { pageId, url, canonicalUrl, page, at });
    await batch.write();
    counts.add('pages-stored');
  }

  private async followRefresh(
    counts: StageCounts,
    page: FetchedPage,
    data: PageRequestData,
    target: string,
    base: Omit<Fetch, 'id' | 'url' | 'kind' | 'outcome'>,
  ): Promise<void> {
    const via = [...data.via, page.request.url];
    let failure: Refusal | undefined;
    if (via.includes(target) || via.length > MAX_META_REDIRECTS) failure = { outcome: 'failed', reason: 'redirect-loop' };
    else failure = await this.refusal(target);
    if (failure) {
      const record = { ...base, ...failure, reason: `meta-refresh to ${target}: ${failure.reason}` };
      await this.recordUnstored(counts, data, page.request.url, record, failure.reason);
      return;
    }
    // A distinct unique key: the target may also be a hit of its own, and both must be answered.
    const run = this.runOf(data);
    if (run) run.pending++;
    await page.enqueue({ url: target, uniqueKey: `${data.queryId} ${target} via ${page.request.url}`, userData: { queryId: data.queryId, hitId: data.hitId, via } });
    counts.add('meta-refresh-followed');
  }

  /**
   * Records a URL that brought no page: its Fetch outcome (and that of the URLs that redirected to
   * it), counted under the part of its reason before the first ':'. A transient failure counts its
   * attempts across runs; below `crawl.maxAttempts` it fails the query (left open for the next run),
   * after that it is final and dropped like any other.
   */
  private async recordUnstored(counts: StageCounts, data: PageRequestData, url: string, record: Omit<Fetch, 'id' | 'url' | 'kind'>, countAs?: string): Promise<void> {
    let reason = countAs ?? record.reason ?? 'failed';
    let retryLater = false;
    if (record.outcome === 'failed') {
      const earlier = await this.env.store.get('fetches', pageFetchIdOf(url));
      const attempts = (earlier?.outcome === 'failed' ? (earlier.attempts ?? 0) : 0) + (record.attempts ?? 1);
      const settled = settleFailure(record.reason ?? 'failed', record.httpStatus, attempts, this.env.config.maxAttempts);
      record = { ...record, reason: settled.reason, attempts: settled.attempts };
      if (!countAs) reason = settled.reason;
      retryLater = settled.retryLater;
    }
    const batch = this.env.store.batch();
    putFetches(batch, data, url, record);
    await batch.write();
    const key = `page-${reason.split(/[: ]/)[0]}`;
    if (retryLater) counts.fail(`${key}: ${url}`);
    else counts.drop(key);
  }

  private async addPage(
    counts: StageCounts,
    batch: StoreBatch,
    $: CheerioAPI,
    { pageId, url, canonicalUrl, page, at }: { pageId: string; url: string; canonicalUrl: string; page: FetchedPage; at: string },
  ): Promise<void> {
    const { images } = this.env;
    const scan = findPageImages($, page.finalUrl);
    for (const skipped of scan.skipped) counts.drop(`img-${skipped.reason}`);
    const limit = pLimit(IMAGES_PER_PAGE_IN_FLIGHT);
    const outcomes = await Promise.all(scan.images.map((image) => limit(() => images.fetch(image.url))));
    scan.images.forEach((image, k) => {
      const outcome = outcomes[k]!;
      const occurrence = pageOccurrenceOf(pageId, image, outcome.imageId);
      batch.put('occurrences', occurrence).link('page-occurrences', pageId, occurrence.id);
      putImageOutcome(batch, outcome, occurrence.id, counts, 'page-image');
    });
    counts.add('occurrences', scan.images.length);
    const html = $.html();
    batch.putHtml(pageId, html).put('pages', {
      id: pageId,
      url,
      finalUrl: page.finalUrl,
      canonicalUrl,
      httpStatus: page.status,
      contentType: page.contentType,
      fetchedAt: at,
      htmlBytes: Buffer.byteLength(html),
      rendered: page.rendered,
      title: $('title').first().text().trim() || undefined,
    });
  }
}
