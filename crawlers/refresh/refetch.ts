// The fetches of `m2rag refresh`: every stored page and image URL asked again with a conditional
// GET (If-None-Match / If-Modified-Since from the validators the crawl stored), through the
// crawler's own safe HTTP client, so the same URL policy, host limits and byte caps hold. A 304
// costs no body; 404 and 410 mean the URL is gone.
import type { Config } from '../../src/core/config.js';
import { HostLimiter } from '../net/host-limiter.js';
import { readBody, safeFetch, type SafeFetchOptions } from '../net/safe-http.js';
import { UrlPolicy } from '../net/url-policy.js';
import { failureOf } from '../fetch/failure.js';
import { conditionalHeaders, validatorsOf, type Validators } from '../fetch/validators.js';

export type Refetched =
  | { status: 'not-modified' }
  | { status: 'ok'; body: Buffer; contentType: string; finalUrl: string; validators: Validators; bytes: number }
  | { status: 'gone'; reason: string }
  | { status: 'failed'; reason: string };

/** The crawl's fetch settings (crawl-stage.ts makes the same), for pages (`maxPageBytes`) or images. */
export function refreshFetchOptions(config: Config['crawl'], kind: 'page' | 'image'): SafeFetchOptions {
  return {
    policy: new UrlPolicy({ allowPrivate: config.allowPrivate, trustedOrigins: config.site ? [config.site] : [] }),
    limiter: new HostLimiter(config.perDomainConcurrency, config.perDomainDelayMs),
    timeoutMs: config.requestTimeoutSecs * 1000,
    maxBytes: kind === 'page' ? config.maxPageBytes : config.maxImageBytes,
    userAgent: config.userAgent,
  };
}

/** One conditional GET of `url`; never throws (a failure comes back with its reason). */
export async function refetch(url: string, stored: Validators, options: SafeFetchOptions): Promise<Refetched> {
  try {
    const response = await safeFetch(url, { ...options, headers: { ...options.headers, ...conditionalHeaders(stored) } });
    const status = response.statusCode;
    if (status === 304) {
      response.body.resume();
      return { status: 'not-modified' };
    }
    const body = await readBody(response.body);
    if (status === 404 || status === 410) return { status: 'gone', reason: `http-${status}` };
    if (status < 200 || status >= 300) return { status: 'failed', reason: `http-${status}` };
    const contentType = String(response.headers['content-type'] ?? '').split(';')[0]!.trim();
    return { status: 'ok', body, contentType, finalUrl: response.url, validators: validatorsOf(response.headers), bytes: body.length };
  } catch (error) {
    const failure = failureOf(error);
    if (failure.httpStatus === 404 || failure.httpStatus === 410) return { status: 'gone', reason: `http-${failure.httpStatus}` };
    return { status: 'failed', reason: failure.reason };
  }
}
