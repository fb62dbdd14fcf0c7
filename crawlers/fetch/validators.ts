// A response's cache validators (ETag, Last-Modified): stored with what the crawl fetched, and sent
// back by `m2rag refresh` as If-None-Match / If-Modified-Since, so an unchanged URL costs no body.
import type { IncomingHttpHeaders } from 'node:http';

export interface Validators {
  etag?: string;
  lastModified?: string;
}

function first(value: string | string[] | undefined): string | undefined {
  return (Array.isArray(value) ? value[0] : value) || undefined;
}

export function validatorsOf(headers: IncomingHttpHeaders): Validators {
  const found: Validators = {};
  const etag = first(headers.etag);
  const lastModified = first(headers['last-modified']);
  if (etag) found.etag = etag;
  if (lastModified) found.lastModified = lastModified;
  return found;
}

/** The conditional-request headers for what was stored (none when nothing was). */
export function conditionalHeaders(stored: Validators): Record<string, string> {
  const headers: Record<string, string> = {};
  if (stored.etag) headers['if-none-match'] = stored.etag;
  if (stored.lastModified) headers['if-modified-since'] = stored.lastModified;
  return headers;
}
