// `m2rag import --format m2rag`: loads data in the M2RAG-Bench dev-set layout (the published
// benchmark, or an m2rag export) into a store, as the records the stages downstream read: queries,
// pages with their search hits, chunks, occurrences, images with their bytes, descriptions and
// scores. Every imported description and score says so in its provenance (`importedFrom`). What an
// m2rag export put under the `m2rag` key is restored exactly, so export → import → export writes
// the same bytes; data without it gets ids derived from its urls and `imported` methods.
// Every line is checked before anything is written: one bad line stops the import, naming file:line.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CorpusStore, StoreBatch } from '../store.js';
import type { Description, Occurrence, OccurrenceContext, Score } from '../schemas.js';
import { sha256Hex } from '../blobs.js';
import { chunkIdOf, inputHashOf, occurrenceIdOf, pageIdOf, scoreIdOf, searchHitIdOf } from '../ids.js';
import { M2ragLine, placeholderIndices, type ImageExtra, type M2ragAuxImage, type M2ragPageImage, type ScoreExtra } from '../export/m2rag-layout.js';

/** A line of the input that is not in the layout; the message starts with `file:line:`. */
export class ImportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportInputError';
  }
}

export interface M2ragImportOptions {
  file: string;
  /** Where image files are looked up (by `cached_image_url`, then by its base name); default: the file's folder. */
  imagesDir?: string;
  /** The image type of some bytes (sniffed, never trusted from names), or undefined when they are not an image. */
  sniffMime(bytes: Buffer): string | undefined;
  /** Keep thresholds for scores that carry no keep decision (data from elsewhere). */
  minChunkScore: number;
  minImageScore: number;
  /** Stages the imported data stands in for, marked done for each query so later stages run on it. */
  stagesDone: readonly string[];
}

export interface M2ragImportCounts {
  queries: number;
  webpages: number;
  splits: number;
  images: number;
  imageFiles: number;
  imagesWithoutFile: number;
  descriptions: number;
  scores: number;
}

interface LineImport {
  options: M2ragImportOptions;
  batch: StoreBatch;
  queryId: string;
  at: string;
  source: string;
  counts: M2ragImportCounts;
  /** Bytes read so far, by file path (undefined: not found). */
  files: Map<string, Buffer | undefined>;
}

function parseLines(text: string, file: string): M2ragLine[] {
  const lines: M2ragLine[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new ImportInputError(`${file}:${i + 1}: not JSON (${(error as Error).message})`);
    }
    const parsed = M2ragLine.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ImportInputError(`${file}:${i + 1}: ${issue.path.join('.') || 'line'}: ${issue.message} (not the M2RAG dev-set layout)`);
    }
    lines.push(parsed.data);
  });
  return lines;
}

