// The per-page logic of the page crawler: what a fetched request brings is stored in one atomic
// batch (the page, its HTML, its image occurrences and the Fetch records of every URL that led to
// it), or recorded as a Fetch outcome with its reason: ok, failed or skipped; past the caps of
// `crawl.limits` a page is skipped or truncated, as its Fetch says. The page's images are not
// fetched here: its occurrences come back as image uses for the image crawler, so the page's slot
// is free as soon as its HTML is stored.
import type { Config } from '../../src/core/config.js';
import { StageCounts } from '../../src/core/stage.js';
import { pageFetchIdOf, pageIdOf, type CorpusStore, type Fetch, type Occurrence, type SearchHit, type StoreBatch } from '../../storage/index.js';
import { pageOccurrenceOf } from '../../src/core/markup/page-images.js';
import type { RobotsCache } from '../net/robots.js';
import type { UrlPolicy } from '../net/url-policy.js';
import { replayCounts } from '../counts.js';
import { settleFailure } from './failure.js';
import type { FetchedPage, PageRequestData } from './fetched-page.js';
import type { ImageUse } from './image-crawler.js';
import type { ParsedPage } from './page-parse.js';
import type { PageParsePool } from './page-parse-pool.js';
import type { QueryTracker } from './query-tracker.js';
import { refusalOf, type Refusal } from './refusal.js';

const MAX_META_REDIRECTS = 10;

/** One attempt at a request; Crawlee abandons it when its handler times out, and then it must write nothing. */
export type Attempt = { abandoned: boolean };

export interface PageStoreEnv {
  store: CorpusStore;
  config: Config['crawl'];
  policy: UrlPolicy;
  robots?: RobotsCache;
  tracker: QueryTracker;
  parser: PageParsePool;
}

type FetchFields = Omit<Fetch, 'id' | 'url' | 'kind'>;

/** Fetch records for the requested URL and every URL that redirected to it. */
function putFetches(batch: StoreBatch, data: PageRequestData, url: string, record: FetchFields): void {
  for (const u of [...data.via, url]) batch.put('fetches', { id: pageFetchIdOf(u), url: u, kind: 'page', ...record });
}

export class PageStore {
  /** The hits of the requests in flight, by id: the page's batch puts its hit with the page's id without reading it back. */
  private readonly hits = new Map<string, SearchHit>();
  /**
   * The last store of each page id in flight. Two URLs with one canonical page (aliases, a hit of
   * two queries) may be fetched at once; each stores after the one before it, so the second finds
   * the page stored and is counted a duplicate instead of writing it again over the first.
   */
  private readonly pageTurns = new Map<string, Promise<void>>();

  constructor(private readonly env: PageStoreEnv) {}

  /** Keeps `hit` at hand until `forget` (its request settled); a request without it reads the hit from the store. */
  remember(hit: SearchHit): void {
    this.hits.set(hit.id, hit);
  }

  forget(hitId: string): void {
    this.hits.delete(hitId);
  }

  /** The image uses a stored page still waits for: its occurrences without an image (after an interrupted run). */
  async openImageUsesOf(queryId: string, pageId: string): Promise<ImageUse[]> {
    const ids = await this.env.store.related('page-occurrences', pageId);
    const occurrences = await this.env.store.getMany('occurrences', ids);
    return occurrences.filter((o): o is Occurrence => o !== undefined && !o.imageId).map((occurrence) => ({ queryId, occurrence, label: 'page-image' }));
  }

  /** Stores what a fetched request brought; returns the image uses of a newly stored (or already stored) page. */
  async store(queryId: string, counts: StageCounts, page: FetchedPage, attempt: Attempt): Promise<ImageUse[]> {
    const data = page.request.userData;
    const url = page.request.url;
    const at = new Date().toISOString();
    const base = { httpStatus: page.status, contentType: page.contentType, finalUrl: page.finalUrl, attempts: page.attempts, at };
    if (page.status >= 400 || page.status === 0) return this.unstored(counts, data, url, { ...base, outcome: 'failed', reason: `http-${page.status}` });
    if (!/html/i.test(page.contentType)) return this.unstored(counts, data, url, { ...base, outcome: 'skipped', reason: `not-html: ${page.contentType}` });
    const parsed = await this.env.parser.parse({ body: page.body, charset: page.charset, finalUrl: page.finalUrl, limits: this.env.config.limits });
    if (attempt.abandoned) return [];
    if (parsed.kind === 'skip') return this.unstored(counts, data, url, { ...base, outcome: 'skipped', reason: parsed.reason });
    if (parsed.kind === 'refresh') {
      await this.followRefresh(counts, page, data, parsed.target, base);
      return [];
    }
    const pageId = pageIdOf(parsed.canonicalUrl);
    const before = this.pageTurns.get(pageId);
    let done!: () => void;
    const turn = new Promise<void>((resolve) => (done = resolve));
    this.pageTurns.set(pageId, turn);
    try {
      await before;
      return await this.storePage(queryId, counts, page, attempt, { parsed, pageId, at, base });
    } finally {
      done();
      if (this.pageTurns.get(pageId) === turn) this.pageTurns.delete(pageId);
    }
  }

