// What the HTTP and the browser crawler hand the per-page logic: one fetched request with its text,
// parsed by the per-page logic once it passed the checks on bytes (crawlers/fetch/html.ts).
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
  /** The response's bytes, decoded where the page is parsed; or its text (the browser's serialized DOM for a rendered page). */
  body: Uint8Array | string;
  /** The charset the response's Content-Type header declares, if any. */
  charset?: string;
  /** The response's ETag and Last-Modified, kept on the Page for `m2rag refresh`'s conditional requests. */
  validators?: { etag?: string; lastModified?: string };
  rendered: boolean;
  attempts: number;
  enqueue(request: RequestOptions<PageRequestData>): Promise<void>;
}