async function bytesOf(w: LineImport, cachedUrl: string | null): Promise<Buffer | undefined> {
  if (cachedUrl === null || /^[a-z]+:\/\//i.test(cachedUrl)) return undefined;
  const base = w.options.imagesDir ?? path.dirname(w.options.file);
  for (const candidate of [path.resolve(base, cachedUrl), path.resolve(base, path.basename(cachedUrl))]) {
    if (!w.files.has(candidate)) w.files.set(candidate, await readFile(candidate).catch(() => undefined));
    const bytes = w.files.get(candidate);
    if (bytes) return bytes;
  }
  return undefined;
}

function provenanceOf(w: LineImport, provider: string, model: string, ...inputs: string[]) {
  return { provider, model, inputHash: inputHashOf(...inputs), at: w.at, importedFrom: w.source };
}

function scoreRecord(w: LineImport, kind: 'chunk' | 'image', elementId: string, value: number | null, extra: ScoreExtra | undefined, threshold: number): Score | undefined {
  if (extra === null || (extra === undefined && value === null)) return undefined;
  const ok = extra ? extra.status === 'ok' : true;
  return {
    id: scoreIdOf(w.queryId, kind, elementId),
    queryId: w.queryId,
    elementKind: kind,
    elementId,
    status: ok ? 'ok' : 'failed',
    reason: extra ? (extra.reason ?? undefined) : value! >= threshold ? undefined : 'below-threshold',
    components: extra?.components ?? {},
    finalScore: ok && value !== null ? value : undefined,
    kept: extra ? (extra.kept ?? undefined) : value! >= threshold,
    method: extra?.method ?? 'imported',
    provenance: provenanceOf(w, extra?.provider ?? 'import', extra?.model ?? 'unknown', w.queryId, kind, elementId, String(value)),
  };
}

/** An occurrence (page or auxiliary) with its image, bytes, description and score. Returns the image id, if the bytes were found. */
async function importImage(w: LineImport, occ: Omit<Occurrence, 'imageId' | 'attributes' | 'context'>, entry: M2ragPageImage | M2ragAuxImage): Promise<string | undefined> {
  const extra: ImageExtra | undefined = entry.m2rag;
  const bytes = await bytesOf(w, entry.cached_image_url);
  const mime = bytes ? w.options.sniffMime(bytes) : undefined;
  const imageId = bytes && mime ? sha256Hex(bytes) : undefined;
  const occurrence: Occurrence = { ...occ, imageId, attributes: extra?.attributes ?? {}, context: (extra?.context ?? undefined) as OccurrenceContext | undefined };
  w.batch.put('occurrences', occurrence);
  w.counts.images++;
  if (!imageId) {
    if (entry.cached_image_url !== null) w.counts.imagesWithoutFile++;
    return undefined;
  }
  w.batch.putBlob(bytes!).link('image-occurrences', imageId, occurrence.id);
  w.counts.imageFiles++;
  const filter = extra?.filter;
  w.batch.put('images', {
    id: imageId,
    bytes: bytes!.length,
    mime: mime!,
    firstUrl: entry.image_url,
    fetchedAt: w.at,
    width: extra?.width ?? undefined,
    height: extra?.height ?? undefined,
    filter: filter ? { kept: filter.kept, reasons: filter.reasons, layoutScore: filter.layout_score ?? undefined } : { kept: true, reasons: [] },
    phash: extra?.phash ?? undefined,
    clusterId: extra?.cluster_id ?? undefined,
    representativeId: extra?.representative_id ?? undefined,
  });
  const caption = entry.detailed_image_caption;
  if (caption !== null) {
    const d = extra?.description;
    const description: Description = {
      id: d?.id ?? `${imageId}:imported:${occurrence.id}`,
      imageId,
      occurrenceId: d ? (d.occurrence_id ?? undefined) : occurrence.id,
      status: 'ok',
      text: caption,
      method: d?.method ?? 'imported',
      provenance: { ...provenanceOf(w, d?.provider ?? 'import', d?.model ?? 'unknown', imageId, caption), promptVersion: d?.prompt_version ?? undefined },
      sources: d?.sources ?? undefined,
    };
    w.batch.put('descriptions', description);
    w.counts.descriptions++;
  }
  const score = scoreRecord(w, 'image', imageId, entry.final_score, extra?.score, w.options.minImageScore);
  if (score) {
    w.batch.put('scores', score);
    w.counts.scores++;
  }
  return imageId;
}

async function importLine(w: LineImport, line: M2ragLine): Promise<void> {
  const { batch, queryId } = w;
  const defaulted = line.m2rag?.level_source === 'default';
  batch.put('queries', { id: queryId, query: line.content, topic: line.m2rag?.topic ?? undefined, level: defaulted ? undefined : line.level, createdAt: w.at });
  for (const webpage of line.webpages) {
    const extra = webpage.m2rag;
    const pageId = extra?.page_id ?? pageIdOf(webpage.url);
    batch.put('pages', {
      id: pageId,
      url: webpage.url,
      finalUrl: extra?.final_url ?? webpage.url,
      fetchedAt: w.at,
      htmlBytes: 0,
      rendered: false,
      title: webpage.title ?? undefined,
      extractor: extra?.extractor ?? undefined,
      lang: extra?.lang ?? undefined,
      duplicateOf: extra?.duplicate_of ?? undefined,
    });
    batch.link('query-pages', queryId, pageId);
    const search = extra ? extra.search : { provider: 'import', rank: webpage.webpage_id, snippet: null };
    if (search) {
      const hitId = searchHitIdOf(queryId, 'web', webpage.url);
      batch.put('hits', { id: hitId, queryId, kind: 'web', rank: search.rank, provider: search.provider, url: webpage.url, snippet: search.snippet ?? undefined, pageId }).link('query-hits', queryId, hitId);
    }
    w.counts.webpages++;
    const imageOfIndex = new Map<number, { occurrenceId: string; imageId?: string }>();
    for (const entry of webpage.images) {
      const occurrenceId = entry.m2rag?.occurrence_id ?? occurrenceIdOf(pageId, entry.image_id);
      const imageId = await importImage(w, { id: occurrenceId, kind: 'page', pageId, index: entry.image_id, url: entry.image_url }, entry);
      batch.link('page-occurrences', pageId, occurrenceId);
      imageOfIndex.set(entry.image_id, { occurrenceId, imageId });
    }
    for (const split of webpage.cleaned_webpage_splits ?? []) {
      const chunkId = split.m2rag?.chunk_id ?? chunkIdOf(pageId, split.split_id);
      const placed = placeholderIndices(split.text).flatMap((k) => (imageOfIndex.has(k) ? [imageOfIndex.get(k)!] : []));
      batch.put('chunks', {
        id: chunkId,
        pageId,
        index: split.split_id,
        text: split.text,
        occurrenceIds: placed.map((p) => p.occurrenceId),
        imageIds: placed.flatMap((p) => (p.imageId ? [p.imageId] : [])),
        duplicateOf: split.m2rag?.duplicate_of ?? undefined,
        boilerplate: split.m2rag?.set_aside === 'boilerplate' ? true : undefined,
      });
      batch.link('page-chunks', pageId, chunkId);
      w.counts.splits++;
      const score = scoreRecord(w, 'chunk', chunkId, split.m2rag?.score === null ? null : split.score, split.m2rag?.score, w.options.minChunkScore);
      if (score) {
        batch.put('scores', score);
        w.counts.scores++;
      }
    }
  }
  for (const entry of line.aux_images) {
    const index = Number(entry.image_id.slice('aux-'.length));
    const occurrenceId = entry.m2rag?.occurrence_id ?? occurrenceIdOf(queryId, index);
    await importImage(w, { id: occurrenceId, kind: 'auxiliary', queryId, index, url: entry.image_url }, entry);
    batch.link('query-occurrences', queryId, occurrenceId);
  }
  for (const stage of w.options.stagesDone) batch.markStageDone(stage, queryId, { imported: 1 });
  w.counts.queries++;
}

export async function importM2rag(store: CorpusStore, options: M2ragImportOptions): Promise<M2ragImportCounts> {
  let text: string;
  try {
    text = await readFile(options.file, 'utf8');
  } catch (error) {
    throw new ImportInputError(`${options.file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const lines = parseLines(text, options.file);
  const counts: M2ragImportCounts = { queries: 0, webpages: 0, splits: 0, images: 0, imageFiles: 0, imagesWithoutFile: 0, descriptions: 0, scores: 0 };
  const batch = store.batch();
  const at = new Date().toISOString();
  const files = new Map<string, Buffer | undefined>();
  for (const line of lines) await importLine({ options, batch, queryId: String(line.query_id), at, source: path.basename(options.file), counts, files }, line);
  // One batch: a failure while writing leaves the store as it was.
  await batch.write();
  return counts;
}
