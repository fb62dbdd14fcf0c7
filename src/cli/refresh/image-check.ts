// The images of a refresh, each URL asked once per run: with a conditional GET when the crawl
// stored its fetch, a plain GET for a URL new to the store. New bytes become a new Image (content-
// addressed: the old one and its blob stay, so the previous bytes are still there by their sha).
import { refetch } from '../../../crawlers/refresh/refetch.js';
import { sniffImageType } from '../../../crawlers/net/sniff.js';
import type { SafeFetchOptions } from '../../../crawlers/net/safe-http.js';
import { imageFetchIdOf, sha256Hex, type CorpusStore, type Fetch, type Image } from '../../../storage/index.js';

export interface ImageState {
  /** The image the URL now holds (undefined when it never could be fetched). */
  imageId?: string;
  /** The image it held before, when the bytes changed. */
  previousImageId?: string;
  /** What to write for it (a new Fetch, a new Image with its bytes), once per run. */
  fetch?: Fetch;
  image?: Image;
  bytes?: Buffer;
  failed?: string;
}

export class ImageCheck {
  private readonly checked = new Map<string, Promise<ImageState>>();
  notModified = 0;

  constructor(
    private readonly store: CorpusStore,
    private readonly options: SafeFetchOptions,
  ) {}

  state(url: string): Promise<ImageState> {
    let found = this.checked.get(url);
    if (!found) {
      found = this.check(url);
      this.checked.set(url, found);
    }
    return found;
  }

  private async check(url: string): Promise<ImageState> {
    const id = imageFetchIdOf(url);
    const stored = await this.store.get('fetches', id);
    const before = stored?.outcome === 'ok' ? stored.sha256 : undefined;
    const answer = await refetch(url, before ? { etag: stored?.etag, lastModified: stored?.lastModified } : {}, this.options);
    if (answer.status === 'not-modified') {
      this.notModified++;
      return { imageId: before };
    }
    if (answer.status !== 'ok') return { imageId: before, failed: answer.reason };
    const mime = sniffImageType(answer.body);
    if (!mime) return { imageId: before, failed: 'not-an-image' };
    const sha = sha256Hex(answer.body);
    const at = new Date().toISOString();
    const fetch: Fetch = { id, url, kind: 'image', outcome: 'ok', httpStatus: 200, contentType: mime, finalUrl: answer.finalUrl, bytes: answer.bytes, sha256: sha, attempts: 1, at, ...answer.validators };
    if (sha === before) return { imageId: sha, fetch };
    const known = await this.store.has('images', sha);
    return {
      imageId: sha,
      previousImageId: before,
      fetch,
      image: known ? undefined : { id: sha, bytes: answer.bytes, mime, firstUrl: url, fetchedAt: at },
      bytes: known ? undefined : answer.body,
    };
  }
}
