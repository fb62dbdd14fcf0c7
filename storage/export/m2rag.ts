// The M2RAG-Bench dev-set layout (see m2rag-layout.ts): `dev_set.jsonl`, one query a line, and the
// image files beside it in `images/<sha256>.<ext>`. Every split and every image of every page is
// written, kept or not, with its score and validity, so the reference's loaders apply their own
// thresholds; what m2rag knows beyond the layout goes under the `m2rag` key of each record.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CorpusStore } from '../store.js';
import type { Chunk, Description, Occurrence, Page, Query, Score, SearchHit } from '../schemas.js';
import { scoreIdOf } from '../ids.js';
import { bestDescription } from '../views.js';
import { onMissingBlob, type ExportContext } from './context.js';
import { DEFAULT_LEVEL, placeholderIndices, type ImageExtra, type M2ragAuxImage, type M2ragLine, type M2ragPageImage, type M2ragSplit, type M2ragWebpage, type ScoreExtra } from './m2rag-layout.js';

export function extOfMime(mime: string): string {
  const sub = mime.split('/')[1]?.split(/[+;]/)[0]?.toLowerCase() ?? 'bin';
  return sub === 'jpeg' ? 'jpg' : sub;
}

export function imageFileOf(imageId: string, mime: string): string {
  return `images/${imageId}.${extOfMime(mime)}`;
}

/** Scores and similar figures are written to 3 decimals, so a re-import writes them back unchanged. */
export function roundScore(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function scoreExtra(score: Score | undefined): ScoreExtra {
  if (!score) return null;
  const components = Object.fromEntries(Object.entries(score.components).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, roundScore(v)]));
  return { status: score.status, kept: score.kept ?? null, reason: score.reason ?? null, method: score.method, components, provider: score.provenance.provider, model: score.provenance.model };
}

export interface M2ragExportCounts {
  queries: number;
  levelDefaulted: number;
  webpages: number;
  splits: number;
  unscoredSplits: number;
  pageImages: number;
  validPageImages: number;
  auxImages: number;
  validAuxImages: number;
  imageFiles: number;
  imageFilesMissing: number;
}

interface QueryWriter {
  ctx: ExportContext;
  query: Query;
  counts: M2ragExportCounts;
  /** Image files written so far (sha256 → relative path, or null when the bytes are missing). */
  files: Map<string, string | null>;
}

async function scoreOf(store: CorpusStore, queryId: string, kind: 'chunk' | 'image', id: string | undefined): Promise<Score | undefined> {
  return id === undefined ? undefined : store.get('scores', scoreIdOf(queryId, kind, id));
}

/** The image file of an image, written once per export; null when the store has no bytes for it. */
async function cachedFileOf(w: QueryWriter, imageId: string, mime: string): Promise<string | null> {
  if (w.files.has(imageId)) return w.files.get(imageId)!;
  const file = imageFileOf(imageId, mime);
  try {
    await copyFile(w.ctx.store.blobPath(imageId), path.join(w.ctx.outDir, file));
    w.counts.imageFiles++;
    w.files.set(imageId, file);
    return file;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    onMissingBlob(w.ctx, imageId);
    w.counts.imageFilesMissing++;
    w.files.set(imageId, null);
    return null;
  }
}

function descriptionExtra(d: Description | undefined): ImageExtra['description'] {
  if (!d) return null;
  return {
    id: d.id,
    method: d.method,
    provider: d.provenance.provider,
    model: d.provenance.model,
    prompt_version: d.provenance.promptVersion ?? null,
    occurrence_id: d.occurrenceId ?? null,
    sources: d.sources ?? null,
  };
}

/** The layout's fields of one occurrence (page or auxiliary) and its extra key. */
async function imageFields(w: QueryWriter, occ: Occurrence) {
  const image = occ.imageId ? await w.ctx.store.get('images', occ.imageId) : undefined;
  const score = await scoreOf(w.ctx.store, w.query.id, 'image', image?.id);
  const description = image ? bestDescription(w.ctx.descriptions.get(image.id), [occ.id]) : undefined;
  const extra: ImageExtra = {
    occurrence_id: occ.id,
    image_sha256: image?.id ?? null,
    mime: image?.mime ?? null,
    width: image?.width ?? null,
    height: image?.height ?? null,
    filter: image?.filter ? { kept: image.filter.kept, reasons: image.filter.reasons, layout_score: image.filter.layoutScore ?? null } : null,
    phash: image?.phash ?? null,
    cluster_id: image?.clusterId ?? null,
    representative_id: image?.representativeId ?? null,
    score: scoreExtra(score),
    description: descriptionExtra(description),
    attributes: Object.fromEntries(Object.entries(occ.attributes).sort(([a], [b]) => a.localeCompare(b))),
    context: occ.context ? Object.fromEntries(Object.entries(occ.context).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b))) : null,
  };
  return {
    cachedImageUrl: image ? await cachedFileOf(w, image.id, image.mime) : null,
    finalScore: score?.finalScore === undefined ? null : roundScore(score.finalScore),
    caption: description?.text ?? null,
    extra,
  };
}

function chunkSplit(chunk: Chunk, score: Score | undefined): M2ragSplit {
  return {
    split_id: chunk.index,
    text: chunk.text,
    score: score?.finalScore === undefined ? 0 : roundScore(score.finalScore),
    evaluation: null,
    image_ids: placeholderIndices(chunk.text),
    m2rag: {
      chunk_id: chunk.id,
      set_aside: chunk.duplicateOf ? 'duplicate' : chunk.boilerplate ? 'boilerplate' : null,
      duplicate_of: chunk.duplicateOf ?? null,
      score: scoreExtra(score),
    },
  };
}

