// The page spider for one query: Crawlee owns the queue (persisted in the store directory, so a
// killed run resumes), concurrency, retries and parsing; this file is the per-page logic. Each
// page, its image occurrences and the images fetched for it are written in one atomic batch, and
// every URL ends in a Fetch record: ok, failed or skipped, with its reason.
import * as cheerio from 'cheerio';
import type { CheerioAPI } from 'cheerio';
import { CheerioCrawler, type Configuration, type RequestQueue, type Request, type RequestOptions } from '@crawlee/cheerio';
import type { PlaywrightCrawler } from '@crawlee/playwright';
import type { Route } from 'playwright-core';
import pLimit from 'p-limit';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../src/core/config.js';
import type { StageCounts } from '../../src/core/stage.js';
import { pageFetchIdOf, pageIdOf, stableId, type CorpusStore, type Fetch, type SearchHit, type StoreBatch } from '../../storage/index.js';
import { findPageImages, pageOccurrenceOf } from '../../src/core/markup/page-images.js';
import { SafeCrawleeHttpClient } from '../net/crawlee-http-client.js';
import type { RobotsCache } from '../net/robots.js';
import type { SafeFetchOptions } from '../net/safe-http.js';
import { RefusedUrlError, type UrlPolicy } from '../net/url-policy.js';
import { CHROMIUM_ARGS } from './chromium.js';
import { failureOf } from './failure.js';
import { DetachedRequestQueue } from './detached-queue.js';
import { canonicalUrlOf, metaRefreshTarget } from './html.js';
import { periodicGarbageCollection } from './heap.js';
import { putImageOutcome, type ImageFetcher } from './image-fetcher.js';

const MAX_META_REDIRECTS = 10;
const IMAGES_PER_PAGE_IN_FLIGHT = 4;
const PAGES_BETWEEN_COLLECTIONS = 100;


interface Refusal {
  outcome: 'failed' | 'skipped';
  reason: string;
}

interface PageRequestData {
  hitId: string;
  /** URLs that led here through meta-refresh redirects, oldest first (all get this page's Fetch outcome). */
  via: string[];
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

/** The query being crawled and where its counts go. */
interface QueryRun {
  queryId: string;
  counts: StageCounts;
}

interface FetchedPage {
  request: Request<PageRequestData>;
  status: number;
  finalUrl: string;
  contentType: string;
  /** The parsed DOM (Crawlee's own parse for HTTP pages, so nothing is parsed twice). */
  $: CheerioAPI;
  rendered: boolean;
  attempts: number;
  enqueue(request: RequestOptions<PageRequestData>): Promise<void>;
}

function failedFetch(url: string, at: string, fields: Omit<Fetch, 'id' | 'url' | 'kind' | 'at'>): Fetch {
  return { id: pageFetchIdOf(url), url, kind: 'page', at, ...fields };
}

/** Fetch records for the requested URL and every URL that redirected to it. */
function putFetches(batch: StoreBatch, data: PageRequestData, url: string, record: Omit<Fetch, 'id' | 'url' | 'kind'>): void {
  for (const u of [...data.via, url]) batch.put('fetches', { id: pageFetchIdOf(u), url: u, kind: 'page', ...record });
}

export class PageCrawler {
  private readonly pageStored = periodicGarbageCollection(PAGES_BETWEEN_COLLECTIONS);

  constructor(private readonly env: PageCrawlEnv) {}

  /** Fetches the query's web hits (and the pages they redirect to) and stores them. */
  async crawl(queryId: string, hits: SearchHit[], counts: StageCounts): Promise<void> {
    const { store } = this.env;
    const run: QueryRun = { queryId, counts };
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
      toFetch.push({ url: hit.url, uniqueKey: hit.url, userData: { hitId: hit.id, via: [] } });
    }
    if (toFetch.length === 0) return;
    const queueName = `crawl-${stableId(queryId)}`;
    // A queue left by a killed run still holds its dead requests' locks, which would stall this run
    // for minutes; the store's Fetch records already say what is done, so start the queue afresh.
    await (await DetachedRequestQueue.open(queueName, { config: this.env.crawleeConfig })).drop();
    const queue = await DetachedRequestQueue.open(queueName, { config: this.env.crawleeConfig });
    await queue.addRequests(toFetch);
    const crawler = this.env.config.render ? await this.browserCrawler(queue, run) : this.httpCrawler(queue, run);
    await crawler.run();
    await queue.drop();
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

