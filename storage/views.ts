// The shared read views over the store, one definition each, so every stage means the same thing:
// what a kept image is, which description of an image is the best, an occurrence's context text,
// the occurrences of a query, and a query's elements as the scorers, the runner and the exporters
// see them: its pages (duplicates set aside), their chunks (duplicate and boilerplate chunks set
// aside), and its kept images with every occurrence and the best description. Whatever is set
// aside is counted with its reason.
import type { CorpusStore } from './store.js';
import type { Chunk, Description, Image, Occurrence, Page, Query } from './schemas.js';

export interface ImageElement {
  image: Image;
  /** The page the image is scored under: its first page occurrence; undefined for auxiliary-only images. */
  pageId?: string;
  occurrences: Occurrence[];
  description?: Description;
}

export interface QueryElements {
  query: Query;
  pages: Page[];
  chunks: Chunk[];
  images: ImageElement[];
  /** What was set aside, by reason (`duplicate-page`, `boilerplate-chunk`, `image-filtered`, …). */
  setAside: Record<string, number>;
}

/** "Kept image" as every stage downstream of image processing means it. */
export function isKeptImage(image: Image): boolean {
  return image.filter?.kept === true && (image.representativeId === undefined || image.representativeId === image.id);
}

function descriptionRank(d: Description): number {
  if (d.status !== 'ok' || !d.text) return 2;
  return d.method === 'vision-model' ? 0 : 1;
}

/** Every image's usable descriptions, best first: vision-model before embedded, then by id. */
export async function loadDescriptions(store: CorpusStore): Promise<Map<string, Description[]>> {
  const byImage = new Map<string, Description[]>();
  for await (const d of store.iterate('descriptions')) {
    if (d.status !== 'ok' || !d.text) continue;
    const list = byImage.get(d.imageId) ?? [];
    list.push(d);
    byImage.set(d.imageId, list);
  }
  for (const list of byImage.values()) list.sort((a, b) => descriptionRank(a) - descriptionRank(b) || a.id.localeCompare(b.id));
  return byImage;
}

/** The description of an image for one of its occurrences, else its best one. */
export function bestDescription(descriptions: Description[] | undefined, occurrenceIds: string[]): Description | undefined {
  if (!descriptions || descriptions.length === 0) return undefined;
  const wanted = new Set(occurrenceIds);
  return descriptions.find((d) => d.occurrenceId !== undefined && wanted.has(d.occurrenceId)) ?? descriptions[0];
}

/** Every description of an image (whatever its status), in id order. */
export async function descriptionsOf(store: CorpusStore, imageId: string): Promise<Description[]> {
  const found: Description[] = [];
  for await (const description of store.iterate('descriptions', { prefix: imageId + ':' })) found.push(description);
  return found;
}

/** The occurrences of a query (those on its pages, then its image-search ones), each once, in link order. */
export async function occurrencesOfQuery(store: CorpusStore, queryId: string): Promise<Occurrence[]> {
  const ids: string[] = [];
  for (const pageId of await store.related('query-pages', queryId)) ids.push(...(await store.related('page-occurrences', pageId)));
  ids.push(...(await store.related('query-occurrences', queryId)));
  const found = await store.getMany('occurrences', [...new Set(ids)]);
  return found.filter((o): o is Occurrence => o !== undefined);
}

/** Alt, caption, title, heading and nearby text of an occurrence, as one plain text. */
export function occurrenceContextText(occurrence: Occurrence): string {
  const c = occurrence.context ?? {};
  const a = occurrence.attributes ?? {};
  const parts = [c.figcaption, c.alt ?? a.alt, c.title ?? a.title, a.snippet, c.heading, c.above?.slice(-400), c.below?.slice(0, 400)];
  return [...new Set(parts.filter((p): p is string => typeof p === 'string' && p.trim() !== '').map((p) => p.trim()))].join('\n');
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export async function loadQueryElements(store: CorpusStore, query: Query, descriptions: Map<string, Description[]>): Promise<QueryElements> {
  const setAside: Record<string, number> = {};
  const pages: Page[] = [];
  for (const page of await store.getMany('pages', (await store.related('query-pages', query.id)).sort())) {
    if (!page) continue;
    if (page.removed) bump(setAside, 'removed-page');
    else if (page.duplicateOf) bump(setAside, 'duplicate-page');
    else pages.push(page);
  }
  const chunks: Chunk[] = [];
  const occurrences: Occurrence[] = [];
  for (const page of pages) {
    for (const chunk of await store.getMany('chunks', await store.related('page-chunks', page.id))) {
      if (!chunk) continue;
      if (chunk.duplicateOf) bump(setAside, 'duplicate-chunk');
      else if (chunk.boilerplate) bump(setAside, 'boilerplate-chunk');
      else chunks.push(chunk);
    }
    for (const occ of await store.getMany('occurrences', await store.related('page-occurrences', page.id))) if (occ) occurrences.push(occ);
  }
  for (const occ of await store.getMany('occurrences', await store.related('query-occurrences', query.id))) if (occ) occurrences.push(occ);
  chunks.sort((a, b) => a.pageId.localeCompare(b.pageId) || a.index - b.index);

  const byImage = new Map<string, Occurrence[]>();
  for (const occ of occurrences) {
    if (!occ.imageId) {
      bump(setAside, 'image-not-fetched');
      continue;
    }
    const list = byImage.get(occ.imageId) ?? [];
    list.push(occ);
    byImage.set(occ.imageId, list);
  }
  const images: ImageElement[] = [];
  const imageIds = [...byImage.keys()].sort();
  const records = await store.getMany('images', imageIds);
  imageIds.forEach((imageId, i) => {
    const image = records[i];
    if (!image) return bump(setAside, 'image-missing');
    if (!image.filter) return bump(setAside, 'image-not-processed');
    if (!image.filter.kept) return bump(setAside, 'image-filtered');
    if (!isKeptImage(image)) return bump(setAside, 'image-near-duplicate');
    const occs = byImage.get(imageId)!.sort((a, b) => Number(a.kind !== 'page') - Number(b.kind !== 'page') || a.id.localeCompare(b.id));
    const pageOcc = occs.find((o) => o.kind === 'page');
    images.push({ image, pageId: pageOcc?.pageId, occurrences: occs, description: bestDescription(descriptions.get(imageId), occs.map((o) => o.id)) });
  });
  return { query, pages, chunks, images, setAside };
}
