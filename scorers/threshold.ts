// The adaptive reranking threshold from a labelled dev set: the score at which the distributions
// of correct and incorrect recalls cross. Each class's density is estimated with a Gaussian kernel
// (Silverman's bandwidth) and normalized on its own, so class sizes do not move the answer; the
// crossing is where J(t) = CDF_incorrect(t) − CDF_correct(t) peaks (J' = f_incorrect − f_correct = 0).

export interface LabelledScore {
  score: number;
  correct: boolean;
}

export type ThresholdResult =
  | { ok: true; threshold: number; correct: number; incorrect: number; separation: number }
  | { ok: false; reason: string };

function normalCdf(z: number): number {
  // Abramowitz–Stegun 7.1.26 erf approximation (|error| < 1.5e-7).
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t) * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

function silvermanBandwidth(values: number[]): number {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(n - 1, 1));
  const sorted = [...values].sort((a, b) => a - b);
  const iqr = (sorted[Math.floor(0.75 * (n - 1))]! - sorted[Math.floor(0.25 * (n - 1))]!) / 1.34;
  const spread = Math.min(sd, iqr > 0 ? iqr : sd);
  return Math.max(0.9 * (spread > 0 ? spread : 0.05) * n ** -0.2, 1e-3);
}

function kernelCdf(values: number[], bandwidth: number, t: number): number {
  let sum = 0;
  for (const v of values) sum += normalCdf((t - v) / bandwidth);
  return sum / values.length;
}

export function adaptiveThreshold(samples: LabelledScore[], gridSteps = 1000): ThresholdResult {
  const correct = samples.filter((s) => s.correct && Number.isFinite(s.score)).map((s) => s.score);
  const incorrect = samples.filter((s) => !s.correct && Number.isFinite(s.score)).map((s) => s.score);
  if (correct.length < 2 || incorrect.length < 2) {
    return { ok: false, reason: `need at least 2 correct and 2 incorrect labelled scores (got ${correct.length} and ${incorrect.length})` };
  }
  const hCorrect = silvermanBandwidth(correct);
  const hIncorrect = silvermanBandwidth(incorrect);
  const js: number[] = [];
  for (let i = 0; i <= gridSteps; i++) {
    const t = i / gridSteps;
    js.push(kernelCdf(incorrect, hIncorrect, t) - kernelCdf(correct, hCorrect, t));
  }
  const peak = Math.max(...js);
  // Well-separated classes give a plateau at the peak: take its middle.
  const first = js.findIndex((j) => j >= peak - 1e-9);
  let last = first;
  while (last + 1 < js.length && js[last + 1]! >= peak - 1e-9) last++;
  const threshold = (first + last) / 2 / gridSteps;
  return { ok: true, threshold, correct: correct.length, incorrect: incorrect.length, separation: peak };
}
