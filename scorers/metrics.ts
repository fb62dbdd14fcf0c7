// Metrics: the M2RAG eight (aggregated with per-metric failed-judgment counts), image recall,
// retrieval precision/recall/F1 at N pooled over the dataset (as RagVL reports them), Recall@K per
// query, and WebQA-style QA accuracy (keyword accuracy, exact match after normalization).

export const M2RAG_METRICS = [
  'fluency',
  'relevance',
  'contextPrecision',
  'faithfulness',
  'imageCoherence',
  'helpfulness',
  'reference',
  'imageRecall',
] as const;
export type M2ragMetric = (typeof M2RAG_METRICS)[number];

/** Image recall: cited positives over positives (input images with final score ≥ 8); 1.0 when there are none. */
export function imageRecall(citedImageIds: string[], positiveImageIds: string[]): number {
  if (positiveImageIds.length === 0) return 1;
  const cited = new Set(citedImageIds);
  return positiveImageIds.filter((id) => cited.has(id)).length / positiveImageIds.length;
}

/** Overall = mean of the metrics that were computed (failed or not-applicable ones are left out, not zeroed). */
export function overallOf(metrics: Partial<Record<string, number>>): number | undefined {
  const values = M2RAG_METRICS.map((m) => metrics[m]).filter((v): v is number => v !== undefined);
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}

export interface MetricSummary {
  mean?: number;
  n: number;
  failed: number;
}

/** Mean of each metric over the results that have it, and how many judgments failed. */
export function summarizeMetrics(results: Array<{ metrics: Record<string, number>; failed: Record<string, number> }>): Record<string, MetricSummary> {
  const names = new Set<string>();
  for (const r of results) {
    for (const k of Object.keys(r.metrics)) names.add(k);
    for (const k of Object.keys(r.failed)) names.add(k);
  }
  const summary: Record<string, MetricSummary> = {};
  for (const name of [...names].sort()) {
    const values = results.map((r) => r.metrics[name]).filter((v): v is number => v !== undefined);
    summary[name] = {
      mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined,
      n: values.length,
      failed: results.reduce((a, r) => a + (r.failed[name] ?? 0), 0),
    };
  }
  return summary;
}

export interface RetrievalCase {
  retrieved: string[];
  relevant: string[];
}

/** Precision, recall and F1 at N pooled over the dataset: total hits over total retrieved / relevant. */
export function pooledPrfAtN(cases: RetrievalCase[], n: number): { precision: number; recall: number; f1: number } {
  let hits = 0;
  let retrieved = 0;
  let relevant = 0;
  for (const c of cases) {
    const top = c.retrieved.slice(0, n);
    const gold = new Set(c.relevant);
    hits += top.filter((id) => gold.has(id)).length;
    retrieved += top.length;
    relevant += gold.size;
  }
  const precision = retrieved === 0 ? 0 : hits / retrieved;
  const recall = relevant === 0 ? 0 : hits / relevant;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/** Recall@K for one query: share of its relevant items among the top K; undefined without relevant items. */
export function recallAtK(retrieved: string[], relevant: string[], k: number): number | undefined {
  if (relevant.length === 0) return undefined;
  const top = new Set(retrieved.slice(0, k));
  return relevant.filter((id) => top.has(id)).length / new Set(relevant).size;
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
