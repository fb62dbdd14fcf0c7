// The options both crawlers of a run share: one queue each, in memory (the store's hits and Fetch
// records are the resume state), concurrency autoscaled by Crawlee up to `crawl.concurrency` (it
// lowers it near `crawl.memoryMbytes` or a busy CPU), retries with backoff for what may pass on
// another attempt, and one final-failure callback with the outcome to record.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Configuration, Request, RequestQueue } from '@crawlee/core';
import type { Config } from '../../src/core/config.js';
import type { CorpusStore } from '../../storage/index.js';
import type { RobotsCache } from '../net/robots.js';
import type { SafeFetchOptions } from '../net/safe-http.js';
import type { UrlPolicy } from '../net/url-policy.js';
import { failureOf } from './failure.js';

/** What a crawl run hands its crawlers: the store, the settings, and the one client, policy and robots cache they share. */
export interface CrawlEnv {
  store: CorpusStore;
  config: Config['crawl'];
  crawleeConfig: Configuration;
  fetchOptions: SafeFetchOptions;
  policy: UrlPolicy;
  robots?: RobotsCache;
  chromiumPath?: string;
}

/** What a request that Crawlee gave up on is recorded with. */
export interface FinalFailure {
  outcome: 'failed' | 'skipped';
  reason: string;
  httpStatus?: number;
  attempts: number;
}

interface Streamed {
  destroy?: () => void;
  statusCode?: number;
}

/** Crawlee's message when a request handler outlives `requestHandlerTimeoutSecs`. */
const HANDLER_TIMEOUT = /requestHandler timed out/;

export function sharedCrawleeOptions(
  config: Config['crawl'],
  queue: RequestQueue,
  maxConcurrency: number,
  hooks: { onRetry(request: Request): void; onFinalFailure(request: Request, failure: FinalFailure): Promise<void> },
) {
  return {
    requestQueue: queue,
    keepAlive: true,
    maxConcurrency,
    minConcurrency: Math.ceil(maxConcurrency / 2),
    autoscaledPoolOptions: {
      // Start at full width: the per-host limiter, not a slow ramp, is what paces a polite crawl;
      // and a request queued while the pool idles starts within 50 ms, not Crawlee's default 0.5 s poll.
      desiredConcurrency: maxConcurrency,
      maybeRunIntervalSecs: 0.05,
      // Crawlee's CPU signal reads the whole machine, which counts our own page-parsing threads and
      // every other process: on it a crawl that waits on the network, or parses on a second core,
      // would run at its minimum. A busy crawl thread still shows as event-loop lag, and memory
      // near `crawl.memoryMbytes` as memory: those two bound the pools.
      systemStatusOptions: { maxCpuOverloadedRatio: 1 },
    },
    maxRequestRetries: config.maxRetries,
    requestHandlerTimeoutSecs: config.requestTimeoutSecs + 30,
    useSessionPool: false,
    errorHandler: async ({ request, response }: { request: Request; response?: unknown }, error: Error) => {
      (response as Streamed | undefined)?.destroy?.();
      hooks.onRetry(request);
      const failure = failureOf(error);
      // A request that outlived the handler's deadline would do so again: once per run is enough.
      if (!failure.retryable || HANDLER_TIMEOUT.test(error.message)) request.noRetry = true;
      else await sleep(Math.min(250 * 2 ** request.retryCount, 5_000));
    },
    failedRequestHandler: async ({ request, response }: { request: Request; response?: unknown }, error: Error) => {
      const streamed = response as Streamed | undefined;
      streamed?.destroy?.();
      hooks.onRetry(request);
      // An error status outranks Crawlee's complaint about the error page's content type.
      const status = streamed?.statusCode ?? 0;
      const failure = status >= 400 ? { outcome: 'failed' as const, reason: `http-${status}`, httpStatus: status } : failureOf(error);
      await hooks.onFinalFailure(request, { outcome: failure.outcome, reason: failure.reason, httpStatus: failure.httpStatus, attempts: request.retryCount + 1 });
    },
  };
}

/** What the crawlers that navigate (the page crawler, HTTP or browser) add; the image crawler fetches inside its handler. */
export function navigationOptions(config: Config['crawl']) {
  return { navigationTimeoutSecs: config.requestTimeoutSecs + 5, persistCookiesPerSession: false };
}
