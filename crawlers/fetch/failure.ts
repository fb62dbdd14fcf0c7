// Turns any fetch error (ours, Crawlee's, the network's) into the outcome and short reason stored
// on a Fetch record, and says whether another attempt could help.
import { RefusedUrlError } from '../net/url-policy.js';
import { FetchError } from '../net/safe-http.js';

export interface FailureInfo {
  outcome: 'failed' | 'skipped';
  reason: string;
  retryable: boolean;
  httpStatus?: number;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

export function failureOf(error: unknown): FailureInfo {
  if (error instanceof RefusedUrlError) return { outcome: 'failed', reason: `refused: ${error.reason}`, retryable: false };
  if (error instanceof FetchError) return { outcome: 'failed', reason: error.reason, retryable: error.retryable, httpStatus: error.httpStatus };
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const notHtml = /served Content-Type ([^,]+),/.exec(message);
  if (notHtml) return { outcome: 'skipped', reason: `not-html: ${notHtml[1]}`, retryable: false };
  const status = /^(\d{3}) - /.exec(message);
  if (status) return { outcome: 'failed', reason: `http-${status[1]}`, retryable: Number(status[1]) >= 500, httpStatus: Number(status[1]) };
  if (/timed out|timeout/i.test(message)) return { outcome: 'failed', reason: 'timeout', retryable: true };
  if (code === 'ENOTFOUND') return { outcome: 'failed', reason: 'dns-not-found', retryable: false };
  if (code && NETWORK_CODES.has(code)) return { outcome: 'failed', reason: `network: ${code}`, retryable: true };
  return { outcome: 'failed', reason: `error: ${message.split('\n')[0]!.slice(0, 200)}`, retryable: true };
}

/** Whether a recorded failure may pass on a later attempt: network errors, timeouts, 429 and 5xx. */
export function isTransient(reason: string | undefined, httpStatus?: number): boolean {
  if (httpStatus === 429 || (httpStatus !== undefined && httpStatus >= 500)) return true;
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
