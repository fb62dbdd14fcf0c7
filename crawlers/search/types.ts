// The one interface every search provider implements: a query in, ranked hits out.
import type { Query } from '../../storage/index.js';

export type SearchKind = 'web' | 'image';

export interface SearchResult {
  url: string;
  title?: string;
  snippet?: string;
  /** For image hits: the page the image was found on. */
  sourcePageUrl?: string;
}

export interface SearchProvider {
  readonly name: string;
  /** Best hits first, at most `limit`. */
  search(query: Query, options: { kind: SearchKind; limit: number }): Promise<SearchResult[]>;
}

/** HTML snippets (MediaWiki, Google) become plain text. */
export function plainText(html: string | undefined): string | undefined {
  if (!html) return undefined;
  const text = html
    .replace(/<[^>]*>/g, '')
    .replace(/&quot;/g, '"')
    .replace(/&#0?39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
  return text || undefined;
}
