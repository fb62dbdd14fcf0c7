// Fetches images once: deduplicated by URL (a stored successful Fetch, or one already in flight in
// this run) and by content (sha256 of the bytes is the Image id, so identical bytes are one Image).
// The type is sniffed from the bytes; size, time and retries are bounded. Failures come back as
// Fetch records with their reason, never as exceptions.
import { setTimeout as sleep } from 'node:timers/promises';
import type { StageCounts } from '../../src/core/stage.js';
import { imageFetchIdOf, sha256Hex, type CorpusStore, type Fetch, type Image, type StoreBatch } from '../../storage/index.js';
import type { RobotsCache } from '../net/robots.js';
import { readBody, safeFetch, type SafeFetchOptions } from '../net/safe-http.js';
import { sniffImageType } from '../net/sniff.js';
import { failureOf, settleFailure } from './failure.js';

export interface ImageFetchOutcome {
  fetch: Fetch;
  /** Set when the bytes are an image; `image`/`bytes` only when this call fetched them. */
  imageId?: string;
  image?: Image;
  bytes?: Buffer;
  /** True when the URL was already fetched (stored or earlier in this run). */
  reused: boolean;
  /** A transient failure below `maxAttempts`: its query stays open so the next run fetches it again. */
  retryLater?: boolean;
}

export interface ImageFetcherOptions {
  fetch: SafeFetchOptions;
  robots?: RobotsCache;
  maxRetries: number;
  /** Attempts across runs after which a transient failure is final. */
  maxAttempts: number;
  retryBaseMs?: number;
}


/**
 * Adds what one use of an image (occurrence `occurrenceId`) makes of its fetch outcome to `batch`:
 * the image's link to the occurrence, the Fetch record (a reused outcome was written by its first
 * caller), and the image with its bytes when this call fetched them. Counts it under `label`:
 * `<label>s-ok`, or dropped with the fetch's reason.
 */
export function putImageOutcome(batch: StoreBatch, outcome: ImageFetchOutcome, occurrenceId: string, counts: StageCounts, label: 'page-image' | 'aux-image'): void {
  if (outcome.imageId) batch.link('image-occurrences', outcome.imageId, occurrenceId);
  if (!outcome.reused) batch.put('fetches', outcome.fetch);
  if (outcome.image && outcome.bytes) {
    batch.putBlob(outcome.bytes).put('images', outcome.image);
    counts.add('images-stored');
  }
  if (outcome.imageId) counts.add(`${label}s-ok`);
  else if (outcome.retryLater) counts.fail(`${label}-${outcome.fetch.reason ?? 'failed'}`);
  else counts.drop(`${label}-${(outcome.fetch.reason ?? 'failed').split(/[: ]/)[0]}`);
}

export class ImageFetcher {
  private readonly inFlight = new Map<string, Promise<ImageFetchOutcome>>();
  /**
   * Finished outcomes, as plain objects: a promise made inside a Crawlee handler carries that
   * handler's async context (and through it the page's DOM), so none is kept past its fetch.
   */
  private readonly done = new Map<string, { fetch: Fetch; imageId?: string }>();

  constructor(
    private readonly store: CorpusStore,
    private readonly options: ImageFetcherOptions,
  ) {}

  /** The outcome for `url`; the first caller in a run gets the bytes to store, later callers reuse its id. */
  async fetch(url: string): Promise<ImageFetchOutcome> {
    const known = this.done.get(url);
    if (known) return { ...known, reused: true };
    const pending = this.inFlight.get(url);
    if (pending) {
      const first = await pending;
      return { fetch: first.fetch, imageId: first.imageId, reused: true };
    }
    const work = this.fetchOnce(url);
    this.inFlight.set(url, work);
    try {
      const outcome = await work;
      // Keep only the small records; the bytes go out with the first caller's batch.
      this.done.set(url, { fetch: outcome.fetch, imageId: outcome.imageId });
      return outcome;
    } finally {
      this.inFlight.delete(url);
    }
  }

  private async fetchOnce(url: string): Promise<ImageFetchOutcome> {
    const id = imageFetchIdOf(url);
    const stored = await this.store.get('fetches', id);
    if (stored?.outcome === 'ok' && stored.sha256 && (await this.store.has('images', stored.sha256))) {
      return { fetch: stored, imageId: stored.sha256, reused: true };
    }
    const at = (): string => new Date().toISOString();
    if (this.options.robots && !(await this.options.robots.isAllowed(url))) {
      return { fetch: { id, url, kind: 'image', outcome: 'skipped', reason: 'robots-disallowed', at: at() }, reused: false };
    }
    const maxAttempts = this.options.maxRetries + 1;
    const earlier = stored?.outcome === 'failed' ? (stored.attempts ?? 0) : 0;
    const failed = (fields: Omit<Fetch, 'id' | 'url' | 'kind' | 'outcome' | 'at' | 'reason' | 'attempts'>, reason: string, attempt: number): ImageFetchOutcome => {
      const settled = settleFailure(reason, fields.httpStatus, earlier + attempt, this.options.maxAttempts);
      return { fetch: { id, url, kind: 'image', outcome: 'failed', ...fields, reason: settled.reason, attempts: settled.attempts, at: at() }, reused: false, retryLater: settled.retryLater };
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await safeFetch(url, this.options.fetch);
        const bytes = await readBody(response.body);
        const headerType = String(response.headers['content-type'] ?? '') || undefined;
        if (response.statusCode >= 500 && attempt < maxAttempts) {
          await sleep((this.options.retryBaseMs ?? 250) * 2 ** (attempt - 1));
          continue;
        }
        if (response.statusCode !== 200) {
          return failed({ httpStatus: response.statusCode, contentType: headerType, finalUrl: response.url }, `http-${response.statusCode}`, attempt);
        }
        const mime = sniffImageType(bytes);
        if (!mime) {
          return {
            fetch: { id, url, kind: 'image', outcome: 'skipped', httpStatus: 200, reason: `not-an-image (declared ${headerType ?? 'no type'})`, contentType: headerType, finalUrl: response.url, bytes: bytes.length, attempts: attempt, at: at() },
            reused: false,
          };
        }
        const sha = sha256Hex(bytes);
        const fetchedAt = at();
        const known = await this.store.has('images', sha);
        return {
          fetch: { id, url, kind: 'image', outcome: 'ok', httpStatus: 200, contentType: mime, finalUrl: response.url, bytes: bytes.length, sha256: sha, attempts: attempt, at: fetchedAt },
          imageId: sha,
          image: known ? undefined : { id: sha, bytes: bytes.length, mime, firstUrl: url, fetchedAt },
          bytes: known ? undefined : bytes,
          reused: false,
        };
      } catch (error) {
        const failure = failureOf(error);
        if (failure.retryable && attempt < maxAttempts) {
          await sleep((this.options.retryBaseMs ?? 250) * 2 ** (attempt - 1));
          continue;
        }
        if (failure.outcome === 'failed') return failed({ httpStatus: failure.httpStatus }, failure.reason, attempt);
        return { fetch: { id, url, kind: 'image', outcome: failure.outcome, reason: failure.reason, httpStatus: failure.httpStatus, attempts: attempt, at: at() }, reused: false };
      }
    }
  }
}
