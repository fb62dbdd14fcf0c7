// What the WebQA and MultimodalQA importers share: a benchmark question with its gold images becomes
// a query (with its `benchmark` facts), each gold image an image with its bytes, an auxiliary
// occurrence of the query, a description holding the dataset's own caption (method `dataset-caption`)
// and a kept score of 10 (method `dataset-gold`). The retrieval pool of `run --pool corpus` is then
// every imported question's gold images, as RagVL's index holds the test set's images.
// A row that cannot be imported (fields missing, an image file not found or not an image) is left
// out with its reason; the others are written in one batch.
import { readFile } from 'node:fs/promises';
import type { CorpusStore, StoreBatch } from '../store.js';
import type { Query } from '../schemas.js';
import { sha256Hex } from '../blobs.js';
import { descriptionIdOf, inputHashOf, occurrenceIdOf, scoreIdOf } from '../ids.js';
import { ImportInputError } from './m2rag.js';

export const DATASET_CAPTION_METHOD = 'dataset-caption';
export const GOLD_SCORE_METHOD = 'dataset-gold';

export interface BenchmarkImage {
  /** The image's id in the dataset (WebQA's image_id, MMQA's doc_id). */
  sourceId: string;
  caption: string;
  url?: string;
  /** Candidate files, tried in order. */
  files: string[];
}

export interface BenchmarkQuestion {
  sourceId: string;
  question: string;
  answer: string;
  answers: string[];
  qcate?: string;
  images: BenchmarkImage[];
}

export interface RejectedRow {
  row: string;
  reason: string;
}

export interface BenchmarkImportOptions {
  dataset: 'webqa' | 'mmqa';
  /** The file's name, recorded as the provenance of what is imported. */
  source: string;
  sniffMime(bytes: Buffer): string | undefined;
  stagesDone: readonly string[];
}

export interface BenchmarkImportCounts {
  questions: number;
  singleImage: number;
  multiImage: number;
  images: number;
  rejected: number;
}

export interface BenchmarkImportResult {
  counts: BenchmarkImportCounts;
  rejected: RejectedRow[];
}

async function firstReadable(files: string[], cache: Map<string, Buffer | undefined>): Promise<Buffer | undefined> {
  for (const file of files) {
    if (!cache.has(file)) cache.set(file, await readFile(file).catch(() => undefined));
    const bytes = cache.get(file);
    if (bytes) return bytes;
  }
  return undefined;
}

interface Loaded {
  image: BenchmarkImage;
  bytes: Buffer;
  mime: string;
  id: string;
}

async function loadImages(question: BenchmarkQuestion, options: BenchmarkImportOptions, cache: Map<string, Buffer | undefined>): Promise<Loaded[] | string> {
  const loaded: Loaded[] = [];
  for (const image of question.images) {
    const bytes = await firstReadable(image.files, cache);
    if (!bytes) return `image ${image.sourceId}: no file (looked for ${image.files.join(', ')})`;
    const mime = options.sniffMime(bytes);
    if (!mime) return `image ${image.sourceId}: ${image.files[0]} is not an image`;
    loaded.push({ image, bytes, mime, id: sha256Hex(bytes) });
  }
  return loaded;
}

function putQuestion(batch: StoreBatch, question: BenchmarkQuestion, images: Loaded[], options: BenchmarkImportOptions, at: string): void {
  const queryId = question.sourceId;
  const query: Query = {
    id: queryId,
    query: question.question,
    createdAt: at,
    benchmark: {
      dataset: options.dataset,
      sourceId: question.sourceId,
      qcate: question.qcate,
      answer: question.answer,
      answers: question.answers,
      goldImageIds: images.map((i) => i.id),
    },
  };
  batch.put('queries', query);
  const provenance = (...inputs: string[]) => ({ provider: 'import', model: options.dataset, inputHash: inputHashOf(...inputs), at, importedFrom: options.source });
  for (const [index, { image, bytes, mime, id }] of images.entries()) {
    const url = image.url ?? `${options.dataset}:image/${image.sourceId}`;
    const occurrenceId = occurrenceIdOf(queryId, index);
    batch.putBlob(bytes);
    batch.put('images', { id, bytes: bytes.length, mime, firstUrl: url, fetchedAt: at, filter: { kept: true, reasons: [] } });
    batch.put('occurrences', { id: occurrenceId, kind: 'auxiliary', queryId, index, url, imageId: id, attributes: {}, context: { figcaption: image.caption } });
    batch.link('image-occurrences', id, occurrenceId).link('query-occurrences', queryId, occurrenceId);
    batch.put('descriptions', {
      id: descriptionIdOf(id, occurrenceId, DATASET_CAPTION_METHOD, options.dataset),
      imageId: id,
      occurrenceId,
      status: 'ok',
      text: image.caption,
      method: DATASET_CAPTION_METHOD,
      provenance: provenance(id, image.caption),
    });
    batch.put('scores', {
      id: scoreIdOf(queryId, 'image', id),
      queryId,
      elementKind: 'image',
      elementId: id,
      status: 'ok',
      components: {},
      finalScore: 10,
      kept: true,
      method: GOLD_SCORE_METHOD,
      provenance: provenance(queryId, id),
    });
  }
  for (const stage of options.stagesDone) batch.markStageDone(stage, queryId, { imported: 1 });
}

/** Writes the questions that can be imported; the others are returned with their reasons. */
export async function importBenchmark(store: CorpusStore, rows: Array<BenchmarkQuestion | RejectedRow>, options: BenchmarkImportOptions): Promise<BenchmarkImportResult> {
  const counts: BenchmarkImportCounts = { questions: 0, singleImage: 0, multiImage: 0, images: 0, rejected: 0 };
  const rejected: RejectedRow[] = [];
  const reject = (row: RejectedRow): void => {
    rejected.push(row);
    counts.rejected++;
  };
  const batch = store.batch();
  const at = new Date().toISOString();
  const cache = new Map<string, Buffer | undefined>();
  const seen = new Set<string>();
  for (const row of rows) {
    if ('reason' in row) {
      reject(row);
      continue;
    }
    if (seen.has(row.sourceId)) {
      reject({ row: row.sourceId, reason: 'the same question id appears twice' });
      continue;
    }
    const images = await loadImages(row, options, cache);
    if (typeof images === 'string') {
      reject({ row: row.sourceId, reason: images });
      continue;
    }
    seen.add(row.sourceId);
    putQuestion(batch, row, images, options, at);
    counts.questions++;
    counts.images += images.length;
    if (images.length === 1) counts.singleImage++;
    else counts.multiImage++;
  }
  await batch.write();
  return { counts, rejected };
}

/** A file's JSON (or, with `lines`, JSON lines when it is not one JSON value); an unreadable file is the user's mistake. */
export async function readJsonInput(file: string, options: { lines?: boolean } = {}): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ImportInputError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!options.lines) throw new ImportInputError(`${file}: not JSON (${(error as Error).message})`);
  }
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line)];
    } catch {
      // A broken line is one rejected row, not the end of the import.
      return [{ unreadableLine: i + 1 }];
    }
  });
}
