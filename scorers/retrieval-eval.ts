// Text→image retrieval Recall@K (the RagVL retriever's benchmark): every caption ranks every image by
// cosine similarity in the configured image embedder's space; Recall@K is the share of captions whose
// own image ranks in the top K. Ties are broken at random in expectation (no optimistic ranking), so
// an embedder that gives many images the same vector scores what it deserves.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CsvError, parse } from 'csv-parse/sync';
import sharp from 'sharp';
import { UserError } from '../src/core/errors.js';
import type { ImageEmbedder } from '../src/models/types.js';

export interface CaptionRow {
  image: string;
  caption: string;
}

export interface RetrievalEvalResult {
  r1: number;
  r5: number;
  r10: number;
  /** Images ranked (the candidate pool). */
  n: number;
  captions: number;
  /** Images that could not be read or decoded, by file name, with the reason; left out of the pool. */
  skipped: Array<{ image: string; reason: string }>;
  embedder: string;
}

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

/** CSV records with the line each ends on; a line that is not CSV is the user's mistake and says where. */
function parseCsv(text: string, file: string): CsvRecord[] {
  try {
    return parse(text, {
      bom: true,
      info: true,
      // Lines may end either way within one file (hand-edited captions).
      record_delimiter: ['\r\n', '\n'],
      // Unquoted captions may contain commas and quotes: imageAndCaption rejoins the fields after the first.
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      // csv-parse's types do not model what `info: true` returns.
    }) as unknown as CsvRecord[];
  } catch (error) {
    if (error instanceof CsvError) throw new UserError(`${file}:${error.lines}: ${error.message}`);
    throw error;
  }
}

/** The image and the caption of a record, trimmed: only the first comma separates (captions contain commas). */
function imageAndCaption(record: string[]): [string, string] {
  return [record[0]!.trim(), record.slice(1).join(',').trim()];
}

/** `image,caption` rows (header required); a malformed line is the user's mistake and says where. */
export async function readCaptions(file: string): Promise<CaptionRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UserError(`${file}: cannot read captions (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const records = parseCsv(text, file);
  const [first, second] = records[0]?.info.lines === 1 ? imageAndCaption(records[0].record) : [];
  if (first?.toLowerCase() !== 'image' || second?.toLowerCase() !== 'caption') throw new UserError(`${file}:1: expected the header "image,caption"`);
  const rows: CaptionRow[] = [];
  for (const { record, info } of records.slice(1)) {
    const [image, caption] = imageAndCaption(record);
    // A line of spaces is a blank line.
    if (record.length === 1 && !image) continue;
    if (!image || !caption) throw new UserError(`${file}:${info.lines}: expected "image,caption"`);
    rows.push({ image, caption });
  }
  if (rows.length === 0) throw new UserError(`${file}: no captions`);
  return rows;
}

/** P(rank ≤ k) when `greater` images score above the right one and `tied` others score the same. */
function hitProbability(greater: number, tied: number, k: number): number {
  return Math.min(1, Math.max(0, (k - greater) / (tied + 1)));
}

export async function evaluateTextToImage(
  imagesDir: string,
  rows: CaptionRow[],
  embedder: ImageEmbedder,
  options: { limit?: number; batch?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<RetrievalEvalResult> {
  const names = [...new Set(rows.map((r) => r.image))].slice(0, options.limit ?? Infinity);
  const skipped: RetrievalEvalResult['skipped'] = [];
  const pool: Array<{ name: string; bytes: Buffer }> = [];
  for (const name of names) {
    try {
      const bytes = await readFile(path.join(imagesDir, name));
      await sharp(bytes).metadata();
      pool.push({ name, bytes });
    } catch (error) {
      skipped.push({ image: name, reason: (error as NodeJS.ErrnoException).code ?? (error as Error).message.split('\n')[0]! });
    }
  }
  if (pool.length === 0) throw new UserError(`${imagesDir}: none of the captioned images could be read`);
  const batch = options.batch ?? 16;
  const imageVectors: Float32Array[] = [];
  for (let i = 0; i < pool.length; i += batch) {
    imageVectors.push(...(await embedder.embedImages(pool.slice(i, i + batch).map((p) => p.bytes))));
    options.onProgress?.(imageVectors.length, pool.length);
  }
  const indexOf = new Map(pool.map((p, i) => [p.name, i]));
  const queries = rows.filter((r) => indexOf.has(r.image));
  const captionVectors = await embedder.embedTexts(queries.map((q) => q.caption));
  const sums = { r1: 0, r5: 0, r10: 0 };
  for (const [qi, query] of queries.entries()) {
    const q = captionVectors[qi]!;
    const scores = imageVectors.map((v) => v.reduce((s, x, d) => s + x * q[d]!, 0));
    const truth = scores[indexOf.get(query.image)!]!;
    let greater = 0;
    let tied = -1;
    for (const s of scores) {
      if (s > truth + 1e-7) greater++;
      else if (Math.abs(s - truth) <= 1e-7) tied++;
    }
    sums.r1 += hitProbability(greater, tied, 1);
    sums.r5 += hitProbability(greater, tied, 5);
    sums.r10 += hitProbability(greater, tied, 10);
  }
  const round = (x: number) => Math.round((x / queries.length) * 10_000) / 10_000;
  return { r1: round(sums.r1), r5: round(sums.r5), r10: round(sums.r10), n: pool.length, captions: queries.length, skipped, embedder: `${embedder.provider}/${embedder.model}` };
}
