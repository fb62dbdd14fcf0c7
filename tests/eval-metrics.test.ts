// Pure runner and metric logic, checked against values worked out by hand: citation
// post-processing, the extractive generator, the multi-stage placement parser, retrieval (exact and
// HNSW agree), M2RAG image recall, overall, context precision and faithfulness, pooled P/R/F1@N and
// Recall@K from per-generation figures, QA metrics, the answer as the judge reads it, and the
// corpus summary and table built from stored evaluation results.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postProcessAnswer } from '../src/runner/citations.js';
import { generateExtractive } from '../src/runner/extractive.js';
import { parseParagraphNumber } from '../src/runner/generate.js';
import { buildVectorIndex } from '../src/runner/vector-index.js';
import { formatEvalReport } from '../src/cli/commands/eval.js';
import { answerForJudge, answerText, statementsOf } from '../scorers/judge-rubrics.js';
import {
  contextPrecision,
  exactMatch,
  faithfulness,
  imageRecall,
  keywordAccuracy,
  normalizeAnswer,
  overallOf,
  poolRetrieval,
  qaMetrics,
  retrievalFigures,
  summarizeEvalResults,
  summarizeMetrics,
} from '../scorers/metrics.js';

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

test('image recall, overall and metric summaries leave failed judgments out instead of zeroing them', () => {
  assert.equal(imageRecall(['a', 'b'], ['a', 'c']), 0.5);
  assert.equal(imageRecall([], []), 1);
  close(overallOf({ fluency: 0.8, imageRecall: 0.4 }), 0.6, 'overall');
  // exactMatch is not one of the eight: it stays out of overall.
  close(overallOf({ fluency: 0.8, faithfulness: 0.5, imageRecall: 0.2, exactMatch: 1 }), 0.5, 'overall of three');
  assert.equal(overallOf({}), undefined);
  const summary = summarizeMetrics([
    { metrics: { fluency: 0.8 }, failed: {} },
    { metrics: {}, failed: { fluency: 1 } },
  ]);
  assert.deepEqual(summary.fluency, { mean: 0.8, n: 1, failed: 1 });
});

test('context precision is the mean precision at each useful passage; faithfulness the supported share', () => {
  // Useful at ranks 1 and 3: (1/1 + 2/3) / 2.
  close(contextPrecision([true, false, true]), 5 / 6, 'Y N Y');
  // Useful at ranks 2 and 3: (1/2 + 2/3) / 2.
  close(contextPrecision([false, true, true]), 7 / 12, 'N Y Y');
  assert.equal(contextPrecision([false, false]), 0);
  assert.equal(faithfulness([true, false, true, true]), 0.75);
  assert.equal(faithfulness([]), undefined);
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

test('multi-stage placement: the first whole number of the reply, 0 past the last paragraph, none without one', () => {
  assert.equal(parseParagraphNumber('2', 3), 2);
  assert.equal(parseParagraphNumber('Paragraph 3.', 3), 3);
  assert.equal(parseParagraphNumber('Before paragraph 2 of 4', 4), 2);
  assert.equal(parseParagraphNumber('0', 3), 0);
  assert.equal(parseParagraphNumber('7', 3), 0);
  assert.equal(parseParagraphNumber('It fits nowhere.', 3), undefined);
  assert.equal(parseParagraphNumber('-1', 3), undefined);
  assert.equal(parseParagraphNumber('2.5', 3), undefined);
});

test('the judge reads figure blocks as [IMAGE: description] and judges statements of the text alone', () => {
  const answer = 'Ray Charles played the piano from childhood.\n\n![Ray](images/2.jpg)\n*Figure 1: Ray*\n\nHe was a pianist. He recorded Georgia on My Mind in 1960.';
  assert.equal(answerForJudge(answer, ['a record sleeve', 'Ray Charles at a grand piano']), 'Ray Charles played the piano from childhood.\n\n[IMAGE: Ray Charles at a grand piano]\n\nHe was a pianist. He recorded Georgia on My Mind in 1960.');
  assert.match(answerForJudge(answer, []), /\[IMAGE: Ray\]/, 'without a description, the caption');
  assert.doesNotMatch(answerText(answer), /images|Figure/);
  // "He was a pianist." is under 20 characters: not a statement.
  assert.deepEqual(statementsOf(answer), ['Ray Charles played the piano from childhood.', 'He recorded Georgia on My Mind in 1960.']);
});

test('the corpus summary and table come from stored results: means, failures with reasons, pooled retrieval, QA', () => {
  const summary = summarizeEvalResults([
    {
      metrics: { fluency: 0.8, imageRecall: 0.5, overall: 0.65, exactMatch: 1 },
      failed: {},
      reasons: {},
      retrieval: retrievalFigures('labels-file', ['a', 'b'], ['a', 'b', 'c', 'x'], ['a']),
    },
    {
      metrics: { imageRecall: 1, overall: 1, keywordAccuracy: 0.5 },
      failed: { fluency: 1 },
      reasons: { fluency: 'no integer in reply: "I would rather not say."' },
      retrieval: retrievalFigures('labels-file', ['c', 'd'], ['c', 'd', 'e', 'y'], ['d', 'e', 'f']),
    },
  ]);
  assert.deepEqual(summary.m2rag.fluency, { mean: 0.8, n: 1, failed: 1 });
  assert.deepEqual(summary.m2rag.imageRecall, { mean: 0.75, n: 2, failed: 0 });
  assert.deepEqual(summary.m2rag.overall, { mean: 0.825, n: 2, failed: 0 });
  assert.equal(summary.m2rag.exactMatch, undefined, 'QA metrics are not in the M2RAG table');
  assert.deepEqual(summary.qa, { exactMatch: 1, keywordAccuracy: 0.5, queries: 1 });
  assert.deepEqual(summary.failedReasons, { 'fluency: no integer in reply': 1 });
  assert.equal(summary.retrieval!.precision, 0.5);

  const table = formatEvalReport({ generations: 2, judge: 'openai-compatible:stand-in', notEvaluated: 1, ...summary });
  assert.match(table, /^generations evaluated: 2 {3}judge: openai-compatible:stand-in$/m);
  assert.match(table, /^fluency\s+0\.800\s+1\s+1$/m);
  assert.match(table, /^relevance\s+—\s+not applicable$/m);
  assert.match(table, /^imageRecall\s+0\.750\s+2\s+0$/m);
  assert.match(table, /^overall\s+0\.825\s+2\s+0$/m);
  assert.match(table, /^retrieval \(relevant = labels file; 2 queries\)\n {2}P@2 0\.500 {3}R@2 0\.500 {3}F1@2 0\.500 {3}Recall@4 0\.833$/m);
  assert.match(table, /^ {2}exact match 1\.000 {3}keyword accuracy 0\.500$/m);
  assert.match(table, /^failed judgments\n {2}fluency: no integer in reply: 1$/m);
  assert.match(table, /^not evaluated by openai-compatible:stand-in: 1 generation/m);
});