async function webpageOf(w: QueryWriter, page: Page, webpageId: number, hit: SearchHit | undefined): Promise<M2ragWebpage> {
  const { store } = w.ctx;
  const chunks = (await store.getMany('chunks', await store.related('page-chunks', page.id))).filter((c): c is Chunk => c !== undefined).sort((a, b) => a.index - b.index);
  const splits: M2ragSplit[] = [];
  const splitOfPlaceholder = new Map<number, number>();
  for (const chunk of chunks) {
    const split = chunkSplit(chunk, await scoreOf(store, w.query.id, 'chunk', chunk.id));
    // As the reference's cleaner does: an image belongs to the (last) split whose text holds its placeholder.
    for (const k of split.image_ids ?? []) splitOfPlaceholder.set(k, split.split_id);
    if (!split.m2rag!.score) w.counts.unscoredSplits++;
    splits.push(split);
  }
  const occurrences = (await store.getMany('occurrences', await store.related('page-occurrences', page.id))).filter((o): o is Occurrence => o !== undefined).sort((a, b) => a.index - b.index);
  const images: M2ragPageImage[] = [];
  for (const occ of occurrences) {
    const f = await imageFields(w, occ);
    const splitId = splitOfPlaceholder.get(occ.index) ?? null;
    const valid = f.caption !== null && splitId !== null && f.finalScore !== null;
    images.push({ split_id: splitId, image_id: occ.index, image_url: occ.url, valid, cached_image_url: f.cachedImageUrl, final_score: f.finalScore, detailed_image_caption: f.caption, m2rag: f.extra });
    w.counts.pageImages++;
    if (valid) w.counts.validPageImages++;
  }
  w.counts.webpages++;
  w.counts.splits += splits.length;
  return {
    webpage_id: webpageId,
    url: page.url,
    title: page.title ?? hit?.title ?? null,
    cleaned_webpage_splits: splits,
    images,
    m2rag: {
      page_id: page.id,
      final_url: page.finalUrl,
      extractor: page.extractor ?? null,
      lang: page.lang ?? null,
      duplicate_of: page.duplicateOf ?? null,
      search: hit ? { provider: hit.provider, rank: hit.rank, snippet: hit.snippet ?? null } : null,
    },
  };
}

/** The query's pages in search order (pages reached without a hit last, by id), each with its best-ranked hit. */
async function pagesInSearchOrder(store: CorpusStore, queryId: string): Promise<Array<{ page: Page; hit?: SearchHit }>> {
  const hits = (await store.getMany('hits', await store.related('query-hits', queryId))).filter((h): h is SearchHit => h?.kind === 'web' && h.pageId !== undefined);
  const hitOf = new Map<string, SearchHit>();
  for (const hit of hits.sort((a, b) => a.rank - b.rank || a.provider.localeCompare(b.provider) || a.id.localeCompare(b.id))) if (!hitOf.has(hit.pageId!)) hitOf.set(hit.pageId!, hit);
  // A page `m2rag refresh` found gone is kept in the store but leaves the dataset from that version on.
  const pages = (await store.getMany('pages', await store.related('query-pages', queryId))).filter((p): p is Page => p !== undefined && !p.removed);
  return pages
    .map((page) => ({ page, hit: hitOf.get(page.id) }))
    .sort((a, b) => {
      if (a.hit && b.hit) return a.hit.rank - b.hit.rank || a.hit.provider.localeCompare(b.hit.provider) || a.page.id.localeCompare(b.page.id);
      if (a.hit || b.hit) return a.hit ? -1 : 1;
      return a.page.id.localeCompare(b.page.id);
    });
}

async function queryLine(w: QueryWriter): Promise<M2ragLine> {
  const { store } = w.ctx;
  const webpages: M2ragWebpage[] = [];
  for (const [i, { page, hit }] of (await pagesInSearchOrder(store, w.query.id)).entries()) webpages.push(await webpageOf(w, page, i, hit));
  const auxOccurrences = (await store.getMany('occurrences', await store.related('query-occurrences', w.query.id)))
    .filter((o): o is Occurrence => o?.kind === 'auxiliary')
    .sort((a, b) => a.index - b.index);
  const auxImages: M2ragAuxImage[] = [];
  for (const occ of auxOccurrences) {
    const f = await imageFields(w, occ);
    const valid = f.caption !== null && f.finalScore !== null;
    auxImages.push({ image_id: `aux-${occ.index}`, image_url: occ.url, cached_image_url: f.cachedImageUrl, valid, final_score: f.finalScore, detailed_image_caption: f.caption, m2rag: f.extra });
    w.counts.auxImages++;
    if (valid) w.counts.validAuxImages++;
  }
  if (w.query.level === undefined) w.counts.levelDefaulted++;
  return {
    query_id: w.query.id,
    content: w.query.query,
    webpages,
    aux_images: auxImages,
    level: w.query.level ?? DEFAULT_LEVEL,
    m2rag: { level_source: w.query.level === undefined ? 'default' : 'query', topic: w.query.topic ?? null },
  };
}

export async function writeM2ragQueries(ctx: ExportContext, queries: Query[]): Promise<{ lines: string[]; counts: M2ragExportCounts }> {
  const counts: M2ragExportCounts = { queries: 0, levelDefaulted: 0, webpages: 0, splits: 0, unscoredSplits: 0, pageImages: 0, validPageImages: 0, auxImages: 0, validAuxImages: 0, imageFiles: 0, imageFilesMissing: 0 };
  await mkdir(path.join(ctx.outDir, 'images'), { recursive: true });
  const files = new Map<string, string | null>();
  const lines: string[] = [];
  for (const query of queries) {
    lines.push(JSON.stringify(await queryLine({ ctx, query, counts, files })));
    counts.queries++;
  }
  return { lines, counts };
}
