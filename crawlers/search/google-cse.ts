// Google Programmable Search (Custom Search JSON API), as the M2RAG reference used: web results and
// `searchType=image`. Key and engine id from GOOGLE_CSE_KEY / GOOGLE_CSE_ID; at most 10 a request.
import { z } from 'zod';
import { UserError } from '../../src/core/errors.js';
import type { Query } from '../../storage/index.js';
import { getJson, type ApiClientOptions } from './api-client.js';
import { dedupeByUrl } from './searxng.js';
import type { SearchKind, SearchProvider, SearchResult } from './types.js';

const Items = z.object({
  items: z
    .array(
      z.object({
        link: z.string(),
        title: z.string().optional(),
        snippet: z.string().optional(),
        image: z.object({ contextLink: z.string().optional() }).optional(),
      }),
    )
    .optional(),
});

export class GoogleCseSearch implements SearchProvider {
  readonly name = 'google-cse';
  private readonly key: string;
  private readonly engineId: string;

  constructor(
    private readonly baseUrl: string,
    private readonly client: ApiClientOptions,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    if (!env.GOOGLE_CSE_KEY || !env.GOOGLE_CSE_ID) {
      throw new UserError('--search google-cse needs GOOGLE_CSE_KEY (API key) and GOOGLE_CSE_ID (search engine id) in the environment');
    }
    this.key = env.GOOGLE_CSE_KEY;
    this.engineId = env.GOOGLE_CSE_ID;
  }

  async search(query: Query, { kind, limit }: { kind: SearchKind; limit: number }): Promise<SearchResult[]> {
    const found: SearchResult[] = [];
    // The API returns at most 10 items a request and at most 100 in all.
    for (let start = 1; found.length < limit && start <= 91; start += 10) {
      const url = new URL(this.baseUrl);
      const params = new URLSearchParams({ key: this.key, cx: this.engineId, q: query.query, num: String(Math.min(10, limit - found.length)), start: String(start) });
      if (kind === 'image') params.set('searchType', 'image');
      url.search = params.toString();
      const body = await getJson('google-cse', url, Items, this.client);
      const items = body.items ?? [];
      for (const item of items) {
        found.push(kind === 'image' ? { url: item.link, title: item.title, snippet: item.snippet, sourcePageUrl: item.image?.contextLink } : { url: item.link, title: item.title, snippet: item.snippet });
      }
      if (items.length < 10) break;
    }
    return dedupeByUrl(found).slice(0, limit);
  }
}
