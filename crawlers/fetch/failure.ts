// Turns any fetch error (ours, Crawlee's, the network's) into the outcome and short reason stored
// on a Fetch record, and says whether another attempt could help: decided by the error's kind
// (src/core/errors.ts), so only network errors, timeouts, 429 and 5xx are retried; a failure the
// same input always reproduces (a stack overflow, a bad charset) is final at once. Every reason is
// redacted: a key in a URL never reaches a record.
import { errorCodeOf, errorKindOf } from '../../src/core/errors.js';
import { redactSecrets } from '../../storage/index.js';
import { RefusedUrlError } from '../net/url-policy.js';
import { FetchError } from '../net/safe-http.js';

export interface FailureInfo {
  outcome: 'failed' | 'skipped';
  reason: string;
  retryable: boolean;
  httpStatus?: number;
}

// Crawlee reports a wrong content type and an error status as plain Errors; these are its formats.
const CRAWLEE_NOT_HTML = /served Content-Type ([^,]+),/;
const CRAWLEE_STATUS = /^(\d{3}) - /;

/** 429 and 5xx: a status another attempt may not get. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * The error a crawler's handler throws for a response with a retryable status, so Crawlee retries it
 * with backoff and, if no attempt passes, records `http-<status>`; undefined for any other status.
 */
export function retryableStatusError(url: string, status: number): FetchError | undefined {
  return isRetryableStatus(status) ? new FetchError(`http-${status}`, `${url}: HTTP ${status}`, true, status) : undefined;
}

export function failureOf(error: unknown): FailureInfo {
  if (error instanceof RefusedUrlError) return { outcome: 'failed', reason: redactSecrets(`refused: ${error.reason}`), retryable: false };
  if (error instanceof FetchError) return { outcome: 'failed', reason: redactSecrets(error.reason), retryable: error.retryable, httpStatus: error.httpStatus };
  const message = redactSecrets((error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200));
  const notHtml = CRAWLEE_NOT_HTML.exec(message);
  if (notHtml) return { outcome: 'skipped', reason: `not-html: ${notHtml[1]}`, retryable: false };
  const status = CRAWLEE_STATUS.exec(message);
  if (status) return { outcome: 'failed', reason: `http-${status[1]}`, retryable: isRetryableStatus(Number(status[1])), httpStatus: Number(status[1]) };
  const code = errorCodeOf(error);
  switch (errorKindOf(error)) {
    case 'timeout':
      return { outcome: 'failed', reason: 'timeout', retryable: true };
    case 'network':
      return code === 'ENOTFOUND' ? { outcome: 'failed', reason: 'dns-not-found', retryable: false } : { outcome: 'failed', reason: `network: ${code}`, retryable: true };
    default:
      return { outcome: 'failed', reason: `error: ${message}`, retryable: false };
  }
}

/** Whether a recorded failure may pass on a later attempt: network errors, timeouts, 429 and 5xx. */
export function isTransient(reason: string | undefined, httpStatus?: number): boolean {
  if (httpStatus !== undefined && isRetryableStatus(httpStatus)) return true;
  return reason !== undefined && /^(network|timeout|http-429|http-5\d\d)/.test(reason);
}

/**
 * The reason and attempt count a failure is recorded with, and whether its query should stay open
 * for the next run (a transient failure below `maxAttempts` across runs) or it is final.
 */
export function settleFailure(reason: string, httpStatus: number | undefined, attempts: number, maxAttempts: number): { reason: string; attempts: number; retryLater: boolean } {
  if (!isTransient(reason, httpStatus)) return { reason, attempts, retryLater: false };
  if (attempts < maxAttempts) return { reason, attempts, retryLater: true };
  return { reason: `${reason} (final after ${attempts} attempts)`, attempts, retryLater: false };
}
