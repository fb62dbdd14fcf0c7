// Calibration of the embedded (model-free) scores onto the M2RAG 0–10 scale, so embedded and
// LLM-judged scores can share thresholds (keep ≥ 3, image-recall positives ≥ 8).
//
// - BM25: raw BM25 is unbounded and grows with query length, so it is made relative within a
//   query: 10 × (raw / best raw score among the query's elements) × (share of distinct query terms
//   the element contains). The best chunk that holds every query term gets 10; a chunk without any
//   query term gets 0.
// - Embedding cosine similarity: linear from `floor` (→ 0) to `ceiling` (→ 10), clamped. The
//   defaults (0.1, 0.7) fit sentence encoders such as Universal Sentence Encoder, whose unrelated
//   pairs sit near 0.0–0.2 and paraphrases near 0.7–0.9; CLIP-family text–image cosines are much
//   lower (unrelated ≈ 0.15, matching ≈ 0.35), hence their own floor and ceiling.

export interface CosineCalibration {
  floor: number;
  ceiling: number;
}

export const SENTENCE_COSINE: CosineCalibration = { floor: 0.1, ceiling: 0.7 };
export const CLIP_COSINE: CosineCalibration = { floor: 0.15, ceiling: 0.35 };

export function clampScore(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.min(10, Math.max(0, value));
}

export function cosineToScore(cosine: number, calibration: CosineCalibration = SENTENCE_COSINE): number {
  return clampScore((10 * (cosine - calibration.floor)) / (calibration.ceiling - calibration.floor));
}

const STOPWORDS = new Set(
  'a an the and or of to in on for with by at from is are was were be been what who whom which when where why how does did do his her its their this that these those as about into than'.split(' '),
);

/** Lowercased content words of a text (letters and digits, stopwords removed), distinct. */
export function contentTerms(text: string): Set<string> {
  const terms = new Set<string>();
  for (const word of text.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '').match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (!STOPWORDS.has(word)) terms.add(word);
  }
  return terms;
}

/** Share (0–1) of the query's content terms that occur in the text. */
export function termCoverage(query: string, text: string): number {
  const wanted = contentTerms(query);
  if (wanted.size === 0) return 0;
  const present = contentTerms(text);
  let found = 0;
  for (const term of wanted) if (present.has(term)) found++;
  return found / wanted.size;
}

export function bm25ToScore(raw: number, bestRaw: number, coverage: number): number {
  if (!(raw > 0) || !(bestRaw > 0)) return 0;
  return clampScore(10 * (raw / bestRaw) * coverage);
}

/** Cosine similarity of two L2-normalized vectors (their inner product). */
export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) sum += a[i]! * b[i]!;
  return sum;
}
