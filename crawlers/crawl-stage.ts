// The `crawl` stage: for each query, search (pages and auxiliary images), then fetch and store the
// pages with their images, then the auxiliary images. Search hits are stored before anything is
// fetched, so a resumed run fetches exactly what the first run set out to fetch. One page crawler and
// one image crawler serve the whole run; the runner keeps enough queries going at once that the
// crawlers' pools stay full, a new one starting as soon as any one is done.
import { InterruptedError, StageCounts, type Stage, type StageContext } from '../src/core/stage.js';
import { imageFetchIdOf, occurrenceIdOf, pageFetchIdOf, searchHitIdOf, type CorpusStore, type Occurrence, type Query, type SearchHit } from '../storage/index.js';
import { findChromium } from './fetch/chromium.js';
import type { CrawlRun, CrawlRunEnv } from './fetch/crawl-run.js';
import type { ImageUse } from './fetch/image-crawler.js';
import { HostLimiter } from './net/host-limiter.js';
import { RobotsCache } from './net/robots.js';
import { FetchError, type SafeFetchOptions } from './net/safe-http.js';
import { UrlPolicy } from './net/url-policy.js';
import { createSearchProvider, type SearchProvider } from './search/index.js';

/** Pages of the queries in progress per crawler slot: queued requests cost little, what is in flight is bounded by the crawlers. */
const PAGES_IN_PROGRESS_PER_SLOT = 8;

interface Run {
  provider: SearchProvider;
  robots?: RobotsCache;
  /** The crawlers, started; a query waits for them only once its hits are known and their robots.txt asked for. */
  crawl: Promise<CrawlRun>;
}

/**
 * Starts the parsing threads, loads Crawlee and starts the run's crawlers. Loading takes 0.3–0.5 s
 * of the main thread; done while the first queries are searched and their hosts' robots.txt is on
 * the way, it costs the crawl almost nothing, where done first it came before any request.
 */
async function startCrawlRun(env: Omit<CrawlRunEnv, 'crawleeConfig'>, signal: AbortSignal): Promise<CrawlRun> {
  const { startCrawlThreads } = await import('./fetch/crawl-threads.js');
  const threads = startCrawlThreads(env.config.requestTimeoutSecs * 1000);
  let crawl: CrawlRun | undefined;
  try {
    const [{ CrawlRun }, { crawleeConfigFor }] = await Promise.all([import('./fetch/crawl-run.js'), import('./fetch/crawlee-configuration.js')]);
    crawl = new CrawlRun({ ...env, crawleeConfig: crawleeConfigFor(env.store.dir, env.config.memoryMbytes, { render: env.config.render }) }, threads);
    await crawl.start(signal);
    return crawl;
  } catch (error) {
    // A run closes its threads with it; before there is one, they are closed here.
    await (crawl ? crawl.close() : threads.close()).catch(() => undefined);
    throw error;
  }
}

async function storedHits(store: CorpusStore, queryId: string): Promise<SearchHit[]> {
  const ids = await store.related('query-hits', queryId);
  return (await store.getMany('hits', ids)).filter((hit): hit is SearchHit => hit !== undefined);
}

export class CrawlStage implements Stage {
  readonly name = 'crawl';
  private run?: Run;
  /** Set once the search provider could not be reached: every later query fails at once with this reason. */
  private providerDown?: string;

  /** `limiterFor` gives the per-host gate; a queue worker passes one shared by all workers. */
  constructor(private readonly limiterFor: (perHost: number, delayMs: number) => Pick<HostLimiter, 'acquire'> = (perHost, delayMs) => new HostLimiter(perHost, delayMs)) {}

  settingsOf(ctx: StageContext): Record<string, unknown> {
    return { crawl: ctx.config.crawl };
  }

  async setup(ctx: StageContext): Promise<void> {
    const config = ctx.config.crawl;
    const policy = new UrlPolicy({ allowPrivate: config.allowPrivate, trustedOrigins: config.site ? [config.site] : [] });
    const fetchOptions: SafeFetchOptions = {
      policy,
      limiter: this.limiterFor(config.perDomainConcurrency, config.perDomainDelayMs),
      timeoutMs: config.requestTimeoutSecs * 1000,
      maxBytes: config.maxImageBytes,
      userAgent: config.userAgent,
    };
    const robots = config.ignoreRobots ? undefined : new RobotsCache(fetchOptions);
    const chromiumPath = config.render ? await findChromium(config.chromiumPath) : undefined;
    const provider = await createSearchProvider(config, {
      storeDir: ctx.store.dir,
      siteFetch: { ...fetchOptions, maxBytes: config.maxPageBytes },
      robots,
    });
    const crawl = startCrawlRun({ store: ctx.store, config, fetchOptions, policy, robots, chromiumPath }, ctx.signal);
    // A crawler that cannot start fails each query with its reason (and teardown has nothing to close).
    crawl.catch(() => undefined);
    this.run = { provider, robots, crawl };
  }

  /** Enough queries at once that the page crawler has several times its width of pages waiting. */
  queryConcurrency(ctx: StageContext): number {
    return Math.max(1, Math.ceil((PAGES_IN_PROGRESS_PER_SLOT * ctx.config.crawl.concurrency) / Math.max(1, ctx.config.crawl.pages)));
  }