  private commonOptions(queue: RequestQueue, run: QueryRun) {
    const { config } = this.env;
    return {
      requestQueue: queue,
      maxConcurrency: config.concurrency,
      minConcurrency: Math.min(config.concurrency, 2),
      // Start at full concurrency: Crawlee otherwise begins at the minimum and scales up only every
      // 10 s, which is longer than a query's crawl usually lasts.
      autoscaledPoolOptions: { desiredConcurrency: config.concurrency },
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
        await this.recordUnstored(run.counts, request.userData as PageRequestData, request.url, record, failure.reason);
      },
    };
  }

  private httpCrawler(queue: RequestQueue, run: QueryRun): CheerioCrawler {
    return new CheerioCrawler(
      {
        ...this.commonOptions(queue, run),
        httpClient: new SafeCrawleeHttpClient({ ...this.env.fetchOptions, maxBytes: this.env.config.maxPageBytes }),
        additionalMimeTypes: ['application/xhtml+xml'],
        requestHandler: async ({ request, response, $, contentType, addRequests }) => {
          await this.handle(run, {
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
  private async browserCrawler(queue: RequestQueue, run: QueryRun): Promise<PlaywrightCrawler> {
    const [{ PlaywrightCrawler }, { chromium }] = await Promise.all([import('@crawlee/playwright'), import('playwright-core')]);
    const policy = this.env.policy;
    return new PlaywrightCrawler(
      {
        ...this.commonOptions(queue, run),
        launchContext: {
          launcher: chromium,
          launchOptions: { executablePath: this.env.chromiumPath, args: CHROMIUM_ARGS, headless: true },
        },
        browserPoolOptions: { useFingerprints: false },
        preNavigationHooks: [
          async ({ request, page }) => {
            await policy.checkResolved(request.url);
            // The crawler fetches images itself; inside the browser only what builds the DOM loads,
            // and never from a refused address.
            await page.route('**/*', async (route: Route) => {
              const target = route.request();
              if (['image', 'media', 'font'].includes(target.resourceType())) return route.abort();
              try {
                await policy.checkResolved(target.url());
              } catch {
                return route.abort('blockedbyclient');
              }
              return route.continue();
            });
          },
        ],
        requestHandler: async ({ request, response, page, addRequests }) => {
          await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => undefined);
          // Checked again after the fact: redirect hops inside the browser are not routed.
          await policy.checkResolved(page.url());
          await this.handle(run, {
            request: request as Request<PageRequestData>,
            status: response?.status() ?? 0,
            finalUrl: page.url(),
            contentType: (response?.headers()['content-type'] ?? 'text/html').split(';')[0]!.trim(),
            $: cheerio.load(await page.content()),
            rendered: true,
            attempts: request.retryCount + 1,
            enqueue: async (next) => void (await addRequests([next])),
          });
        },
      },
      this.env.crawleeConfig,
    );
  }

  private async handle({ queryId, counts }: QueryRun, page: FetchedPage): Promise<void> {
    const { store } = this.env;
    const data = page.request.userData;
    const url = page.request.url;
    const at = new Date().toISOString();
    const base = { httpStatus: page.status, contentType: page.contentType, finalUrl: page.finalUrl, attempts: page.attempts, at };
    if (page.status >= 400 || page.status === 0) {
      const reason = `http-${page.status}`;
      await this.recordUnstored(counts, data, url, { ...base, outcome: 'failed', reason }, reason);
      return;
    }
    if (!/html/i.test(page.contentType)) {
      const reason = `not-html: ${page.contentType}`;
      await this.recordUnstored(counts, data, url, { ...base, outcome: 'skipped', reason }, reason);
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
    this.pageStored();
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
    await page.enqueue({ url: target, uniqueKey: `${target} via ${page.request.url}`, userData: { hitId: data.hitId, via } });
    counts.add('meta-refresh-followed');
  }

  /**
   * Records a URL that brought no page: its Fetch outcome (and that of the URLs that redirected to
   * it), dropped under the part of `reason` before its first ':'.
   */
  private async recordUnstored(counts: StageCounts, data: PageRequestData, url: string, record: Omit<Fetch, 'id' | 'url' | 'kind'>, reason: string): Promise<void> {
    const batch = this.env.store.batch();
    putFetches(batch, data, url, record);
    await batch.write();
    counts.drop(`page-${reason.split(':')[0]}`);
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
