// The image half of a crawl-stage run: ONE Crawlee crawler for every page image and auxiliary image
// of every query, beside the page crawler, on the same safe fetch, host limiter and memory bound. A
// page's slot is free once its HTML is stored; its images are requests of their own with Crawlee's
// queue, retries and statistics. It is Crawlee's BasicCrawler, fetching in its handler: an image
// needs none of the HTTP crawler's navigation, content-type and decoding steps, which cost about
// 0.4 ms of the crawl's thread per request (a quarter of an image request's CPU). Each image URL is requested once per run (later uses
// wait for, or reuse, its outcome) and once across runs (a stored image, or a final failure, is
// reused). The type is sniffed from the bytes; the sha256 of the bytes is the Image id. One atomic
// batch writes the Fetch record, the Image and its blob, and every waiting use's occurrence link.
import { BasicCrawler, type RequestQueue } from '@crawlee/cheerio';
import { imageFetchIdOf, sha256Hex, type Fetch, type Image, type Occurrence, type SearchHit, type StoreBatch } from '../../storage/index.js';
import type { StageCounts } from '../../src/core/stage.js';
import { readBody, safeFetch } from '../net/safe-http.js';
import { sniffImageType } from '../net/sniff.js';
import { sharedCrawleeOptions, type CrawlEnv } from './crawlee-options.js';
import { isTransient, retryableStatusError, settleFailure } from './failure.js';
import type { HostFeeder } from './host-feeder.js';
import { CrawlQueue } from './crawl-queue.js';
import type { QueryTracker } from './query-tracker.js';
import { refusalOf } from './refusal.js';
import { validatorsOf } from './validators.js';

/** One place an image is used: a page occurrence, or an auxiliary image (whose search hit gets the image id too). */
export interface ImageUse {
  queryId: string;
  occurrence: Occurrence;
  hit?: SearchHit;
  label: 'page-image' | 'aux-image';
}

/** What a use needs of an image's outcome once it is written. */
interface Settled {
  imageId?: string;
  reason?: string;
  retryLater?: boolean;
}

/** An outcome to write: the Fetch record (unless it is already stored) and the new image's bytes. */
export interface Outcome extends Settled {
  fetch?: Fetch;
  image?: Image;
  bytes?: Buffer;
}

export interface ImageCrawlEnv extends Omit<CrawlEnv, 'chromiumPath'> {
  tracker: QueryTracker;
  feeder: HostFeeder;
}

/**
 * Image URLs whose outcome this run remembers, for the later uses of the same URL; past it the oldest
 * stored ones are read back from the store instead, so the run's memory does not grow with its images.
 */
const REMEMBERED_IMAGES = 5_000;

const IMAGE_ACCEPT = 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8';

export class ImageCrawler {
  /** Uses waiting for an image URL's request, by URL. */
  private readonly waiting = new Map<string, ImageUse[]>();
  /**
   * Outcomes of this run by URL, as plain records, with the write later uses must follow while it
   * runs. No promise is kept past its write: one made inside a Crawlee handler carries that
   * handler's async context (its response and body) for as long as it is referenced.
   */
  private readonly done = new Map<string, { settled: Settled; written?: Promise<void> }>();
  private queue?: CrawlQueue;
  /** Ids of the images this run stored (or is storing). */
  private readonly storedImages = new Set<string>();

  constructor(private readonly env: ImageCrawlEnv) {}

  /** The crawler on its own queue; it waits for requests until stopped. */
  create(queue: RequestQueue) {
    const { config } = this.env;
    this.queue = new CrawlQueue(queue);
    const fetchOptions = { ...this.env.fetchOptions, maxBytes: config.maxImageBytes, headers: { accept: IMAGE_ACCEPT } };
    return new BasicCrawler(
      {
        ...sharedCrawleeOptions(config, queue, config.concurrency, {
          onRetry: () => undefined,
          onFinalFailure: async (request, failure) => {
            if (!this.waiting.has(request.uniqueKey)) return;
            await this.finish(request.uniqueKey, await this.failed(request.uniqueKey, failure.reason, failure.httpStatus, failure.attempts, failure.outcome));
          },
        }),
        requestHandler: async ({ request }) => {
          const url = request.uniqueKey;
          if (!this.waiting.has(url)) {
            this.env.feeder.release(url);
            return;
          }
          const response = await safeFetch(request.url, fetchOptions);
          const status = response.statusCode;
          const retry = retryableStatusError(url, status);
          if (retry) {
            // Crawlee retries it with backoff; the host keeps this request's room meanwhile.
            response.body.resume();
            throw retry;
          }
          // The response is in: the host's room goes to its next request while this image is stored.
          this.env.feeder.release(url);
          const attempts = request.retryCount + 1;
          const declared = String(response.headers['content-type'] ?? '') || undefined;
          if (status !== 200) {
            response.body.resume();
            await this.finish(url, await this.failed(url, `http-${status}`, status, attempts, 'failed', { contentType: declared, finalUrl: response.url }));
            return;
          }
          const bytes = await readBody(response.body);
          await this.finish(url, this.fetched(url, bytes, declared, response.url, attempts, validatorsOf(response.headers)));
        },
      },
      this.env.crawleeConfig,
    );
  }

