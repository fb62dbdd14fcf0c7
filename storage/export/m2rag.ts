// The M2RAG benchmark layout: `m2rag.jsonl`, one JSON object a line per query, and the image files
// beside it in `images/<sha256>.<ext>`. Field names follow the M2RAG release (snake_case), so a
// reader needs nothing of ours: {id, content, webpages: [{id, url, title, splits: [{id, text,
// score, image_ids}], image_ids}], images: [{id, path, final_score, description, ...}],
// auxiliary_images: [...]}. Only kept elements are written (unscored queries: every element, score null).
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { CorpusStore } from '../store.js';
import type { Query, Score } from '../schemas.js';
import { scoreIdOf } from '../ids.js';
import { loadQueryElements, occurrenceContextText, type ImageElement } from '../views.js';
import type { ExportContext } from './context.js';

export function extOfMime(mime: string): string {
  const sub = mime.split('/')[1]?.split(/[+;]/)[0]?.toLowerCase() ?? 'bin';
  return sub === 'jpeg' ? 'jpg' : sub;
}

export function imageFileOf(imageId: string, mime: string): string {
  return `images/${imageId}.${extOfMime(mime)}`;
}

async function scoresOf(store: CorpusStore, queryId: string, kind: 'chunk' | 'image', ids: string[]): Promise<Map<string, Score>> {
  const found = await store.getMany('scores', ids.map((id) => scoreIdOf(queryId, kind, id)));
  const map = new Map<string, Score>();
  ids.forEach((id, i) => found[i] && map.set(id, found[i]!));
  return map;
}

function round(n: number | undefined): number | null {
  return n === undefined ? null : Math.round(n * 1000) / 1000;
}

function imageLine(element: ImageElement, score: Score | undefined) {
  const aux = element.occurrences.find((o) => o.kind === 'auxiliary');
  const base = {
    id: element.image.id,
    path: imageFileOf(element.image.id, element.image.mime),
    url: element.image.firstUrl,
    mime: element.image.mime,
    width: element.image.width ?? null,
    height: element.image.height ?? null,
    final_score: round(score?.finalScore),
    score_components: score ? Object.fromEntries(Object.entries(score.components).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, round(v)])) : null,
    score_method: score?.method ?? null,
    description: element.description?.text ?? null,
    description_method: element.description?.method ?? null,
    context: element.occurrences.map(occurrenceContextText).find((t) => t !== '') ?? null,
  };
  if (element.pageId !== undefined) return { ...base, page_id: element.pageId };
  return { ...base, title: aux?.attributes.title ?? null, source_page_url: aux?.attributes.sourcePageUrl ?? null };
}

export interface M2ragExportCounts {
  queries: number;
  unscoredQueries: number;
  webpages: number;
  splits: number;
  images: number;
  auxiliaryImages: number;
  queriesWithoutImages: number;
  imageFilesMissing: number;
}

export async function writeM2ragQueries(ctx: ExportContext, queries: Query[]): Promise<{ lines: string[]; counts: M2ragExportCounts }> {
  const { store, outDir } = ctx;
  const counts: M2ragExportCounts = { queries: 0, unscoredQueries: 0, webpages: 0, splits: 0, images: 0, auxiliaryImages: 0, queriesWithoutImages: 0, imageFilesMissing: 0 };
  const lines: string[] = [];
  await mkdir(path.join(outDir, 'images'), { recursive: true });
  for (const query of queries) {
    const elements = await loadQueryElements(store, query, ctx.descriptions);
    const chunkScores = await scoresOf(store, query.id, 'chunk', elements.chunks.map((c) => c.id));
    const imageScores = await scoresOf(store, query.id, 'image', elements.images.map((e) => e.image.id));
    const scored = chunkScores.size + imageScores.size > 0;
    if (!scored) counts.unscoredQueries++;
    const keep = (score: Score | undefined): boolean => (scored ? score?.kept === true : true);

    const images = elements.images.filter((e) => keep(imageScores.get(e.image.id)));
    const keptImageIds = new Set(images.map((e) => e.image.id));
    const webpages = elements.pages
      .map((page) => {
        const splits = elements.chunks
          .filter((c) => c.pageId === page.id && keep(chunkScores.get(c.id)))
          .map((c) => ({ id: c.id, text: c.text, score: round(chunkScores.get(c.id)?.finalScore), image_ids: c.imageIds.filter((id) => keptImageIds.has(id)).sort() }));
        return {
          id: page.id,
          url: page.finalUrl,
          title: page.title ?? null,
          splits,
          image_ids: images.filter((e) => e.pageId === page.id).map((e) => e.image.id),
        };
      })
      .filter((p) => p.splits.length > 0 || p.image_ids.length > 0);
    const pageImages = images.filter((e) => e.pageId !== undefined);
    const auxImages = images.filter((e) => e.pageId === undefined);
    for (const e of images) {
      const source = e.image.id;
      try {
        await copyFile(ctx.store.blobPath(source), path.join(outDir, imageFileOf(e.image.id, e.image.mime)));
      } catch {
        counts.imageFilesMissing++;
      }
    }
    lines.push(
      JSON.stringify({
        id: query.id,
        content: query.query,
        topic: query.topic ?? null,
        webpages,
        images: pageImages.map((e) => imageLine(e, imageScores.get(e.image.id))),
        auxiliary_images: auxImages.map((e) => imageLine(e, imageScores.get(e.image.id))),
      }),
    );
    counts.queries++;
    counts.webpages += webpages.length;
    counts.splits += webpages.reduce((a, p) => a + p.splits.length, 0);
    counts.images += pageImages.length;
    counts.auxiliaryImages += auxImages.length;
    if (images.length === 0) counts.queriesWithoutImages++;
  }
  return { lines, counts };
}
