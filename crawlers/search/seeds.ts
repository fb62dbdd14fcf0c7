// `seeds`: the queries file names the pages (`"urls": [...]`). There is no image search behind it,
// so a seeded query gets no auxiliary images; the images on its pages are still fetched.
import type { Query } from '../../storage/index.js';
import type { SearchKind, SearchProvider, SearchResult } from './types.js';

export class SeedSearch implements SearchProvider {
  readonly name = 'seeds';

  async search(query: Query, { kind, limit }: { kind: SearchKind; limit: number }): Promise<SearchResult[]> {
    if (kind === 'image') return [];
    return [...new Set(query.urls ?? [])].slice(0, limit).map((url) => ({ url }));
  }
}
