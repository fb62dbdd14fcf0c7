// Metrics besides the M2RAG eight (scorers/m2rag-metrics.ts): retrieval precision/recall/F1 at N
// pooled over the dataset (as RagVL reports them) and mean Recall@K, and WebQA-style QA accuracy
// (keyword accuracy, exact match after normalization); and the corpus summary of stored evaluation
// results. Per-generation figures are kept as counts, so the corpus figures can be pooled again.
import type { EvalResult } from '../storage/index.js';
import { mean, summarizeM2rag, type M2ragMetric, type MetricSummary, type OverallSummary } from './m2rag-metrics.js';

export type RetrievalFigures = NonNullable<EvalResult['retrieval']>;

/**
 * One generation's image retrieval as counts: its inputs (the reranked top N) and its retrieval
 * candidates (the top K, in retrieval order) against the relevant images.
 */
export function retrievalFigures(labels: RetrievalFigures['labels'], inputs: string[], candidates: string[], relevant: string[]): RetrievalFigures {
  const gold = new Set(relevant);
  const hitsIn = (ids: string[]): number => new Set(ids.filter((id) => gold.has(id))).size;
  return { labels, retrieved: inputs.length, relevant: gold.size, hits: hitsIn(inputs), candidates: candidates.length, candidateHits: hitsIn(candidates) };
}

export interface PooledRetrieval {
  labels: RetrievalFigures['labels'] | 'labels-file+scores>=8';
  /** N: the most inputs any generation had. */
  n: number;
  /** K: the most candidates any generation had. */
  k: number;
  precision: number;
  recall: number;
  f1: number;
  /** Mean Recall@K over the generations with relevant images; undefined when none has any. */
  recallAtK?: number;
  queries: number;
}

/** Precision, recall and F1 at N pooled over the dataset (total hits over total retrieved / relevant), and mean Recall@K. */
export function poolRetrieval(figures: RetrievalFigures[]): PooledRetrieval | undefined {
  if (figures.length === 0) return undefined;
  const total = (key: 'retrieved' | 'relevant' | 'hits'): number => figures.reduce((a, f) => a + f[key], 0);
  const precision = total('retrieved') === 0 ? 0 : total('hits') / total('retrieved');
  const recall = total('relevant') === 0 ? 0 : total('hits') / total('relevant');
  const sources = [...new Set(figures.map((f) => f.labels))].sort();
  return {
    labels: sources.length === 1 ? sources[0]! : 'labels-file+scores>=8',
    n: Math.max(1, ...figures.map((f) => f.retrieved)),
    k: Math.max(1, ...figures.map((f) => f.candidates)),
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    recallAtK: mean(figures.filter((f) => f.relevant > 0).map((f) => f.candidateHits / f.relevant)),
    queries: figures.length,
  };
}

const NUMBER_WORDS: Record<string, string> = {
  zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9', ten: '10',
  eleven: '11', twelve: '12', thirteen: '13', fourteen: '14', fifteen: '15', sixteen: '16', seventeen: '17', eighteen: '18',
  nineteen: '19', twenty: '20', thirty: '30', forty: '40', fifty: '50', sixty: '60', seventy: '70', eighty: '80', ninety: '90',
  hundred: '100', first: '1st', second: '2nd', third: '3rd',
};

/** SQuAD/WebQA normalization: lowercase, punctuation and articles removed, number words as digits, spaces collapsed. */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter((w) => w !== '' && w !== 'a' && w !== 'an' && w !== 'the')
    .map((w) => NUMBER_WORDS[w] ?? w)
    .join(' ');
}

export function exactMatch(prediction: string, gold: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

/** WebQA-style keyword accuracy: share of the gold keywords found (as whole normalized words) in the prediction. */
export function keywordAccuracy(prediction: string, keywords: string[]): number | undefined {
  const wanted = keywords.map(normalizeAnswer).filter((k) => k !== '');
  if (wanted.length === 0) return undefined;
  const text = ` ${normalizeAnswer(prediction)} `;
  return wanted.filter((k) => text.includes(` ${k} `)).length / wanted.length;
}

/** The QA metrics a gold answer and keywords allow (each only when its gold part is given). */
export function qaMetrics(prediction: string, gold: { answer?: string; keywords?: string[] }): { exactMatch?: number; keywordAccuracy?: number } {
  const metrics: { exactMatch?: number; keywordAccuracy?: number } = {};
  if (gold.answer !== undefined) metrics.exactMatch = exactMatch(prediction, gold.answer);
  const keywords = gold.keywords ? keywordAccuracy(prediction, gold.keywords) : undefined;
  if (keywords !== undefined) metrics.keywordAccuracy = keywords;
  return metrics;
}

export interface EvalSummary {
  m2rag: Record<M2ragMetric, MetricSummary>;
  overall: OverallSummary;
  /** Answers whose inputs held no image scored ≥ 8: their image recall is 1.0 by the reference's rule. */
  recallWithoutPositives: number;
  retrieval?: PooledRetrieval;
  qa?: { exactMatch?: number; keywordAccuracy?: number; queries: number };
  /** Failed judgments by `metric: reason` (the reason's part before its first ':'). */
  failedReasons: Record<string, number>;
}

/** The corpus-level figures of a set of evaluation results. */
export function summarizeEvalResults(results: Array<Pick<EvalResult, 'metrics' | 'failed' | 'reasons' | 'retrieval' | 'images' | 'positiveImages'>>): EvalSummary {
  const { metrics, overall } = summarizeM2rag(results);
  const failedReasons: Record<string, number> = {};
  const bump = (metric: string, reason: string): void => {
    const key = `${metric}: ${reason.split(':')[0]}`;
    failedReasons[key] = (failedReasons[key] ?? 0) + 1;
  };
  for (const r of results) {
    for (const [metric, reason] of Object.entries(r.reasons ?? {})) bump(metric, reason);
    for (const image of r.images ?? []) for (const [metric, reason] of Object.entries(image.reasons ?? {})) bump(metric, reason);
  }
  const summary: EvalSummary = { m2rag: metrics, overall, recallWithoutPositives: results.filter((r) => r.positiveImages === 0).length, failedReasons };
  const retrieval = poolRetrieval(results.flatMap((r) => (r.retrieval ? [r.retrieval] : [])));
  if (retrieval) summary.retrieval = retrieval;
  const em = results.flatMap((r) => (r.metrics.exactMatch === undefined ? [] : [r.metrics.exactMatch]));
  const kw = results.flatMap((r) => (r.metrics.keywordAccuracy === undefined ? [] : [r.metrics.keywordAccuracy]));
  if (em.length + kw.length > 0) summary.qa = { exactMatch: mean(em), keywordAccuracy: mean(kw), queries: Math.max(em.length, kw.length) };
  return summary;
}
