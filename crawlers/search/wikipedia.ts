// Wikipedia (the default, no key): MediaWiki full-text search for pages and Wikimedia Commons
// file search (namespace 6, with imageinfo) for auxiliary images.
import { z } from 'zod';
import type { Query } from '../../storage/index.js';
import { getJson, type ApiClientOptions } from './api-client.js';
import { plainText, type SearchKind, type SearchProvider, type SearchResult } from './types.js';

const PageSearch = z.object({
  query: z.object({ search: z.array(z.object({ title: z.string(), snippet: z.string().optional() })) }).optional(),
});

const FileSearch = z.object({
  query: z
    .object({
      pages: z.record(
        z.string(),
        z.object({
          title: z.string(),
          index: z.number().optional(),
          imageinfo: z.array(z.object({ url: z.string(), thumburl: z.string().optional(), descriptionurl: z.string().optional() })).optional(),
        }),
      ),
    })
    .optional(),
});

/** `https://en.wikipedia.org/w/api.php` → `https://en.wikipedia.org/wiki/Title`. */
export function articleUrl(apiUrl: string, title: string): string {
  const base = new URL(apiUrl);
  return `${base.origin}/wiki/${encodeURIComponent(title.replace(/ /g, '_')).replace(/%2F/g, '/')}`;
}

export class WikipediaSearch implements SearchProvider {
  readonly name = 'wikipedia';

  constructor(
    private readonly wikipediaUrl: string,
    private readonly commonsUrl: string,
    private readonly client: ApiClientOptions,
  ) {}

  async search(query: Query, { kind, limit }: { kind: SearchKind; limit: number }): Promise<SearchResult[]> {
    if (limit === 0) return [];
    return kind === 'web' ? this.pages(query.query, limit) : this.images(query.query, limit);
  }

  private async pages(text: string, limit: number): Promise<SearchResult[]> {
    const url = new URL(this.wikipediaUrl);
    url.search = new URLSearchParams({ action: 'query', list: 'search', srsearch: text, srlimit: String(limit), srprop: 'snippet', format: 'json', formatversion: '2' }).toString();
    const body = await getJson('wikipedia', url, PageSearch, this.client);
    return (body.query?.search ?? []).slice(0, limit).map((hit) => ({
      url: articleUrl(this.wikipediaUrl, hit.title),
      title: hit.title,
      snippet: plainText(hit.snippet),
    }));
  }

  private async images(text: string, limit: number): Promise<SearchResult[]> {
    const url = new URL(this.commonsUrl);
    url.search = new URLSearchParams({
      action: 'query',
      generator: 'search',
      gsrsearch: `filetype:bitmap ${text}`,
      gsrnamespace: '6',
      gsrlimit: String(limit),
      prop: 'imageinfo',
      iiprop: 'url',
      iiurlwidth: '1024',
      format: 'json',
    }).toString();
    const body = await getJson('wikimedia-commons', url, FileSearch, this.client);
    return Object.values(body.query?.pages ?? {})
      .sort((a, b) => (a.index ?? 0) - (b.index ?? 0))
      .flatMap((page) => {
        const info = page.imageinfo?.[0];
        if (!info) return [];
        return [{ url: info.thumburl ?? info.url, title: page.title.replace(/^File:/, ''), sourcePageUrl: info.descriptionurl }];
      })
      .slice(0, limit);
  }
}
