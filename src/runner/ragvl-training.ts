// Mines RagVL's training data from a curated store, for `export --format ragvl-rerank|ragvl-qa`:
//   positives      the images a query's scores keep as relevant: status ok, final score ≥ minPositiveScore
//                  (default 8, the score M2RAG's image recall counts as relevant);
//   hard negatives the images retrieval ranks highest for the query among its top mineTopK that are
//                  not kept for it (an image kept below the positive score is neither), with the
//                  configured image embedder (CLIP-family) or, lacking one, the description embedder
//                  over every image that passed the image filter; negativesPerPositive of them per positive.
// Generator samples inject noise as RagVL does: a query with one positive gets its best hard negative
// beside it (before or after it, by a hash of the query id, so position teaches nothing), with the
// gold answer: an imported benchmark answer (then the user turn is the short-answer prompt), else
// the query's stored answer from a model (the user turn is the question). A query with several
// positives keeps up to run.topN of them, best first, with no noise.
import { createHash } from 'node:crypto';
import type { Config } from '../core/config.js';
import { renderPrompt } from '../core/prompts.js';
import type { Models } from '../models/types.js';
import { isKeptImage, loadDescriptions, type CorpusStore, type Generation, type Query } from '../../storage/index.js';
import type { RagvlQaSample, RagvlRerankPair, RagvlTrainingSet } from '../../storage/export/ragvl-samples.js';
import { SHORT_ANSWER_PROMPT } from './prompts.js';
import { rerankPromptText } from './rerank.js';
import { buildRetrievalCorpus, retrieve } from './retrieve.js';

export interface RagvlMiningOptions {
  /** Final score (0–10) at or above which a query's kept image is a positive. */
  minPositiveScore: number;
  /** Hard negatives per positive in the reranker data. */
  negativesPerPositive: number;
  /** How deep in the retrieval ranking negatives are mined. */
  mineTopK: number;
}

export const DEFAULT_MINING: RagvlMiningOptions = { minPositiveScore: 8, negativesPerPositive: 1, mineTopK: 20 };

interface QueryJudgments {
  positives: Array<{ imageId: string; score: number }>;
  kept: Set<string>;
}

async function judgmentsByQuery(store: CorpusStore, minPositiveScore: number): Promise<Map<string, QueryJudgments>> {
  const byQuery = new Map<string, QueryJudgments>();
  for await (const score of store.iterate('scores')) {
    if (score.elementKind !== 'image') continue;
    const entry = byQuery.get(score.queryId) ?? { positives: [], kept: new Set<string>() };
    if (score.kept) entry.kept.add(score.elementId);
    if (score.status === 'ok' && score.kept !== false && score.finalScore !== undefined && score.finalScore >= minPositiveScore) entry.positives.push({ imageId: score.elementId, score: score.finalScore });
    byQuery.set(score.queryId, entry);
  }
  for (const entry of byQuery.values()) entry.positives.sort((a, b) => b.score - a.score || a.imageId.localeCompare(b.imageId));
  return byQuery;
}

/** The answer a generator sample trains towards, or undefined when the query has none. */
function answerOf(query: Query, generations: Generation[]): { answer: string; source: 'benchmark' | 'generation' } | undefined {
  if (query.benchmark) return { answer: query.benchmark.answer, source: 'benchmark' };
  const answered = generations.filter((g) => g.status !== 'failed' && g.method !== 'extractive' && g.output.trim() !== '').sort((a, b) => a.id.localeCompare(b.id))[0];
  return answered && { answer: answered.output, source: 'generation' };
}

const negativeGoesFirst = (queryId: string): boolean => createHash('sha256').update(queryId).digest()[0]! % 2 === 0;

