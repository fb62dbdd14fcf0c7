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
  rendered: boolean;
  attempts: number;
  enqueue(request: RequestOptions<PageRequestData>): Promise<void>;
}