  /**
   * Asks for the images of `uses` (a page's, say); each use's query waits until it is written. The
   * uses of images this run already has are written together, in one batch.
   */
  async want(uses: ImageUse[]): Promise<void> {
    const known = new Map<string, ImageUse[]>();
    const fresh: string[] = [];
    for (const use of uses) {
      this.env.tracker.add(use.queryId);
      const url = use.occurrence.url;
      const waiting = this.waiting.get(url);
      if (this.done.has(url)) known.set(url, (known.get(url) ?? []).concat(use));
      else if (waiting) waiting.push(use);
      else {
        this.waiting.set(url, [use]);
        fresh.push(url);
      }
    }
    if (fresh.length > 0) void this.request(fresh);
    if (known.size === 0) return;
    const entries = [...known].map(([url, waiting]) => ({ url, entry: this.done.get(url)!, uses: waiting }));
    await Promise.all(entries.map(({ entry }) => entry.written));
    await this.write(entries.map(({ url, entry, uses: waiting }) => ({ url, outcome: entry.settled, uses: waiting })));
  }

  /** Image URLs this run has no outcome for yet: an earlier run's outcome (read for all at once), or a request each. */
  private async request(urls: string[]): Promise<void> {
    let stored: Array<Fetch | undefined>;
    try {
      stored = await this.env.store.getMany('fetches', urls.map(imageFetchIdOf));
    } catch (error) {
      await Promise.all(urls.map((url) => this.queueFailed(url, error as Error)));
      return;
    }
    await Promise.all(
      urls.map(async (url, i) => {
        try {
          const prior = await this.priorOutcome(url, stored[i]);
          if (prior) await this.finish(url, prior);
          else await this.env.feeder.offer(url, url, 'image', () => this.queue!.add({ url, uniqueKey: url }).catch((error: Error) => this.queueFailed(url, error)));
        } catch (error) {
          await this.queueFailed(url, error as Error);
        }
      }),
    );
  }

  /** Nothing is written, so the uses stay open for the next run. */
  private queueFailed(url: string, error: Error): Promise<void> {
    return this.finish(url, { reason: `image-queue: ${error.message}`, retryLater: true });
  }

  /** An outcome that needs no request: an image stored by an earlier run, a final failure, or a refusal. */
  private async priorOutcome(url: string, stored: Fetch | undefined): Promise<Outcome | undefined> {
    const { store, config } = this.env;
    if (stored?.outcome === 'ok' && stored.sha256 && (await store.has('images', stored.sha256))) return { imageId: stored.sha256 };
    const final = stored && stored.outcome !== 'ok' && !(stored.outcome === 'failed' && isTransient(stored.reason, stored.httpStatus) && (stored.attempts ?? 0) < config.maxAttempts);
    if (final) return { reason: stored.reason };
    const refusal = await refusalOf(url, this.env.policy, this.env.robots);
    if (!refusal) return undefined;
    return { reason: refusal.reason, fetch: { id: imageFetchIdOf(url), url, kind: 'image', ...refusal, at: new Date().toISOString() } };
  }

  private async failed(url: string, reason: string, httpStatus: number | undefined, attempts: number, outcome: 'failed' | 'skipped', fields: Partial<Fetch> = {}): Promise<Outcome> {
    const base = { ...fields, id: imageFetchIdOf(url), url, kind: 'image' as const, httpStatus, at: new Date().toISOString() };
    if (outcome === 'skipped') return { reason, fetch: { ...base, outcome, reason, attempts } };
    const earlier = await this.env.store.get('fetches', imageFetchIdOf(url));
    const settled = settleFailure(reason, httpStatus, (earlier?.outcome === 'failed' ? (earlier.attempts ?? 0) : 0) + attempts, this.env.config.maxAttempts);
    return { reason: settled.reason, retryLater: settled.retryLater, fetch: { ...base, outcome, reason: settled.reason, attempts: settled.attempts } };
  }

