// `m2rag refresh --search-again`: asks the query's search provider again and stores the results
// that are not hits of the query yet, after its existing ones. The crawl stage then fetches them
// like any hit (its marker is cleared in the same batch), so pages that now rank come in as new.
import type { Config } from '../../src/core/config.js';
import { StageCounts } from '../../src/core/stage.js';
import { searchHitIdOf, type CorpusStore, type Query, type SearchHit } from '../../storage/index.js';
import { RobotsCache } from '../net/robots.js';
import { createSearchProvider, type SearchProvider } from '../search/index.js';
import { refreshFetchOptions } from './refetch.js';

/** The provider the crawl used, with its site index (for `local`) rebuilt in `indexDir`, not reused from the first crawl. */
export async function openSearchAgain(config: Config['crawl'], indexDir: string): Promise<SearchProvider> {
  const fetchOptions = refreshFetchOptions(config, 'image');
  const robots = config.ignoreRobots ? undefined : new RobotsCache(fetchOptions);
  return createSearchProvider(config, { storeDir: indexDir, siteFetch: { ...fetchOptions, maxBytes: config.maxPageBytes }, robots });
}

/** Stores the query's new web hits (and clears its crawl marker with them); returns how many it added. */
export async function searchAgain(store: CorpusStore, query: Query, provider: SearchProvider, config: Config['crawl'], counts: StageCounts): Promise<number> {
  const stored = (await store.getMany('hits', await store.related('query-hits', query.id))).filter((hit): hit is SearchHit => hit !== undefined);
  const known = new Set(stored.filter((hit) => hit.kind === 'web').map((hit) => hit.url));
  let rank = Math.max(-1, ...stored.filter((hit) => hit.kind === 'web').map((hit) => hit.rank)) + 1;
  const results = await provider.search(query, { kind: 'web', limit: config.pages });
  const batch = store.batch();
  for (const result of results) {
    if (known.has(result.url)) continue;
    known.add(result.url);
    const hit: SearchHit = { id: searchHitIdOf(query.id, 'web', result.url), queryId: query.id, kind: 'web', rank: rank++, provider: provider.name, ...result };
    batch.put('hits', hit).link('query-hits', query.id, hit.id);
  }
  const added = batch.size / 2;
  if (added > 0) await batch.clearStageDone('crawl', query.id).write();
  counts.add('search-again-hits', added);
  return added;
}
