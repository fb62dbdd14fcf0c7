// Picks the search provider the configuration names and checks what it needs up front.
import type { Config } from '../../src/core/config.js';
import { UserError } from '../../src/core/errors.js';
import type { RobotsCache } from '../net/robots.js';
import type { SafeFetchOptions } from '../net/safe-http.js';
import { BraveSearch } from './brave.js';
import { GoogleCseSearch } from './google-cse.js';
import { SearxngSearch } from './searxng.js';
import { SeedSearch } from './seeds.js';
import type { SearchProvider } from './types.js';
import { WikipediaSearch } from './wikipedia.js';

export type { SearchProvider, SearchResult, SearchKind } from './types.js';

export interface ProviderContext {
  storeDir: string;
  /** Fetch options for crawling a `local` site (its policy already trusts the site origin). */
  siteFetch: SafeFetchOptions;
  robots?: RobotsCache;
}

export async function createSearchProvider(config: Config['crawl'], context: ProviderContext): Promise<SearchProvider> {
  const client = { userAgent: config.userAgent, timeoutMs: config.requestTimeoutSecs * 1000 };
  switch (config.search) {
    case 'wikipedia':
      return new WikipediaSearch(config.wikipediaUrl, config.commonsUrl, client);
    case 'searxng':
      if (!config.searxngUrl) throw new UserError('--search searxng needs the instance URL: set crawl.searxngUrl in the config file (for example http://localhost:8888)');
      return new SearxngSearch(config.searxngUrl, client);
    case 'brave':
      return new BraveSearch(config.braveUrl, client);
    case 'google-cse':
      return new GoogleCseSearch(config.googleCseUrl, client);
    case 'seeds':
      return new SeedSearch();
    case 'local': {
      if (!config.site) throw new UserError('--search local needs --site <url>: the entry page of the site or mirror to search (for example http://127.0.0.1:8080/index.html)');
      // Loaded only here: it crawls the site with Crawlee, which the other providers do not need at start-up.
      const { LocalSiteSearch } = await import('./local-site.js');
      return LocalSiteSearch.open(config.site, context.storeDir, {
        fetch: context.siteFetch,
        robots: context.robots,
        maxPages: config.siteMaxPages,
        concurrency: config.concurrency,
        limits: config.limits,
      });
    }
  }
}
