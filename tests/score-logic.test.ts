// Pure scoring logic: rubric parsing, calibration, selection, Yes/No relevance, adaptive threshold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigSchema } from '../src/core/config.js';
import { bm25ToScore, cosineToScore, termCoverage } from '../scorers/calibration.js';
import { parseRubricScore } from '../scorers/rubrics.js';
import { selectChunks, selectImages, type Candidate } from '../scorers/selection.js';
import { adaptiveThreshold, type LabelledScore } from '../scorers/threshold.js';
import { yesNoRelevance } from '../scorers/yes-no.js';

test('rubric replies: last integer, clamped; no integer is a failure, not 0', () => {
  assert.deepEqual(parseRubricScore('On a scale of 0 to 10 this is a 7.'), { ok: true, score: 7 });
  assert.deepEqual(parseRubricScore('Score: 12'), { ok: true, score: 10 });
  assert.deepEqual(parseRubricScore('-3'), { ok: true, score: 0 });
  assert.deepEqual(parseRubricScore('8.6'), { ok: true, score: 9 });
  const failed = parseRubricScore('I cannot judge this text.');
  assert.equal(failed.ok, false);
  assert.match((failed as { reason: string }).reason, /no integer/);
});

test('calibration maps BM25 and cosine onto 0–10', () => {
  assert.equal(cosineToScore(0.1), 0);
  assert.equal(cosineToScore(0.7), 10);
  assert.ok(Math.abs(cosineToScore(0.4) - 5) < 1e-9);
  assert.equal(cosineToScore(-0.3), 0);
  assert.equal(bm25ToScore(5, 5, 1), 10);
  assert.equal(bm25ToScore(0, 5, 1), 0);
  assert.equal(bm25ToScore(2.5, 5, 0.5), 2.5);
  assert.equal(termCoverage('Who was Ray Charles?', 'Ray Charles Robinson was a singer'), 1);
  assert.equal(termCoverage('Ray Charles piano', 'Ray sang'), 1 / 3);
});

test('selection: threshold, page caps, auxiliary cap, overall cap, failed judgments never kept', () => {
  const config = ConfigSchema.parse({ score: { chunksPerPage: 2, imagesPerPage: 2, keepAuxImages: 1, imagesOverall: 3 } }).score;
  const chunks: Candidate[] = [
    { id: 'a', pageId: 'p1', finalScore: 9 },
    { id: 'b', pageId: 'p1', finalScore: 8 },
    { id: 'c', pageId: 'p1', finalScore: 7 },
    { id: 'd', pageId: 'p2', finalScore: 2.9 },
    { id: 'e', pageId: 'p2' },
  ];
  const chunkDecisions = selectChunks(chunks, config);
  assert.deepEqual(
    Object.fromEntries([...chunkDecisions].map(([id, d]) => [id, d.kept ? 'kept' : d.reason])),
    { a: 'kept', b: 'kept', c: 'page-cap', d: 'below-threshold', e: 'judgment-failed' },
  );
  const images: Candidate[] = [
    { id: 'i1', pageId: 'p1', finalScore: 9 },
    { id: 'i2', pageId: 'p1', finalScore: 8 },
    { id: 'i3', pageId: 'p2', finalScore: 7 },
    { id: 'x1', finalScore: 10 },
    { id: 'x2', finalScore: 6 },
  ];
  const imageDecisions = selectImages(images, config);
  assert.deepEqual(
    Object.fromEntries([...imageDecisions].map(([id, d]) => [id, d.kept ? 'kept' : d.reason])),
    { x1: 'kept', i1: 'kept', i2: 'kept', i3: 'overall-cap', x2: 'auxiliary-cap' },
  );
});

test('Yes/No relevance: softmax over Yes and No first-token logprobs in any spelling', () => {
  const r = yesNoRelevance({ Yes: Math.log(0.6), ' yes': Math.log(0.1), No: Math.log(0.2), Maybe: Math.log(0.1) });
  assert.ok(r.ok);
  assert.ok(Math.abs((r as { relevance: number }).relevance - 0.7 / 0.9) < 1e-9);
  const upper = yesNoRelevance({ YES: Math.log(0.25), '▁NO': Math.log(0.75) });
  assert.ok(upper.ok && Math.abs(upper.relevance - 0.25) < 1e-9);
  const missing = yesNoRelevance({ Perhaps: -0.1, Sure: -2 });
  assert.equal(missing.ok, false);
  assert.match((missing as { reason: string }).reason, /no Yes\/No token/);
  assert.equal(yesNoRelevance(undefined).ok, false);
});

/** Normal quantiles by bisection on the CDF of a deterministic sample (no randomness in the test). */
function normalSample(mean: number, sd: number, n: number): number[] {
  const cdf = (z: number): number => 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3)));
  const quantile = (p: number): number => {
    let lo = -8;
    let hi = 8;
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (cdf(mid) < p) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  return Array.from({ length: n }, (_, i) => mean + sd * quantile((i + 0.5) / n));
}

test('adaptive threshold: where correct and incorrect distributions cross, whatever the class sizes', () => {
  // Equal spreads: the densities cross halfway between the means, at 0.55.
  const samples: LabelledScore[] = [
    ...normalSample(0.8, 0.08, 60).map((score) => ({ score, correct: true })),
    ...normalSample(0.3, 0.08, 240).map((score) => ({ score, correct: false })),
  ];
  const result = adaptiveThreshold(samples);
  assert.ok(result.ok);
  assert.ok(Math.abs(result.threshold - 0.55) < 0.02, `threshold ${result.threshold}`);
  // Shifted distributions move the crossing with them.
  const shifted = adaptiveThreshold([
    ...normalSample(0.9, 0.05, 100).map((score) => ({ score, correct: true })),
    ...normalSample(0.6, 0.05, 100).map((score) => ({ score, correct: false })),
  ]);
  assert.ok(shifted.ok && Math.abs(shifted.threshold - 0.75) < 0.02, JSON.stringify(shifted));
  const oneSided = adaptiveThreshold([{ score: 0.9, correct: true }, { score: 0.8, correct: true }]);
  assert.equal(oneSided.ok, false);
});
