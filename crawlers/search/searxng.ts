// SearXNG (self-hosted metasearch): its JSON API, `/search?format=json`, categories general/images.
// The instance must have the json format enabled in its settings.
import { z } from 'zod';
import type { Query } from '../../storage/index.js';
import { getJson, type ApiClientOptions } from './api-client.js';
import type { SearchKind, SearchProvider, SearchResult } from './types.js';

const Results = z.object({
  results: z.array(
    z.object({
      url: z.string(),
      title: z.string().optional(),
      content: z.string().optional(),
      img_src: z.string().optional(),
    }),
  ),
});

export class SearxngSearch implements SearchProvider {
  readonly name = 'searxng';

  constructor(
    private readonly baseUrl: string,
    private readonly client: ApiClientOptions,
  ) {}

  async search(query: Query, { kind, limit }: { kind: SearchKind; limit: number }): Promise<SearchResult[]> {
    const found: SearchResult[] = [];
    // SearXNG pages its results (about 10–20 a page, depending on the engines).
    for (let page = 1; found.length < limit && page <= 5; page++) {
      const url = new URL('search', this.baseUrl.endsWith('/') ? this.baseUrl : this.baseUrl + '/');
      url.search = new URLSearchParams({ q: query.query, format: 'json', categories: kind === 'web' ? 'general' : 'images', pageno: String(page) }).toString();
      const body = await getJson('searxng', url, Results, this.client);
      if (body.results.length === 0) break;
      for (const result of body.results) {
        if (kind === 'image') {
          if (result.img_src) found.push({ url: result.img_src, title: result.title, snippet: result.content, sourcePageUrl: result.url });
        } else {
          found.push({ url: result.url, title: result.title, snippet: result.content });
        }
      }
    }
    return dedupeByUrl(found).slice(0, limit);
  }
}

export function dedupeByUrl(results: SearchResult[]): SearchResult[] {
  const seen = new Set<string>();
  return results.filter((r) => !seen.has(r.url) && seen.add(r.url));
}
