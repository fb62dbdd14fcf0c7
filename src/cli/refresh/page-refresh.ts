// One page of a refresh: asked again with a conditional GET, its main text (extracted as the
// process-text stage extracts it, so markup noise is no change) and the set and bytes of its images
// compared with what is stored, and, when it changed or is gone, rewritten in ONE atomic batch with
// its change records and the cleared markers of every query on it, so a kill leaves the page either
// wholly refreshed (and its queries due for processing) or untouched.
import * as cheerio from 'cheerio';
import type { Config } from '../../core/config.js';
import { stageDependencies } from '../../core/stages.js';
import { findPageImages, pageOccurrenceOf } from '../../core/markup/page-images.js';
import { refetch } from '../../../crawlers/refresh/refetch.js';
import type { SafeFetchOptions } from '../../../crawlers/net/safe-http.js';
import { extractMainContent } from '../../../processors/text/extract.js';
import { changeIdOf, type CorpusStore, type Occurrence, type Page, type StoreBatch } from '../../../storage/index.js';
import type { ImageCheck, ImageState } from './image-check.js';

export type PageOutcome = 'same' | 'changed' | 'removed' | 'failed';

export interface PageRefreshEnv {
  store: CorpusStore;
  config: Config;
  version: number;
  fetchOptions: SafeFetchOptions;
  images: ImageCheck;
  /** The queries each page belongs to. */
  queriesOf: Map<string, string[]>;
}

/** The stages whose work for a query is stale once one of its pages changed: every one after the crawl. */
const STALE_STAGES = stageDependencies('crawl').invalidates;

function mainText(html: string | undefined): string {
  if (html === undefined) return '';
  try {
    return extractMainContent(html).text;
  } catch {
    return '';
  }
}

async function storedOccurrences(store: CorpusStore, pageId: string): Promise<Occurrence[]> {
  const found = await store.getMany('occurrences', await store.related('page-occurrences', pageId));
  return found.filter((o): o is Occurrence => o !== undefined).sort((a, b) => a.index - b.index);
}

interface Fresh {
  html?: string;
  page: Page;
  occurrences: Occurrence[];
}

export async function refreshPage(env: PageRefreshEnv, page: Page, counts: Record<string, number>): Promise<PageOutcome> {
  const { store, version } = env;
  const answer = await refetch(page.url, { etag: page.etag, lastModified: page.lastModified }, env.fetchOptions);
  const before = await storedOccurrences(store, page.id);
  const storedHtml = await store.getHtml(page.id);
  if (answer.status === 'failed' || (answer.status === 'ok' && !/html/i.test(answer.contentType))) {
    const reason = answer.status === 'failed' ? answer.reason : `not-html: ${answer.contentType}`;
    counts[`failed:${reason.split(/[: ]/)[0]}`] = (counts[`failed:${reason.split(/[: ]/)[0]}`] ?? 0) + 1;
    return 'failed';
  }
  const batch = store.batch();
  if (answer.status === 'gone') {
    batch.put('pages', { ...page, removed: { version, reason: answer.reason } });
    batch.put('changes', { id: changeIdOf(version, 'page', page.url), version, kind: 'page', label: 'removed', url: page.url, pageId: page.id, previousText: mainText(storedHtml), previousImageUrls: before.map((o) => o.url), reason: answer.reason });
    await commit(env, batch, page.id);
    return 'removed';
  }
  if (answer.status === 'not-modified') counts.notModified = (counts.notModified ?? 0) + 1;
  const fresh: Fresh = answer.status === 'ok' ? freshPage(env, page, answer.body.toString('utf8'), answer.finalUrl, answer.validators) : { page, occurrences: before };
  const states = new Map<string, ImageState>();
  for (const occurrence of fresh.occurrences) states.set(occurrence.url, await env.images.state(occurrence.url));
  const occurrences = fresh.occurrences.map((o) => ({ ...o, imageId: states.get(o.url)?.imageId }));
  const previousText = fresh.html === undefined ? undefined : mainText(storedHtml);
  const text = fresh.html === undefined ? undefined : mainText(fresh.html);
  const sameImages = occurrences.length === before.length && occurrences.every((o, k) => o.url === before[k]!.url && o.imageId === before[k]!.imageId);
  if (text === previousText && sameImages) return 'same';

  if (fresh.html !== undefined) batch.putHtml(page.id, fresh.html);
  batch.put('pages', fresh.page);
  for (const old of before) {
    if (old.imageId) batch.unlink('image-occurrences', old.imageId, old.id);
    if (old.index >= occurrences.length) batch.del('occurrences', old.id).unlink('page-occurrences', page.id, old.id);
  }
  for (const occurrence of occurrences) {
    batch.put('occurrences', occurrence).link('page-occurrences', page.id, occurrence.id);
    if (occurrence.imageId) batch.link('image-occurrences', occurrence.imageId, occurrence.id);
  }
  for (const [url, state] of states) {
    if (state.fetch) batch.put('fetches', state.fetch);
    if (state.image && state.bytes) batch.putBlob(state.bytes).put('images', state.image);
    if (state.previousImageId && state.imageId !== state.previousImageId) {
      batch.put('changes', { id: changeIdOf(version, 'image', url), version, kind: 'image', label: 'changed', url, previousImageId: state.previousImageId, imageId: state.imageId });
    }
  }
  const unchangedText = storedHtml === undefined ? '' : mainText(storedHtml);
  batch.put('changes', {
    id: changeIdOf(version, 'page', page.url),
    version,
    kind: 'page',
    label: 'changed',
    url: page.url,
    pageId: page.id,
    previousText: previousText ?? unchangedText,
    text: text ?? unchangedText,
    previousImageUrls: before.map((o) => o.url),
    imageUrls: occurrences.map((o) => o.url),
  });
  await commit(env, batch, page.id);
  return 'changed';
}

/** The page as fetched now: its HTML marked for the image contract, its record, its occurrences (image ids filled in later). */
function freshPage(env: PageRefreshEnv, page: Page, body: string, finalUrl: string, validators: { etag?: string; lastModified?: string }): Fresh {
  const $ = cheerio.load(body);
  const scan = findPageImages($, finalUrl, env.config.crawl.limits);
  const html = $.html();
  const { etag: _etag, lastModified: _lastModified, ...rest } = page;
  return {
    html,
    page: { ...rest, ...validators, finalUrl, fetchedAt: new Date().toISOString(), htmlBytes: Buffer.byteLength(html), title: $('title').first().text().trim() || undefined },
    occurrences: scan.images.map((image) => pageOccurrenceOf(page.id, image, undefined)),
  };
}

/** Commits the page's batch with the markers of its queries cleared, so the later stages redo exactly those queries. */
async function commit(env: PageRefreshEnv, batch: StoreBatch, pageId: string): Promise<void> {
  for (const queryId of env.queriesOf.get(pageId) ?? []) for (const stage of STALE_STAGES) batch.clearStageDone(stage, queryId);
  await batch.write();
}
