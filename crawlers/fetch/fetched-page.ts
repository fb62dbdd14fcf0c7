// What the HTTP and the browser crawler hand the per-page logic: one fetched request, already parsed.
import type { CheerioAPI } from 'cheerio';
import type { Request, RequestOptions } from '@crawlee/core';

export interface PageRequestData {
  queryId: string;
  hitId: string;
  /** URLs that led here through meta-refresh redirects, oldest first (all get this page's Fetch outcome). */
  via: string[];
}

export interface FetchedPage {
  request: Request<PageRequestData>;
  status: number;
  finalUrl: string;
  contentType: string;
  /** The parsed DOM (Crawlee's own parse for HTTP pages, so nothing is parsed twice). */
  $: CheerioAPI;
  /** The response text as decoded, when the crawler has it (for the checks on bytes that are not text). */
  body?: string;
  /** The response's ETag and Last-Modified, kept on the Page for `m2rag refresh`'s conditional requests. */
  validators?: { etag?: string; lastModified?: string };
  rendered: boolean;
  attempts: number;
  enqueue(request: RequestOptions<PageRequestData>): Promise<void>;
}
