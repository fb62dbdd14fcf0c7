// Reranking, the RagVL way: for each retrieved image the vision model sees the image, its caption
// (our description, the dataset's caption, or none: `run --caption`) and the question, and answers Yes or No; relevance = P(Yes) / (P(Yes) + P(No)) from
// the first token's log-probabilities, so each request stops after one token. Candidates go out
// concurrently (the endpoint's concurrency limit applies). The top N at or above the threshold are kept.
// Without a vision model: the labelled fallback `embedding-description-match`, the mean of the
// calibrated query–image similarity from retrieval and the share of query terms in the description/context.
import type { RerankCaption } from '../core/config.js';
import { renderPrompt } from '../core/prompts.js';
import { failureReason } from '../models/errors.js';
import type { ChatMessage, Models, ChatModel } from '../models/types.js';
import { CLIP_COSINE, cosineToScore, SENTENCE_COSINE, termCoverage, type CosineCalibration } from '../../scorers/calibration.js';
import { yesNoRelevance } from '../../scorers/yes-no.js';
import { DATASET_CAPTION_METHOD } from '../../storage/import/benchmark.js';
import type { CorpusStore, Description } from '../../storage/index.js';
import type { ImageEntry } from './retrieve.js';
import type { VectorHit } from './vector-index.js';
import { RERANK_CAPTION_PROMPT, RERANK_NO_CAPTION_PROMPT } from './prompts.js';

export const RAGVL_METHOD = 'ragvl-yes-no';
export const FALLBACK_METHOD = 'embedding-description-match';

export interface RerankedCandidate {
  imageId: string;
  retrievalScore: number;
  relevance?: number;
  status: 'ok' | 'failed';
  reason?: string;
}

export interface RerankResult {
  method: typeof RAGVL_METHOD | typeof FALLBACK_METHOD;
  threshold: number;
  /** Candidates in retrieval order, each with its relevance (or why it has none). */
  candidates: RerankedCandidate[];
  /** Image ids kept: the top N by relevance at or above the threshold. */
  kept: string[];
  requests: number;
  failed: number;
  latencyMs: number;
}

/**
 * The reranker's text for one candidate: with a caption, the caption template; without one (or with
 * `--caption none`), the caption-agnostic template.
 */
export function rerankPromptText(question: string, caption: string | undefined): string {
  return caption ? renderPrompt(RERANK_CAPTION_PROMPT, { caption, question }) : renderPrompt(RERANK_NO_CAPTION_PROMPT, { question });
}

export function rerankMessages(question: string, caption: string | undefined, image: Uint8Array): ChatMessage[] {
  return [{ role: 'user', content: [{ type: 'image', image }, { type: 'text', text: rerankPromptText(question, caption) }] }];
}

/**
 * The caption a candidate is reranked with: none (caption-agnostic), our description (or, lacking
 * one, its page context), or the dataset's own caption (imported with a benchmark).
 */
export function captionFor(entry: ImageEntry, mode: RerankCaption, datasetCaptions: ReadonlyMap<string, string> | undefined): string | undefined {
  if (mode === 'none') return undefined;
  if (mode === 'dataset') return datasetCaptions?.get(entry.imageId);
  return entry.description || entry.context || undefined;
}

/** The dataset's own caption of each image (descriptions imported with a benchmark), by image id. */
export function datasetCaptionsOf(descriptions: Map<string, Description[]>): Map<string, string> {
  const captions = new Map<string, string>();
  for (const [imageId, list] of descriptions) {
    const caption = list.find((d) => d.method === DATASET_CAPTION_METHOD && d.status === 'ok' && d.text);
    if (caption) captions.set(imageId, caption.text!);
  }
  return captions;
}

export interface RerankOptions {
  topN: number;
  threshold: number;
  fallbackThreshold: number;
  /** `sequential` sends one request at a time (RagVL's reference code); for benchmarks. */
  mode?: 'concurrent' | 'sequential';
  /** Which caption the vision reranker sees (`run --caption`); default our description. */
  caption?: RerankCaption;
  /** The dataset's own captions by image id, for `caption: 'dataset'`. */
  datasetCaptions?: ReadonlyMap<string, string>;
}

async function scoreWithVision(vision: ChatModel, store: CorpusStore, question: string, hit: VectorHit, caption: string | undefined): Promise<RerankedCandidate> {
  const base = { imageId: hit.id, retrievalScore: hit.score };
  const image = await store.get('images', hit.id);
  const bytes = image && (await store.imageBytes(image, { prefer: 'thumbnail' }));
  if (!bytes) return { ...base, status: 'failed', reason: 'image bytes missing from the blob store' };
  try {
    const reply = await vision.chat({ messages: rerankMessages(question, caption, bytes), maxTokens: 1, temperature: 0, firstTokenLogprobs: 20 });
    const verdict = yesNoRelevance(reply.firstTokenLogprobs);
    return verdict.ok ? { ...base, status: 'ok', relevance: verdict.relevance } : { ...base, status: 'failed', reason: verdict.reason };
  } catch (error) {
    return { ...base, status: 'failed', reason: failureReason(error) };
  }
}

/**
 * The model-free fallback. The retrieval score already is the query–image similarity (description
 * embedding, or CLIP image embedding), so it is calibrated rather than recomputed.
 */
function scoreWithFallback(question: string, hits: VectorHit[], entries: ImageEntry[], similarity: CosineCalibration): RerankedCandidate[] {
  return hits.map((hit, i) => {
    const text = [entries[i]!.description, entries[i]!.context].filter(Boolean).join('\n');
    const relevance = 0.5 * (cosineToScore(hit.score, similarity) / 10) + 0.5 * termCoverage(question, text);
    return { imageId: hit.id, retrievalScore: hit.score, relevance, status: 'ok' as const };
  });
}

export async function rerank(
  models: Pick<Models, 'vision'>,
  store: CorpusStore,
  question: string,
  hits: VectorHit[],
  images: Map<string, ImageEntry>,
  options: RerankOptions & { imageMethod: 'image-embedding' | 'description-embedding' },
): Promise<RerankResult> {
  const started = performance.now();
  const entries = hits.map((h) => images.get(h.id)!);
  let candidates: RerankedCandidate[];
  let method: RerankResult['method'];
  let threshold: number;
  if (models.vision) {
    const vision = models.vision;
    const captions = entries.map((entry) => captionFor(entry, options.caption ?? 'description', options.datasetCaptions));
    method = RAGVL_METHOD;
    threshold = options.threshold;
    if (options.mode === 'sequential') {
      candidates = [];
      for (const [i, hit] of hits.entries()) candidates.push(await scoreWithVision(vision, store, question, hit, captions[i]));
    } else {
      candidates = await Promise.all(hits.map((hit, i) => scoreWithVision(vision, store, question, hit, captions[i])));
    }
  } else {
    method = FALLBACK_METHOD;
    threshold = options.fallbackThreshold;
    candidates = scoreWithFallback(question, hits, entries, options.imageMethod === 'image-embedding' ? CLIP_COSINE : SENTENCE_COSINE);
  }
  const kept = candidates
    .filter((c) => c.status === 'ok' && c.relevance! >= threshold)
    .sort((a, b) => b.relevance! - a.relevance! || b.retrievalScore - a.retrievalScore)
    .slice(0, options.topN)
    .map((c) => c.imageId);
  return {
    method,
    threshold,
    candidates,
    kept,
    requests: method === RAGVL_METHOD ? hits.length : 0,
    failed: candidates.filter((c) => c.status === 'failed').length,
    latencyMs: performance.now() - started,
  };
}
