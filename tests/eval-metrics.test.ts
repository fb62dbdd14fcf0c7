// Pure runner and metric logic, checked against values worked out by hand: citation
// post-processing, the extractive generator, the multi-stage placement parser, retrieval (exact and
// HNSW agree), pooled P/R/F1@N and Recall@K from per-generation figures, and QA metrics. The M2RAG
// metrics, judges and table are checked in tests/eval-protocol.test.ts and tests/eval-judge.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postProcessAnswer } from '../src/runner/citations.js';
import { generateExtractive } from '../src/runner/extractive.js';
import { parseImageSelection } from '../src/runner/m2rag-generate.js';
import { buildVectorIndex } from '../src/runner/vector-index.js';
import { exactMatch, keywordAccuracy, normalizeAnswer, poolRetrieval, qaMetrics, retrievalFigures } from '../scorers/metrics.js';

const close = (actual: number | undefined, expected: number, what: string): void => {
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-12, `${what}: ${actual} ≠ ${expected}`);
};

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

test('retrieval figures per generation pool into P/R/F1 at N and mean Recall@K', () => {
  const first = retrievalFigures('labels-file', ['a', 'b'], ['a', 'b', 'c', 'x'], ['a']);
  assert.deepEqual(first, { labels: 'labels-file', retrieved: 2, relevant: 1, hits: 1, candidates: 4, candidateHits: 1 });
  const second = retrievalFigures('labels-file', ['c', 'd'], ['c', 'd', 'e', 'y'], ['d', 'e', 'f', 'd']);
  assert.deepEqual(second, { labels: 'labels-file', retrieved: 2, relevant: 3, hits: 1, candidates: 4, candidateHits: 2 });
  // Hits 1 + 1 over 2 + 2 retrieved and 1 + 3 relevant; Recall@4 = mean(1/1, 2/3).
  const two = poolRetrieval([first, second])!;
  assert.deepEqual([two.n, two.k, two.precision, two.recall, two.f1, two.queries], [2, 4, 0.5, 0.5, 0.5, 2]);
  close(two.recallAtK, 5 / 6, 'Recall@K');
  // A query without relevant images adds to the retrieved total but not to Recall@K.
  const three = poolRetrieval([first, second, retrievalFigures('scores>=8', ['z'], ['z'], [])])!;
  close(three.precision, 2 / 5, 'P@N');
  close(three.recall, 2 / 4, 'R@N');
  close(three.f1, (2 * 0.4 * 0.5) / 0.9, 'F1@N');
  close(three.recallAtK, 5 / 6, 'Recall@K');
  assert.equal(three.labels, 'labels-file+scores>=8');
  assert.equal(poolRetrieval([retrievalFigures('scores>=8', ['z'], ['z'], [])])!.recallAtK, undefined);
  assert.equal(poolRetrieval([]), undefined);
});

test('QA metrics: normalization, exact match and keyword accuracy', () => {
  assert.equal(normalizeAnswer('The Three Pianos!'), '3 pianos');
  assert.equal(exactMatch('an orange', 'Orange.'), 1);
  assert.equal(exactMatch('two', '3'), 0);
  assert.equal(keywordAccuracy('Ray Charles was born in Albany, Georgia in nineteen thirty.', ['Albany', 'Georgia', 'Florida']), 2 / 3);
  assert.equal(keywordAccuracy('x', []), undefined);
  assert.deepEqual(qaMetrics('The piano.', { answer: 'piano', keywords: ['piano', 'organ'] }), { exactMatch: 1, keywordAccuracy: 0.5 });
  assert.deepEqual(qaMetrics('The piano.', {}), {});
});

test('multi-stage placement: the last number of the last line, -1 when none, negative or past the last line', () => {
  assert.deepEqual(parseImageSelection('A piano\n2', 3), { line: 2, caption: 'A piano' });
  assert.deepEqual(parseImageSelection('Caption\nline [1] or 3', 3), { line: 3, caption: 'Caption' });
  assert.equal(parseImageSelection('Caption\n7', 3).line, -1);
  assert.equal(parseImageSelection('Caption\n-1', 3).line, -1);
  assert.equal(parseImageSelection('It fits nowhere.', 3).line, -1);
});