  private fetched(url: string, bytes: Buffer, declared: string | undefined, finalUrl: string, attempts: number, validators: Partial<Fetch>): Outcome {
    const id = imageFetchIdOf(url);
    const at = new Date().toISOString();
    const mime = sniffImageType(bytes);
    if (!mime) {
      const reason = `not-an-image (declared ${declared ?? 'no type'})`;
      return { reason, fetch: { id, url, kind: 'image', outcome: 'skipped', httpStatus: 200, reason, contentType: declared, finalUrl, bytes: bytes.length, attempts, at } };
    }
    const sha = sha256Hex(bytes);
    return {
      imageId: sha,
      fetch: { id, url, kind: 'image', outcome: 'ok', httpStatus: 200, contentType: mime, finalUrl, bytes: bytes.length, sha256: sha, attempts, at, ...validators },
      image: { id: sha, bytes: bytes.length, mime, firstUrl: url, fetchedAt: at },
      bytes,
    };
  }

  /** Writes `url`'s outcome for every use waiting on it; later uses of this run follow that write. */
  private async finish(url: string, outcome: Outcome): Promise<void> {
    const uses = this.waiting.get(url) ?? [];
    this.waiting.delete(url);
    this.env.feeder.release(url);
    const entry: { settled: Settled; written?: Promise<void> } = { settled: { imageId: outcome.imageId, reason: outcome.reason, retryLater: outcome.retryLater } };
    entry.written = this.write([{ url, outcome, uses }]).finally(() => delete entry.written);
    this.done.set(url, entry);
    if (this.done.size > REMEMBERED_IMAGES) this.forgetOldestStored();
    await entry.written;
  }

  /**
   * Forgets the oldest image URL that brought an image and is written: a later use reads it from the
   * store (its Fetch names the image). Failures are kept, so a URL that failed is asked once a run.
   */
  private forgetOldestStored(): void {
    let looked = 0;
    for (const [url, entry] of this.done) {
      if (entry.settled.imageId && !entry.written) {
        this.done.delete(url);
        return;
      }
      if (++looked >= 64) return;
    }
  }

  /** One batch: each outcome's Fetch and new image, and each use's link; then each use is settled for its query. */
  private async write(entries: Array<{ url: string; outcome: Outcome; uses: ImageUse[] }>): Promise<void> {
    const { store, tracker } = this.env;
    const uses = entries.flatMap((entry) => entry.uses);
    try {
      const batch = store.batch();
      for (const { url, outcome, uses: waiting } of entries) {
        // Two URLs may bring the same bytes at once: the first to get here stores them.
        const known = outcome.image !== undefined && (this.storedImages.has(outcome.image.id) || (await store.has('images', outcome.image.id)));
        if (outcome.image) this.storedImages.add(outcome.image.id);
        putImageOutcome(batch, url, known ? { ...outcome, image: undefined, bytes: undefined } : outcome, waiting, (queryId) => tracker.countsOf(queryId));
      }
      await batch.write();
    } catch (error) {
      for (const use of uses) tracker.countsOf(use.queryId)?.fail(`${use.label}-store: ${(error as Error).message}`);
    } finally {
      for (const use of uses) tracker.settle(use.queryId);
    }
  }
}

/**
 * Adds an image URL's outcome to `batch`: its Fetch record, the image with its bytes when new, and
 * each use's link to it. Each use is counted under its label (`<label>s-ok`, or dropped or failed
 * with the reason) only once the batch is written: counts say only what was stored.
 */
export function putImageOutcome(batch: StoreBatch, url: string, outcome: Outcome, uses: ImageUse[], countsOf: (queryId: string) => StageCounts | undefined): void {
  if (outcome.fetch) batch.put('fetches', outcome.fetch);
  if (outcome.image && outcome.bytes) {
    batch.putBlob(outcome.bytes, outcome.imageId).put('images', outcome.image);
    if (uses[0]) batch.afterWrite(() => countsOf(uses[0]!.queryId)?.add('images-stored'));
  }
  for (const use of uses) {
    if (outcome.imageId) {
      batch.link('image-occurrences', outcome.imageId, use.occurrence.id).put('occurrences', { ...use.occurrence, imageId: outcome.imageId });
      if (use.hit) batch.put('hits', { ...use.hit, imageId: outcome.imageId });
    }
    const reason = outcome.reason ?? 'failed';
    batch.afterWrite(() => {
      const counts = countsOf(use.queryId);
      if (outcome.imageId) counts?.add(`${use.label}s-ok`);
      else if (outcome.retryLater) counts?.fail(`${use.label}-${reason}: ${url}`);
      else counts?.drop(`${use.label}-${reason.split(/[: ]/)[0]}`);
    });
  }
}
