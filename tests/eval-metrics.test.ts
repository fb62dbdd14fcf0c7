// Pure runner and metric logic: citation post-processing, the extractive generator, retrieval
// (exact and HNSW agree), M2RAG image recall and overall, pooled P/R/F1@N, Recall@K, QA metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postProcessAnswer } from '../src/runner/citations.js';
import { generateExtractive } from '../src/runner/generate.js';
import { buildVectorIndex } from '../src/runner/vector-index.js';
import { exactMatch, imageRecall, keywordAccuracy, normalizeAnswer, overallOf, pooledPrfAtN, recallAtK, summarizeMetrics } from '../scorers/metrics.js';

test('post-processing keeps the first citation of each existing image and renders figure blocks', () => {
  const images = [{ imageId: 'a', ext: 'jpg' }, { imageId: 'b', ext: 'png' }];
  const result = postProcessAnswer('Intro. ![Piano](images/2.jpg) more text ![dup](images/2.png) ![none](images/3.jpg) ![zero](images/0.jpg) end', images);
  assert.deepEqual(result.cited, [2]);
  assert.equal(result.outOfRange, 2);
  assert.equal(result.repeated, 1);
  assert.equal(result.text, 'Intro.\n\n![Piano](images/2.png)\n*Figure 1: Piano*\n\nmore text end');
});

test('the extractive generator picks query sentences and places each image after the sentence it matches', () => {
  const output = generateExtractive('single', {
    question: 'Ray Charles piano Georgia',
    chunks: [
      { id: 'c1', text: 'Ray Charles learned the piano as a child in Greenville, Florida. The weather was warm that year in many places.' },
      { id: 'c2', text: 'He recorded Georgia on My Mind in 1960 with a large orchestra. <IMAGE_PLACEHOLDER>[3]' },
    ],
    images: [
      { imageId: 'x', ext: 'jpg', description: 'Georgia on My Mind record sleeve from 1960', context: '' },
      { imageId: 'y', ext: 'png', description: 'Ray Charles at the piano as a child', context: '' },
    ],
  }, 2);
  assert.equal(output.method, 'extractive');
  assert.deepEqual(output.cited, [2, 1]);
  assert.match(output.output, /^Ray Charles learned the piano.*\n\n!\[Ray Charles at the piano as a child\]\(images\/2\.png\)\n\*Figure 1: .*\*\n\nHe recorded Georgia/s);
  assert.doesNotMatch(output.output, /IMAGE_PLACEHOLDER|weather/);
  const textOnly = generateExtractive('text', { question: 'Ray Charles piano', chunks: [{ id: 'c', text: 'Ray Charles played the piano for decades on stage.' }], images: [{ imageId: 'x', ext: 'jpg', description: 'piano', context: '' }] });
  assert.deepEqual(textOnly.cited, []);
  const empty = generateExtractive('single', { question: 'q', chunks: [], images: [{ imageId: 'x', ext: 'jpg', description: 'a piano', context: '' }] });
  assert.equal(empty.counts['no-usable-sentence'], 1);
  assert.deepEqual(empty.cited, [1]);
});

test('exact inner-product search and the usearch HNSW index return the same neighbours', () => {
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const unit = (v: Float32Array): Float32Array => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const vectors = Array.from({ length: 400 }, () => unit(Float32Array.from({ length: 16 }, random)));
  const ids = vectors.map((_, i) => `v${i}`);
  const exact = buildVectorIndex(ids, vectors, { annAbove: 1000 });
  const ann = buildVectorIndex(ids, vectors, { annAbove: 100 });
  assert.equal(exact.kind, 'exact');
  assert.equal(ann.kind, 'hnsw');
  let agree = 0;
  for (let q = 0; q < 20; q++) {
    const query = vectors[q * 7]!;
    const e = exact.search(query, 5);
    const a = ann.search(query, 5);
    assert.equal(e[0]!.id, `v${q * 7}`);
    assert.ok(Math.abs(e[0]!.score - 1) < 1e-5);
    assert.ok(Math.abs(a[0]!.score - e[0]!.score) < 1e-4);
    agree += a.filter((h) => e.some((x) => x.id === h.id)).length;
  }
  assert.ok(agree / 100 >= 0.95, `HNSW recall@5 ${agree / 100}`);
});

test('image recall, overall and metric summaries leave failed judgments out instead of zeroing them', () => {
  assert.equal(imageRecall(['a', 'b'], ['a', 'c']), 0.5);
  assert.equal(imageRecall([], []), 1);
  assert.ok(Math.abs(overallOf({ fluency: 0.8, imageRecall: 0.4 })! - 0.6) < 1e-12);
  assert.equal(overallOf({}), undefined);
  const summary = summarizeMetrics([
    { metrics: { fluency: 0.8 }, failed: {} },
    { metrics: {}, failed: { fluency: 1 } },
  ]);
  assert.deepEqual(summary.fluency, { mean: 0.8, n: 1, failed: 1 });
});

test('retrieval metrics: pooled precision/recall/F1 at N and Recall@K', () => {
  const prf = pooledPrfAtN(
    [
      { retrieved: ['a', 'b'], relevant: ['a'] },
      { retrieved: ['c', 'd'], relevant: ['d', 'e', 'f'] },
    ],
    2,
  );
  assert.equal(prf.precision, 2 / 4);
  assert.equal(prf.recall, 2 / 4);
  assert.equal(prf.f1, 0.5);
  assert.equal(recallAtK(['a', 'b', 'c'], ['c', 'z'], 3), 0.5);
  assert.equal(recallAtK(['a'], [], 3), undefined);
});

test('QA metrics: normalization, exact match and keyword accuracy', () => {
  assert.equal(normalizeAnswer('The Three Pianos!'), '3 pianos');
  assert.equal(exactMatch('an orange', 'Orange.'), 1);
  assert.equal(exactMatch('two', '3'), 0);
  assert.equal(keywordAccuracy('Ray Charles was born in Albany, Georgia in nineteen thirty.', ['Albany', 'Georgia', 'Florida']), 2 / 3);
  assert.equal(keywordAccuracy('x', []), undefined);
});
