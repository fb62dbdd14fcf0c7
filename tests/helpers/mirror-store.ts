// Builds a corpus store from real pages of the Wikipedia mirror (../shared/corpora/wiki-ray-charles)
// exactly as the crawler writes it: the records of storage/schemas.ts and the markup contract of
// src/core/markup/page-images.ts — Query, Page + HTML marked by findPageImages, Occurrence per image
// (pageOccurrenceOf, with imageId once the image's bytes are stored), Image + blob, and the
// query-pages / page-occurrences / image-occurrences indexes. No HTTP: for tests of the stages that
// read a crawled store.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as cheerio from 'cheerio';
import { CORPORA } from './cli.js';
import { findPageImages, pageOccurrenceOf } from '../../src/core/markup/page-images.js';
import { sniffImageType } from '../../crawlers/net/sniff.js';
import { CorpusStore, pageIdOf, queryIdOf, sha256Hex, type StoreBatch } from '../../storage/index.js';

export const MIRROR = path.join(CORPORA, 'wiki-ray-charles');
/** The origin the fixture pretends the mirror was crawled from. */
export const MIRROR_ORIGIN = 'http://mirror.test';

export interface MirrorQuery {
  query: string;
  /** Article file names under A/ (e.g. `Ray_Charles.html`); a redirect stub is served with its target's content under its own name. */
  pages: string[];
}

export interface MirrorPage {
  pageId: string;
  url: string;
  /** The article file whose content the page has (the stub's target for an alias). */
  file: string;
}

const META_REFRESH = /<meta[^>]+http-equiv=["']?refresh["']?[^>]*content=["']?\d+;\s*url=([^"'>]+)/i;

/** The article's HTML, following the mirror's meta-refresh stubs (aliases) to the article they name. */
export async function readMirrorArticle(name: string): Promise<{ file: string; html: string }> {
  let file = name;
  for (let hops = 0; hops < 3; hops++) {
    const html = await readFile(path.join(MIRROR, 'A', file), 'utf8');
    const target = html.length < 1024 ? html.match(META_REFRESH)?.[1] : undefined;
    if (!target) return { file, html };
    file = decodeURIComponent(target);
  }
  throw new Error(`${name}: too many meta-refresh hops`);
}

export interface MirrorPageOptions {
  /** The page's HTML instead of the article's (an edited copy). */
  html?: string;
  /** The URL the page is stored under (default: its path on MIRROR_ORIGIN); its images are served from its origin. */
  url?: string;
  /** Only the images with these file names stay on the page (default: all). */
  only?: string[];
  /** Image file name → other bytes served for it (a near-duplicate re-encoding, for example). */
  replace?: Record<string, Buffer>;
}

/** An image's file name in the mirror's I/m/ folder. */
export function mirrorFileNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/').pop()!);
}

/** The bytes served for an image URL: the mirror's own file when the page's origin serves it, else none (an external image). */
async function mirrorImageBytes(url: string, origin: string, replace: Record<string, Buffer> = {}): Promise<Buffer | undefined> {
  if (!url.startsWith(origin + '/')) return undefined;
  const replaced = replace[mirrorFileNameOf(url)];
  if (replaced) return replaced;
  try {
    return await readFile(path.join(MIRROR, decodeURIComponent(new URL(url).pathname)));
  } catch {
    return undefined;
  }
}

/**
 * Adds an image's fetch to `batch` as the crawler does: an Image (content-addressed, stored once) and
 * its blob when the bytes are an image. Returns the image id, or undefined for bytes that are not one.
 */
export async function putMirrorImage(store: CorpusStore, batch: StoreBatch, written: Set<string>, url: string, bytes: Buffer | undefined, at: string): Promise<string | undefined> {
  const mime = bytes ? sniffImageType(bytes) : undefined;
  if (!bytes || !mime) return undefined;
  const imageId = sha256Hex(bytes);
  if (!written.has(imageId) && !(await store.has('images', imageId))) {
    batch.putBlob(bytes).put('images', { id: imageId, bytes: bytes.length, mime, firstUrl: url, fetchedAt: at });
  }
  written.add(imageId);
  return imageId;
}

/** Writes one page (by URL) with its occurrences and images, as the crawler would, and links it to the query. */
export async function addMirrorPage(store: CorpusStore, queryId: string, name: string, options: MirrorPageOptions = {}): Promise<MirrorPage> {
  const article = options.html === undefined ? await readMirrorArticle(name) : { file: name, html: options.html };
  const url = options.url ?? `${MIRROR_ORIGIN}/A/${encodeURIComponent(name)}`;
  const pageId = pageIdOf(url);
  const at = new Date().toISOString();
  const $ = cheerio.load(article.html);
  if (options.only) {
    const only = options.only;
    $('img').each((_, img) => {
      const src = $(img).attr('src');
      if (!src || !only.includes(mirrorFileNameOf(new URL(src, url).href))) $(img).remove();
    });
  }
  const scan = findPageImages($, url);
  const batch = store.batch().link('query-pages', queryId, pageId);
  const written = new Set<string>();
  for (const image of scan.images) {
    const bytes = await mirrorImageBytes(image.url, new URL(url).origin, options.replace);
    const imageId = await putMirrorImage(store, batch, written, image.url, bytes, at);
    const occurrence = pageOccurrenceOf(pageId, image, imageId);
    batch.put('occurrences', occurrence).link('page-occurrences', pageId, occurrence.id);
    if (imageId) batch.link('image-occurrences', imageId, occurrence.id);
  }
  const marked = $.html();
  batch.putHtml(pageId, marked).put('pages', {
    id: pageId,
    url,
    finalUrl: url,
    httpStatus: 200,
    contentType: 'text/html; charset=utf-8',
    fetchedAt: at,
    htmlBytes: Buffer.byteLength(marked),
    rendered: false,
    title: $('title').first().text().trim() || undefined,
  });
  await batch.write();
  return { pageId, url, file: article.file };
}

/** Stores the queries (marked crawled, as the crawl stage leaves them) and their mirror pages; returns each page by the name it was served under. */
export async function buildMirrorStore(store: CorpusStore, queries: MirrorQuery[]): Promise<Record<string, MirrorPage>> {
  const pages: Record<string, MirrorPage> = {};
  for (const { query, pages: names } of queries) {
    const queryId = queryIdOf(query);
    await store.batch().put('queries', { id: queryId, query, createdAt: new Date().toISOString() }).markStageDone('crawl', queryId).write();
    for (const name of names) pages[name] = await addMirrorPage(store, queryId, name);
  }
  return pages;
}
