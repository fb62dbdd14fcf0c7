// Builds a store the way crawl + process leave it, for the describe tests: real pages and images of
// the wiki-ray-charles mirror written as the crawler writes them (tests/helpers/mirror-store.ts: the
// records of storage/schemas.ts, the markup contract of src/core/markup/page-images.ts), then the
// real process-text and process-images stages, which give every occurrence its context and every
// image its filter verdict and cluster.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigSchema } from '../../src/core/config.js';
import { runStage } from '../../src/core/stage.js';
import { processImagesStage } from '../../processors/images/stage.js';
import { ProcessTextStage } from '../../processors/text/stage.js';
import { CorpusStore, occurrenceIdOf, occurrencesOfQuery, queryIdOf, sha256Hex, type Image, type Occurrence } from '../../storage/index.js';
import { addMirrorPage, MIRROR, MIRROR_ORIGIN, mirrorFileNameOf, putMirrorImage } from './mirror-store.js';

export { MIRROR };

/** The mirror keeps Wikipedia's thumbnails (a few KB each): the 20 KB floor, meant for full-size images, would drop them all. */
const PROCESS_CONFIG = ConfigSchema.parse({ images: { minBytes: 0 } });

export interface FixturePage {
  /** File under A/ of the mirror. */
  file: string;
  /** URL the page is stored under (default: its mirror path). */
  url?: string;
  /** Only these image file names stay on the page (default: all). */
  only?: string[];
  /** Image file name → other bytes served for it (a near-duplicate re-encoding, for example). */
  replace?: Record<string, Buffer>;
}

export interface Fixture {
  store: CorpusStore;
  queryId: string;
  /** Image id (sha256 of the mirror file's own bytes) by mirror file name, for the images in the store. */
  imageIds: Map<string, string>;
  /** The images as processing left them (filter verdicts, clusters). */
  images: Map<string, Image>;
  /** The query's occurrences as processing left them (with their context). */
  occurrences: Occurrence[];
}

/** Writes the query's auxiliary images as the crawl stage does for image-search hits ranked in this order. */
async function addAuxiliaryImages(store: CorpusStore, queryId: string, fileNames: string[]): Promise<void> {
  const batch = store.batch();
  const written = new Set<string>();
  const at = new Date().toISOString();
  for (const [rank, fileName] of fileNames.entries()) {
    const url = `${MIRROR_ORIGIN}/I/m/${encodeURIComponent(fileName)}`;
    const imageId = await putMirrorImage(store, batch, written, url, await readFile(path.join(MIRROR, 'I/m', fileName)), at);
    const id = occurrenceIdOf(queryId + ':aux', rank);
    const attributes = { title: fileName.replace(/\.[a-z]+$/i, '').replace(/_/g, ' '), sourcePageUrl: `${MIRROR_ORIGIN}/A/Ray_Charles.html` };
    batch.put('occurrences', { id, kind: 'auxiliary', queryId, index: rank, url, imageId, attributes }).link('query-occurrences', queryId, id);
    if (imageId) batch.link('image-occurrences', imageId, id);
  }
  await batch.write();
}

export async function buildMirrorStore(dir: string, queryText: string, pages: FixturePage[], aux: string[] = []): Promise<Fixture> {
  const store = await CorpusStore.open(dir);
  const queryId = queryIdOf(queryText);
  await store.batch().put('queries', { id: queryId, query: queryText, createdAt: new Date().toISOString() }).markStageDone('crawl', queryId).write();
  for (const page of pages) await addMirrorPage(store, queryId, page.file, { url: page.url, only: page.only, replace: page.replace });
  await addAuxiliaryImages(store, queryId, aux);
  for (const stage of [new ProcessTextStage(), processImagesStage]) {
    const report = await runStage(stage, store, { config: PROCESS_CONFIG });
    if (report.failed > 0) throw new Error(`${stage.name} failed on the fixture: ${report.firstFailure}`);
  }

  const occurrences = await occurrencesOfQuery(store, queryId);
  const images = new Map<string, Image>();
  for await (const image of store.iterate('images')) images.set(image.id, image);
  const imageIds = new Map<string, string>();
  for (const fileName of new Set(occurrences.map((o) => mirrorFileNameOf(o.url)))) {
    const bytes = await readFile(path.join(MIRROR, 'I/m', fileName)).catch(() => undefined);
    const id = bytes && sha256Hex(bytes);
    if (id && images.has(id)) imageIds.set(fileName, id);
  }
  return { store, queryId, imageIds, images, occurrences };
}
