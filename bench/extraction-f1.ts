// The article-extraction benchmark's scoring (Scrapinghub's article-extraction-benchmark): texts
// become multisets of 4-token shingles (tokens are runs of word characters); per page TP, FP and FN
// are the multiset overlaps normalized by their sum; precision and recall are means over pages and
// F1 is the harmonic mean of those two means.

// Python's Unicode \w (letters, numbers, underscore); JavaScript's \w is ASCII-only.
const TOKEN = /[\p{L}\p{N}_]+/gu;
const SHINGLE_TOKENS = 4;

/** The text's 4-token shingles with their counts; a text shorter than 4 tokens is one shingle. */
export function shingleCounts(text: string): Map<string, number> {
  const tokens = text.match(TOKEN) ?? [];
  const counts = new Map<string, number>();
  for (let i = 0; i < Math.max(1, tokens.length - SHINGLE_TOKENS + 1); i++) {
    const shingle = tokens.slice(i, i + SHINGLE_TOKENS).join(' ');
    if (shingle) counts.set(shingle, (counts.get(shingle) ?? 0) + 1);
  }
  return counts;
}

export interface PageMatch {
  tp: number;
  fp: number;
  fn: number;
}

/** TP, FP, FN of one page, normalized by their sum (both texts empty counts as a perfect match). */
export function matchPage(truth: string, predicted: string): PageMatch {
  const truthCounts = shingleCounts(truth);
  const predictedCounts = shingleCounts(predicted);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const [shingle, n] of predictedCounts) {
    const m = truthCounts.get(shingle) ?? 0;
    tp += Math.min(n, m);
    fp += Math.max(0, n - m);
  }
  for (const [shingle, m] of truthCounts) fn += Math.max(0, m - (predictedCounts.get(shingle) ?? 0));
  const sum = tp + fp + fn;
  if (sum === 0) return { tp: 1, fp: 0, fn: 0 };
  return { tp: tp / sum, fp: fp / sum, fn: fn / sum };
}

export function pagePrecision(m: PageMatch): number {
  return m.tp + m.fp > 0 ? m.tp / (m.tp + m.fp) : 0;
}

export function pageRecall(m: PageMatch): number {
  return m.tp + m.fn > 0 ? m.tp / (m.tp + m.fn) : 0;
}

export interface ExtractionScore {
  pages: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Scores predictions against the truth over the truth's pages (a missing prediction is empty). */
export function scoreExtraction(truth: Record<string, string>, predicted: Record<string, string>): ExtractionScore {
  const ids = Object.keys(truth);
  const matches = ids.map((id) => matchPage(truth[id]!, predicted[id] ?? ''));
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
  const precision = mean(matches.map(pagePrecision));
  const recall = mean(matches.map(pageRecall));
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { pages: ids.length, precision, recall, f1 };
}