  async teardown(): Promise<void> {
    const crawl = await this.run?.crawl.catch(() => undefined);
    await crawl?.close();
  }

  async runQuery(query: Query, ctx: StageContext, counts: StageCounts): Promise<void> {
    const run = this.run!;
    const hits = await this.searchOnce(query, ctx, run.provider, counts);
    if (ctx.signal.aborted) throw new InterruptedError(this.name);
    const webHits = hits.filter((hit) => hit.kind === 'web');
    const auxiliary = await this.auxiliaryUses(query, hits.filter((hit) => hit.kind === 'image'), ctx.store);
    run.robots?.prefetch([...webHits.map((hit) => hit.url), ...auxiliary.map((use) => use.occurrence.url)]);
    const crawl = await run.crawl;
    // Interrupted while the crawlers loaded: nothing is asked for, and the query stays open.
    if (ctx.signal.aborted) throw new InterruptedError(this.name);
    await crawl.crawl(query.id, webHits, auxiliary, counts);
    await this.checkEveryHitSettled(hits, ctx.store, counts);
  }

  /**
   * A hit without a Fetch record, or a stored page's image use with neither its image nor a Fetch
   * for its URL (an interrupted crawl, a request Crawlee lost), leaves its query open for the next
   * run, which asks for exactly those again.
   */
  private async checkEveryHitSettled(hits: SearchHit[], store: CorpusStore, counts: StageCounts): Promise<void> {
    const fetches = await store.getMany('fetches', hits.map((hit) => (hit.kind === 'web' ? pageFetchIdOf(hit.url) : imageFetchIdOf(hit.url))));
    const pageIds: string[] = [];
    hits.forEach((hit, i) => {
      const fetch = fetches[i];
      if (!fetch) counts.fail(`${hit.kind}-hit-not-fetched: ${hit.url}`);
      else if (hit.kind === 'web' && fetch.pageId) pageIds.push(fetch.pageId);
    });
    const occurrenceIds = (await Promise.all(pageIds.map((pageId) => store.related('page-occurrences', pageId)))).flat();
    const waiting = (await store.getMany('occurrences', occurrenceIds)).filter((occurrence): occurrence is Occurrence => occurrence !== undefined && !occurrence.imageId);
    const imageFetches = await store.getMany('fetches', waiting.map((occurrence) => imageFetchIdOf(occurrence.url)));
    waiting.forEach((occurrence, i) => {
      if (!imageFetches[i]) counts.fail(`image-not-fetched: ${occurrence.url}`);
    });
  }

  /** The provider's hits, or the reason it cannot be reached (then every later query fails without asking it again). */
  private async search(provider: SearchProvider, query: Query, kind: 'web' | 'image', limit: number) {
    if (this.providerDown) throw new Error(this.providerDown);
    try {
      return await provider.search(query, { kind, limit });
    } catch (error) {
      if (error instanceof FetchError && (/^(network|timeout|dns)/.test(error.reason) || (error.httpStatus !== undefined && error.httpStatus < 500 && error.httpStatus !== 429))) {
        this.providerDown = `search provider ${provider.name} unavailable: ${error.message}`;
        throw new Error(this.providerDown);
      }
      throw error;
    }
  }

  /** The query's hits: stored ones when a previous run searched already, else a fresh search, stored. */
  private async searchOnce(query: Query, ctx: StageContext, provider: SearchProvider, counts: StageCounts): Promise<SearchHit[]> {
    const stored = await storedHits(ctx.store, query.id);
    if (stored.length > 0) {
      counts.add('hits-reused', stored.length);
      return stored;
    }
    const config = ctx.config.crawl;
    const [web, image] = await Promise.all([this.search(provider, query, 'web', config.pages), this.search(provider, query, 'image', config.auxImages)]);
    const hits: SearchHit[] = [];
    for (const [kind, results] of [['web', web], ['image', image]] as const) {
      results.forEach((result, rank) => {
        hits.push({ id: searchHitIdOf(query.id, kind, result.url), queryId: query.id, kind, rank, provider: provider.name, ...result });
      });
      counts.add(`${kind}-hits`, results.length);
    }
    const batch = ctx.store.batch();
    for (const hit of hits) batch.put('hits', hit).link('query-hits', query.id, hit.id);
    await batch.write();
    return hits;
  }

  /**
   * The auxiliary images still to fetch, as image uses: each gets its occurrence now, without an
   * image until the image crawler writes one (a hit that has its image already is done).
   */
  private async auxiliaryUses(query: Query, hits: SearchHit[], store: CorpusStore): Promise<ImageUse[]> {
    const uses: ImageUse[] = [];
    const batch = store.batch();
    for (const hit of hits) {
      if (hit.imageId) continue;
      const id = occurrenceIdOf(query.id + ':aux', hit.rank);
      const attributes: Record<string, string> = {};
      if (hit.title) attributes.title = hit.title;
      if (hit.snippet) attributes.snippet = hit.snippet;
      if (hit.sourcePageUrl) attributes.sourcePageUrl = hit.sourcePageUrl;
      const occurrence: Occurrence = { id, kind: 'auxiliary', queryId: query.id, index: hit.rank, url: hit.url, attributes };
      batch.put('occurrences', occurrence).link('query-occurrences', query.id, id);
      uses.push({ queryId: query.id, occurrence, hit, label: 'aux-image' });
    }
    await batch.write();
    return uses;
  }
}
