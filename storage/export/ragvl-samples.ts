// The RagVL training data as the runner mines it (src/runner/ragvl-training.ts) and the export
// writers take it: Yes/No reranker pairs and noise-injected generator samples, plus the counts and
// settings behind them. The writers only lay these out; choosing them needs the models.
import { access, copyFile } from 'node:fs/promises';
import path from 'node:path';
import type { Image } from '../schemas.js';
import { onMissingBlob, type ExportContext } from './context.js';
import { imageFileOf } from './m2rag.js';

export const IMAGE_TOKEN = '<image>';

export interface RagvlRerankPair {
  queryId: string;
  imageId: string;
  question: string;
  /** Our description of the image (or its page context), when it has one. */
  caption?: string;
  target: 'Yes' | 'No';
  /** The reranker's text with the caption, and the caption-agnostic one (no `<image>` token). */
  prompt: string;
  promptCaptionAgnostic: string;
  /** The image's rank in the mining retrieval (1-based), when retrieval found it. */
  retrievalRank?: number;
}

export interface RagvlQaSample {
  queryId: string;
  question: string;
  /** The images in the order they are shown: the gold ones and, for a single-image query, one hard negative. */
  imageIds: string[];
  /** The injected hard negative, for a single-image query. */
  injectedNegativeId?: string;
  /** The user's text after the image tokens. */
  prompt: string;
  answer: string;
  /** `benchmark` (an imported gold answer) or `generation` (the stored answer). */
  answerSource: 'benchmark' | 'generation';
}

export interface RagvlTrainingSet {
  pairs: RagvlRerankPair[];
  qa: RagvlQaSample[];
  /** What mining found and left out, for each format. */
  counts: { rerank: Record<string, number>; qa: Record<string, number> };
  /** How the data was chosen (threshold, ratio, embedder), for the card. */
  settings: Record<string, unknown>;
}

/** Copies the images into the export; the file of each, or undefined when one is missing and the export allows it (`--allow-missing`). */
export async function copyImages(ctx: ExportContext, imageIds: string[], copied: Map<string, string>): Promise<string[] | undefined> {
  const files: string[] = [];
  for (const id of imageIds) {
    if (!copied.has(id)) {
      const image: Image | undefined = await ctx.store.get('images', id);
      const present = image && (await access(ctx.store.blobPath(id)).then(() => true, () => false));
      if (image && !present) onMissingBlob(ctx, id);
      if (!image || !present) return undefined;
      const file = imageFileOf(id, image.mime);
      await copyFile(ctx.store.blobPath(id), path.join(ctx.outDir, file));
      copied.set(id, file);
    }
    files.push(copied.get(id)!);
  }
  return files;
}

export const json = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';
export const jsonLines = (values: unknown[]): string => values.map((v) => JSON.stringify(v) + '\n').join('');

/** InternVL's fine-tuning meta file (internvl_chat/shell/data/*.json): one entry per annotation file. */
export function internvlMeta(entries: Record<string, { annotation: string; length: number }>): string {
  return json(Object.fromEntries(Object.entries(entries).map(([name, e]) => [name, { root: '.', annotation: e.annotation, data_augment: false, repeat_time: 1, length: e.length }])));
}

const TAGS = { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant' };

/** LLaMA-Factory's dataset_info.json for ShareGPT files with images. */
export function llamaFactoryInfo(files: Record<string, string>): string {
  return json(Object.fromEntries(Object.entries(files).map(([name, file]) => [name, { file_name: file, formatting: 'sharegpt', columns: { messages: 'messages', images: 'images' }, tags: TAGS }])));
}