export async function mineRagvlTraining(store: CorpusStore, models: Models, config: Config, options: RagvlMiningOptions): Promise<RagvlTrainingSet> {
  const descriptions = await loadDescriptions(store);
  const filtered = new Set<string>();
  for await (const image of store.iterate('images')) if (isKeptImage(image)) filtered.add(image.id);
  // Every image that passed the filter is a candidate negative, whichever query it came from.
  const corpus = await buildRetrievalCorpus(store, models, config, descriptions, new Map([['', { chunkIds: new Set<string>(), imageIds: filtered }]]));
  const judgments = await judgmentsByQuery(store, options.minPositiveScore);
  const generations = new Map<string, Generation[]>();
  for await (const g of store.iterate('generations')) generations.set(g.queryId, [...(generations.get(g.queryId) ?? []), g]);
  const queries: Query[] = [];
  for await (const q of store.iterate('queries')) queries.push(q);
  queries.sort((a, b) => a.id.localeCompare(b.id));

  const rerank: Record<string, number> = { queries: queries.length, 'queries-with-positives': 0, 'left-out:no-positive': 0, 'queries-without-hard-negatives': 0 };
  const qa: Record<string, number> = { 'single-image': 0, 'multi-image': 0, 'injected-negatives': 0, 'left-out:no-positive': 0, 'left-out:no-answer': 0, 'left-out:no-hard-negative': 0 };
  const pairs: RagvlRerankPair[] = [];
  const samples: RagvlQaSample[] = [];
  const captionOf = (imageId: string): string | undefined => {
    const entry = corpus.images.get(imageId);
    return (entry ? entry.description || entry.context : descriptions.get(imageId)?.[0]?.text) || undefined;
  };
  const pairOf = (query: Query, imageId: string, target: 'Yes' | 'No', retrievalRank: number | undefined): RagvlRerankPair => {
    const caption = captionOf(imageId);
    return { queryId: query.id, imageId, question: query.query, caption, target, prompt: rerankPromptText(query.query, caption), promptCaptionAgnostic: rerankPromptText(query.query, undefined), retrievalRank };
  };
  for (const query of queries) {
    const judged = judgments.get(query.id);
    if (!judged || judged.positives.length === 0) {
      rerank['left-out:no-positive']!++;
      qa['left-out:no-positive']!++;
      continue;
    }
    rerank['queries-with-positives']!++;
    const positiveIds = new Set(judged.positives.map((p) => p.imageId));
    const hits = (await retrieve(corpus, models, query.query, { topK: options.mineTopK, chunks: 1 })).images;
    const rankOf = new Map(hits.map((h, i) => [h.id, i + 1]));
    const negatives = hits.filter((h) => !positiveIds.has(h.id) && !judged.kept.has(h.id)).map((h) => h.id);
    if (negatives.length === 0) rerank['queries-without-hard-negatives']!++;
    for (const p of judged.positives) pairs.push(pairOf(query, p.imageId, 'Yes', rankOf.get(p.imageId)));
    for (const id of negatives.slice(0, options.negativesPerPositive * judged.positives.length)) pairs.push(pairOf(query, id, 'No', rankOf.get(id)));

    const answer = answerOf(query, generations.get(query.id) ?? []);
    if (!answer) {
      qa['left-out:no-answer']!++;
      continue;
    }
    const prompt = answer.source === 'benchmark' ? renderPrompt(SHORT_ANSWER_PROMPT, { question: query.query }) : query.query;
    const base = { queryId: query.id, question: query.query, prompt, answer: answer.answer, answerSource: answer.source };
    if (judged.positives.length > 1) {
      samples.push({ ...base, imageIds: judged.positives.slice(0, config.run.topN).map((p) => p.imageId) });
      qa['multi-image']!++;
      continue;
    }
    const negative = negatives[0];
    if (!negative) {
      qa['left-out:no-hard-negative']!++;
      continue;
    }
    const gold = judged.positives[0]!.imageId;
    samples.push({ ...base, imageIds: negativeGoesFirst(query.id) ? [negative, gold] : [gold, negative], injectedNegativeId: negative });
    qa['single-image']!++;
    qa['injected-negatives']!++;
  }
  return {
    pairs,
    qa: samples,
    counts: { rerank, qa },
    settings: { ...options, embedder: corpus.imageMethod, candidates: corpus.images.size, qaMaxImages: config.run.topN },
  };
}
