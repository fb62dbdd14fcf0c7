// Brave Search API: `/web/search` and `/images/search`, key from BRAVE_API_KEY (never from config).
import { z } from 'zod';
import { UserError } from '../../src/core/errors.js';
import type { Query } from '../../storage/index.js';
import { getJson, type ApiClientOptions } from './api-client.js';
import { dedupeByUrl } from './searxng.js';
import { plainText, type SearchKind, type SearchProvider, type SearchResult } from './types.js';

const WebResults = z.object({
  web: z.object({ results: z.array(z.object({ url: z.string(), title: z.string().optional(), description: z.string().optional() })) }).optional(),
});

const ImageResults = z.object({
  results: z.array(
    z.object({
      url: z.string().optional(),
      title: z.string().optional(),
      properties: z.object({ url: z.string().optional() }).optional(),
      thumbnail: z.object({ src: z.string().optional() }).optional(),
    }),
  ),
});

export class BraveSearch implements SearchProvider {
  readonly name = 'brave';
  private readonly key: string;

  constructor(
    private readonly baseUrl: string,
    private readonly client: ApiClientOptions,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const key = env.BRAVE_API_KEY;
    if (!key) throw new UserError('--search brave needs the BRAVE_API_KEY environment variable (a Brave Search API subscription token)');
    this.key = key;
  }

  async search(query: Query, { kind, limit }: { kind: SearchKind; limit: number }): Promise<SearchResult[]> {
    if (limit === 0) return [];
    const base = this.baseUrl.endsWith('/') ? this.baseUrl : this.baseUrl + '/';
    const headers = { 'x-subscription-token': this.key };
    if (kind === 'web') {
      const url = new URL('web/search', base);
      url.search = new URLSearchParams({ q: query.query, count: String(Math.min(limit, 20)) }).toString();
      const body = await getJson('brave', url, WebResults, this.client, headers);
      return dedupeByUrl((body.web?.results ?? []).map((r) => ({ url: r.url, title: r.title, snippet: plainText(r.description) }))).slice(0, limit);
    }
    const url = new URL('images/search', base);
    url.search = new URLSearchParams({ q: query.query, count: String(Math.min(limit, 100)) }).toString();
    const body = await getJson('brave', url, ImageResults, this.client, headers);
    const hits = body.results.flatMap((r) => {
      const image = r.properties?.url ?? r.thumbnail?.src;
      return image ? [{ url: image, title: r.title, sourcePageUrl: r.url }] : [];
    });
    return dedupeByUrl(hits).slice(0, limit);
  }
}
