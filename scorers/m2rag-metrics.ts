// The eight M2RAG metrics and their table, as the reference computes them (maziao/M2RAG evaluate.py
// and src/evaluator/few_shot_evaluator.py). Names and scales are the reference's: rubric scores are
// 0–10 and normalised to 0–1 (normed_score); context precision and faithfulness are 0–1. Text
// metrics are one value per answer; the three image metrics one value per cited image, pooled over
// all answers; image recall one value per answer, over the input images whose final score is ≥ 8
// (1.0 when there are none, as the reference has it). A metric's reference mean counts a failed
// judgment as 0, as the reference's table does; overall is the mean of the eight reference means. Beside
// it we keep the judged-only means (failures left out) and the count of failed judgments.
import type { EvalResult } from '../storage/index.js';

export const TEXT_METRICS = ['fluency', 'response_relevancy', 'context_precision', 'faithfulness'] as const;
export const IMAGE_PRECISION_METRICS = ['image_coherence', 'image_helpfulness', 'image_reference'] as const;
export const M2RAG_METRICS = [...TEXT_METRICS, ...IMAGE_PRECISION_METRICS, 'image_recall'] as const;
export type M2ragMetric = (typeof M2RAG_METRICS)[number];
export type TextRubricMetric = 'fluency' | 'response_relevancy';
export type ImageMetric = (typeof IMAGE_PRECISION_METRICS)[number];

/** The reference's image_score_threshold: input images at or above it are image recall's positives. */
export const IMAGE_SCORE_THRESHOLD = 8;
/** The reference's rubric scale: 0 to 10. */
export const RUBRIC_UPPER_BOUND = 10;
/** The reference's max_context_tokens (512), split evenly above and below each cited image. */
export const IMAGE_CONTEXT_TOKENS = 256;

/** The reference's normed_score: the score clamped to [lower, upper], over upper. */
export function normedScore(score: number, upper: number, lower = 0): number {
  return Math.max(lower, Math.min(upper, score)) / upper;
}

/** Image recall: cited positives over positives; 1.0 when there are none, as in the reference. */
export function imageRecall(citedImageIds: string[], positiveImageIds: string[]): number {
  const positives = new Set(positiveImageIds);
  if (positives.size === 0) return 1;
  const cited = new Set(citedImageIds);
  return [...positives].filter((id) => cited.has(id)).length / positives.size;
}

/** ragas context precision: the mean, over the useful contexts, of the precision at each one's rank; 0 when none was useful. */
export function contextPrecision(useful: boolean[]): number {
  let hits = 0;
  let sum = 0;
  useful.forEach((isUseful, i) => {
    if (isUseful) sum += ++hits / (i + 1);
  });
  return hits === 0 ? 0 : sum / hits;
}

/** ragas faithfulness: the share of the answer's statements the contexts support; undefined without statements. */
export function faithfulness(supported: boolean[]): number | undefined {
  return supported.length === 0 ? undefined : supported.filter(Boolean).length / supported.length;
}

export interface MetricSummary {
  /** The reference's mean: failed judgments count as 0. */
  mean?: number;
  /** Mean over the judgments made, failures left out. */
  judgedMean?: number;
  /** Judgments made. */
  n: number;
  failed: number;
}

export interface OverallSummary {
  /** Mean of the eight reference means; undefined while any metric has no judgment at all. */
  reference?: number;
  /** Mean of the judged-only means of the metrics that have one; undefined when no judged metric has one. */
  judgedOnly?: number;
  failedJudgments: number;
  /** Metrics without a single judgment (made or failed): they leave `reference` undefined. */
  unjudged: M2ragMetric[];
}

type Judgments = { values: number[]; failed: number };

export type M2ragResult = Pick<EvalResult, 'metrics' | 'failed' | 'images'>;

/** Each metric's judgments over a set of answers: per answer for text metrics and recall, per cited image for the image metrics. */
function judgmentsOf(results: M2ragResult[]): Record<M2ragMetric, Judgments> {
  const all = Object.fromEntries(M2RAG_METRICS.map((m) => [m, { values: [] as number[], failed: 0 }])) as Record<M2ragMetric, Judgments>;
  for (const result of results) {
    for (const metric of [...TEXT_METRICS, 'image_recall'] as const) {
      const value = result.metrics[metric];
      if (value !== undefined) all[metric].values.push(value);
      all[metric].failed += result.failed[metric] ?? 0;
    }
    for (const image of result.images ?? []) {
      for (const metric of IMAGE_PRECISION_METRICS) {
        const value = image.metrics[metric];
        if (value !== undefined) all[metric].values.push(value);
        else if (image.reasons?.[metric] !== undefined) all[metric].failed++;
      }
    }
  }
  return all;
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

export function mean(values: number[]): number | undefined {
  return values.length ? sum(values) / values.length : undefined;
}

/** The M2RAG table of a set of evaluation results: each metric's means and counts, and overall. */
export function summarizeM2rag(results: M2ragResult[]): { metrics: Record<M2ragMetric, MetricSummary>; overall: OverallSummary } {
  const judgments = judgmentsOf(results);
  const metrics = {} as Record<M2ragMetric, MetricSummary>;
  for (const metric of M2RAG_METRICS) {
    const { values, failed } = judgments[metric];
    const total = values.length + failed;
    metrics[metric] = { mean: total === 0 ? undefined : sum(values) / total, judgedMean: mean(values), n: values.length, failed };
  }
  const unjudged = M2RAG_METRICS.filter((m) => metrics[m].mean === undefined);
  const judged = M2RAG_METRICS.filter((m) => m !== 'image_recall' && metrics[m].judgedMean !== undefined);
  return {
    metrics,
    overall: {
      reference: unjudged.length === 0 ? sum(M2RAG_METRICS.map((m) => metrics[m].mean!)) / M2RAG_METRICS.length : undefined,
      judgedOnly: judged.length === 0 ? undefined : mean(M2RAG_METRICS.flatMap((m) => (metrics[m].judgedMean === undefined ? [] : [metrics[m].judgedMean!]))),
      failedJudgments: sum(M2RAG_METRICS.map((m) => metrics[m].failed)),
      unjudged,
    },
  };
}