  /** Stores a parsed page under `pageId` (its turn for that id), or counts it a duplicate when it is stored already. */
  private async storePage(
    queryId: string,
    counts: StageCounts,
    page: FetchedPage,
    attempt: Attempt,
    { parsed, pageId, at, base }: { parsed: Extract<ParsedPage, { kind: 'page' }>; pageId: string; at: string; base: Omit<FetchFields, 'outcome'> },
  ): Promise<ImageUse[]> {
    const { store } = this.env;
    const data = page.request.userData;
    const url = page.request.url;
    if (attempt.abandoned) return [];
    const hit = this.hits.get(data.hitId) ?? (await store.get('hits', data.hitId));
    const batch = store.batch().link('query-pages', queryId, pageId);
    if (hit) batch.put('hits', { ...hit, pageId });
    if (await store.has('pages', pageId)) {
      // Another URL (a redirect, an alias) already brought this page: it is stored once.
      putFetches(batch, data, url, { ...base, outcome: 'ok', pageId });
      await batch.write();
      counts.add('pages-duplicate-canonical');
      return this.openImageUsesOf(queryId, pageId);
    }
    // Counted aside until the batch is written: counts say only what was stored.
    const pageCounts = new StageCounts();
    const occurrences = this.addPage(pageCounts, batch, parsed, { pageId, url, page, at });
    if (attempt.abandoned) return [];
    const { truncated } = parsed;
    putFetches(batch, data, url, { ...base, outcome: 'ok', pageId, ...(truncated.length > 0 ? { reason: `truncated: ${truncated.join('; ')}` } : {}) });
    await batch.write();
    replayCounts(pageCounts, counts);
    counts.add('pages-stored');
    if (truncated.length > 0) counts.add('pages-truncated');
    return occurrences.map((occurrence) => ({ queryId, occurrence, label: 'page-image' }));
  }

  private async followRefresh(counts: StageCounts, page: FetchedPage, data: PageRequestData, target: string, base: Omit<FetchFields, 'outcome'>): Promise<void> {
    const via = [...data.via, page.request.url];
    let failure: Refusal | undefined;
    if (via.includes(target) || via.length > MAX_META_REDIRECTS) failure = { outcome: 'failed', reason: 'redirect-loop' };
    else failure = await refusalOf(target, this.env.policy, this.env.robots);
    if (failure) {
      await this.unstored(counts, data, page.request.url, { ...base, ...failure, reason: `meta-refresh to ${target}: ${failure.reason}` }, failure.reason);
      return;
    }
    // A distinct unique key: the target may also be a hit of its own, and both must be answered.
    this.env.tracker.add(data.queryId);
    await page.enqueue({ url: target, uniqueKey: `${data.queryId} ${target} via ${page.request.url}`, userData: { queryId: data.queryId, hitId: data.hitId, via } });
    counts.add('meta-refresh-followed');
  }

  /**
   * Records a URL that brought no page: its Fetch outcome (and that of the URLs that redirected to
   * it), counted under the part of its reason before the first ':'. A transient failure counts its
   * attempts across runs; below `crawl.maxAttempts` it fails the query (left open for the next run),
   * after that it is final and dropped like any other.
   */
  async unstored(counts: StageCounts, data: PageRequestData, url: string, record: FetchFields, countAs?: string): Promise<ImageUse[]> {
    let reason = countAs ?? record.reason ?? 'failed';
    let retryLater = false;
    if (record.outcome === 'failed') {
      const earlier = await this.env.store.get('fetches', pageFetchIdOf(url));
      const attempts = (earlier?.outcome === 'failed' ? (earlier.attempts ?? 0) : 0) + (record.attempts ?? 1);
      const settled = settleFailure(record.reason ?? 'failed', record.httpStatus, attempts, this.env.config.maxAttempts);
      record = { ...record, reason: settled.reason, attempts: settled.attempts };
      if (!countAs) reason = settled.reason;
      retryLater = settled.retryLater;
    }
    const batch = this.env.store.batch();
    putFetches(batch, data, url, record);
    await batch.write();
    const key = `page-${reason.split(/[: ]/)[0]}`;
    if (retryLater) counts.fail(`${key}: ${url}`);
    else counts.drop(key);
    return [];
  }

  /** Puts the page and its occurrences (images to come) in the batch. */
  private addPage(
    counts: StageCounts,
    batch: StoreBatch,
    parsed: Extract<ParsedPage, { kind: 'page' }>,
    { pageId, url, page, at }: { pageId: string; url: string; page: FetchedPage; at: string },
  ): Occurrence[] {
    const { scan } = parsed;
    for (const skipped of scan.skipped) counts.drop(`img-${skipped.reason}`);
    const occurrences = scan.images.map((image) => pageOccurrenceOf(pageId, image, undefined));
    for (const occurrence of occurrences) batch.put('occurrences', occurrence).link('page-occurrences', pageId, occurrence.id);
    counts.add('occurrences', scan.images.length);
    if (scan.beyondCaps > 0) counts.drop('occurrences-beyond-caps', scan.beyondCaps);
    batch.putHtml(pageId, parsed.html, parsed.htmlSha256).put('pages', {
      id: pageId,
      url,
      finalUrl: page.finalUrl,
      canonicalUrl: parsed.canonicalUrl,
      httpStatus: page.status,
      contentType: page.contentType,
      fetchedAt: at,
      htmlBytes: parsed.html.byteLength,
      rendered: page.rendered,
      title: parsed.title,
      ...page.validators,
    });
    return occurrences;
  }
}
