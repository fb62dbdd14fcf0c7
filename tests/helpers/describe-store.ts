// Builds a store the way crawl + process leave it (records per storage/schemas.ts and contracts.md)
// from real pages and images of the wiki-ray-charles mirror, for the describe tests. Image filter
// verdicts are set here (bitmaps kept, drawings/icons dropped), since the describe stage only reads them.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as cheerio from 'cheerio';
import sharp from 'sharp';
import { findPageImages } from '../../src/core/markup/page-images.js';
import { CorpusStore, occurrenceIdOf, pageIdOf, queryIdOf, sha256Hex, type Image, type Occurrence } from '../../storage/index.js';
import { CORPORA } from './cli.js';

export const MIRROR = path.join(CORPORA, 'wiki-ray-charles');
const BASE = 'http://mirror.test/';

export interface FixturePage {
  /** File under A/ of the mirror. */
  file: string;
  /** URL the page is stored under (default: its mirror path). */
  url?: string;
  /** Only these image file names become occurrences (default: all). */
  only?: string[];
  /** Image file name → other bytes served for it (a near-duplicate re-encoding, for example). */
  replace?: Record<string, Buffer>;
}

export interface Fixture {
  store: CorpusStore;
  queryId: string;
  /** Image id (sha256) by mirror file name. */
  imageIds: Map<string, string>;
  images: Map<string, Image>;
  occurrences: Occurrence[];
}

function text(value: string): string {
  return value.replace(/\[\d+\]/g, '').replace(/\s+/g, ' ').trim();
}

export async function buildMirrorStore(dir: string, queryText: string, pages: FixturePage[], aux: string[] = []): Promise<Fixture> {
  const store = await CorpusStore.open(dir);
  const queryId = queryIdOf(queryText);
  const now = new Date().toISOString();
  const batch = store.batch().put('queries', { id: queryId, query: queryText, createdAt: now });
  // The stages this fixture stands in for have finished the query, as a real build leaves it.
  for (const stage of ['crawl', 'process-text', 'process-images']) batch.markStageDone(stage, queryId);
  const images = new Map<string, Image>();
  const imageIds = new Map<string, string>();
  const occurrences: Occurrence[] = [];

  const addImage = async (fileName: string, url: string, bytes: Buffer): Promise<Image> => {
    const id = sha256Hex(bytes);
    const known = [...images.values()].find((i) => i.id === id);
    if (known) return known;
    const meta = await sharp(bytes).metadata();
    const drawing = /\.svg\.png$|icon/i.test(fileName);
    const pixels = (meta.width ?? 0) * (meta.height ?? 0);
    const reasons = [...(drawing ? ['layout: icon or drawing'] : []), ...(pixels < 10_000 ? [`too-few-pixels: ${pixels} < 10000`] : [])];
    const image: Image = {
      id,
      bytes: bytes.length,
      mime: `image/${meta.format}`,
      firstUrl: url,
      fetchedAt: now,
      width: meta.width,
      height: meta.height,
      format: meta.format,
      filter: { kept: reasons.length === 0, reasons },
    };
    batch.putBlob(bytes).put('images', image);
    if (!imageIds.has(fileName)) imageIds.set(fileName, id);
    images.set(id, image);
    return image;
  };

  for (const page of pages) {
    const url = page.url ?? new URL(`A/${page.file}`, BASE).href;
    const html = await readFile(path.join(MIRROR, 'A', page.file), 'utf8');
    const $ = cheerio.load(html);
    const { images: found } = findPageImages($, url);
    const pageId = pageIdOf(url);
    batch.put('pages', { id: pageId, url, finalUrl: url, fetchedAt: now, htmlBytes: html.length, rendered: false, title: $('title').text() }).link('query-pages', queryId, pageId);
    batch.putHtml(pageId, $.html());
    // Document order of headings, paragraphs and images: the context around each image.
    const flow = $('h2, h3, p, img').toArray();
    for (const pageImage of found) {
      if (pageImage.source === 'og:image') continue;
      const fileName = decodeURIComponent(new URL(pageImage.url).pathname.split('/').pop()!);
      if (page.only && !page.only.includes(fileName)) continue;
      const bytes = page.replace?.[fileName] ?? (await readFile(path.join(MIRROR, 'I/m', fileName)));
      const image = await addImage(fileName, pageImage.url, bytes);
      const element = $(`img[data-m2rag-occurrence="${pageImage.index}"]`);
      const at = flow.indexOf(element.get(0)!);
      const before = flow.slice(0, at);
      const heading = [...before].reverse().find((e) => e.tagName === 'h2' || e.tagName === 'h3');
      const paragraphs = (list: typeof flow) => list.filter((e) => e.tagName === 'p').map((e) => text($(e).text())).filter(Boolean);
      const occurrence: Occurrence = {
        id: occurrenceIdOf(pageId, pageImage.index),
        kind: 'page',
        pageId,
        index: pageImage.index,
        url: pageImage.url,
        imageId: image.id,
        domPath: pageImage.domPath,
        attributes: pageImage.attributes,
        context: {
          alt: pageImage.attributes.alt || undefined,
          figcaption: text(element.closest('.thumb').find('.thumbcaption').text()) || undefined,
          heading: heading ? text($(heading).text()) : undefined,
          above: paragraphs(before).slice(-2).join('\n\n') || undefined,
          below: paragraphs(flow.slice(at + 1)).slice(0, 2).join('\n\n') || undefined,
        },
      };
      occurrences.push(occurrence);
      batch.put('occurrences', occurrence).link('page-occurrences', pageId, occurrence.id).link('image-occurrences', image.id, occurrence.id);
    }
  }
  for (const [rank, fileName] of aux.entries()) {
    const url = new URL(`I/m/${encodeURIComponent(fileName)}`, BASE).href;
    const image = await addImage(fileName, url, await readFile(path.join(MIRROR, 'I/m', fileName)));
    const occurrence: Occurrence = {
      id: occurrenceIdOf(queryId + ':aux', rank),
      kind: 'auxiliary',
      queryId,
      index: rank,
      url,
      imageId: image.id,
      attributes: { title: fileName.replace(/\.[a-z]+$/i, '').replace(/_/g, ' '), sourcePageUrl: BASE + 'A/Ray_Charles.html' },
    };
    occurrences.push(occurrence);
    batch.put('occurrences', occurrence).link('query-occurrences', queryId, occurrence.id).link('image-occurrences', image.id, occurrence.id);
  }
  await batch.write();
  return { store, queryId, imageIds, images, occurrences };
}

/** Marks `duplicateId` a near-duplicate of `representativeId` (one dedup cluster). */
export async function cluster(store: CorpusStore, representativeId: string, duplicateId: string): Promise<void> {
  const clusterId = 'c' + representativeId.slice(0, 16);
  for (const id of [representativeId, duplicateId]) {
    const image = (await store.get('images', id))!;
    await store.put('images', { ...image, clusterId, representativeId });
  }
}
