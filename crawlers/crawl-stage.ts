// The `crawl` stage: for each query, search (pages and auxiliary images), then fetch and store the
// pages with their images, then the auxiliary images. Search hits are stored before anything is
// fetched, so a resumed run fetches exactly what the first run set out to fetch.
import path from 'node:path';
import { Configuration, log as crawleeLog, LogLevel } from '@crawlee/core';
import { StageCounts, type Stage, type StageContext } from '../src/core/stage.js';
import { occurrenceIdOf, searchHitIdOf, type CorpusStore, type Query, type SearchHit } from '../storage/index.js';
import { findChromium } from './fetch/chromium.js';
import { ImageFetcher, putImageOutcome } from './fetch/image-fetcher.js';
import { PageCrawler } from './fetch/page-crawler.js';
import { HostLimiter } from './net/host-limiter.js';
import { RobotsCache } from './net/robots.js';
import type { SafeFetchOptions } from './net/safe-http.js';
import { UrlPolicy } from './net/url-policy.js';
import { createSearchProvider, type SearchProvider } from './search/index.js';

interface CrawlRun {
  provider: SearchProvider;
  pages: PageCrawler;
  images: ImageFetcher;
}

/** Crawlee's queues and state live inside the store directory, never in the working directory. */
export function crawleeConfigFor(storeDir: string, memoryMbytes: number, persistQueue: boolean): Configuration {
  return new Configuration({
    storageClientOptions: { localDataDirectory: path.join(storeDir, 'crawlee') },
    persistStorage: persistQueue,
    purgeOnStart: false,
    memoryMbytes,
  });
}

async function storedHits(store: CorpusStore, queryId: string): Promise<SearchHit[]> {
  const ids = await store.related('query-hits', queryId);
  return (await store.getMany('hits', ids)).filter((hit): hit is SearchHit => hit !== undefined);
}

export class CrawlStage implements Stage {
  readonly name = 'crawl';
  private run?: CrawlRun;

  async setup(ctx: StageContext): Promise<void> {
    const config = ctx.config.crawl;
    crawleeLog.setLevel(process.env.M2RAG_LOG_LEVEL === 'debug' ? LogLevel.DEBUG : LogLevel.OFF);
    const siteHost = config.site ? new URL(config.site).hostname : undefined;
    const policy = new UrlPolicy({ allowPrivate: config.allowPrivate, trustedHosts: siteHost ? [siteHost] : [] });
    const fetchOptions: SafeFetchOptions = {
      policy,
      limiter: new HostLimiter(config.perDomainConcurrency, config.perDomainDelayMs),
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
    const images = new ImageFetcher(ctx.store, { fetch: fetchOptions, robots, maxRetries: config.maxRetries });
    const pages = new PageCrawler({
      store: ctx.store,
      config,
      crawleeConfig: crawleeConfigFor(ctx.store.dir, config.memoryMbytes, config.persistQueue),
      fetchOptions,
      policy,
      robots,
      images,
      chromiumPath,
    });
    this.run = { provider, pages, images };
  }

  async runQuery(query: Query, ctx: StageContext, counts: StageCounts): Promise<void> {
    const run = this.run!;
    const hits = await this.searchOnce(query, ctx, run.provider, counts);
    await run.pages.crawl(
      query.id,
      hits.filter((hit) => hit.kind === 'web'),
      counts,
    );
    await this.fetchAuxiliaryImages(query, hits.filter((hit) => hit.kind === 'image'), ctx.store, run.images, counts);
  }

  /** The query's hits: stored ones when a previous run searched already, else a fresh search, stored. */
  private async searchOnce(query: Query, ctx: StageContext, provider: SearchProvider, counts: StageCounts): Promise<SearchHit[]> {
    const stored = await storedHits(ctx.store, query.id);
    if (stored.length > 0) {
      counts.add('hits-reused', stored.length);
      return stored;
    }
    const config = ctx.config.crawl;
    const [web, image] = await Promise.all([
      provider.search(query, { kind: 'web', limit: config.pages }),
      provider.search(query, { kind: 'image', limit: config.auxImages }),
    ]);
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

  private async fetchAuxiliaryImages(query: Query, hits: SearchHit[], store: CorpusStore, images: ImageFetcher, counts: StageCounts): Promise<void> {
    const outcomes = await Promise.all(hits.map((hit) => images.fetch(hit.url)));
    const batch = store.batch();
    hits.forEach((hit, i) => {
      const outcome = outcomes[i]!;
      const id = occurrenceIdOf(query.id + ':aux', hit.rank);
      const attributes: Record<string, string> = {};
      if (hit.title) attributes.title = hit.title;
      if (hit.snippet) attributes.snippet = hit.snippet;
      if (hit.sourcePageUrl) attributes.sourcePageUrl = hit.sourcePageUrl;
      batch
        .put('occurrences', { id, kind: 'auxiliary', queryId: query.id, index: hit.rank, url: hit.url, imageId: outcome.imageId, attributes })
        .link('query-occurrences', query.id, id)
        .put('hits', { ...hit, imageId: outcome.imageId });
      putImageOutcome(batch, outcome, id, counts, 'aux-image');
    });
    await batch.write();
  }
}
