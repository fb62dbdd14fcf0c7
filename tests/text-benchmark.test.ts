// Regression guard for main-content extraction on the article-extraction benchmark (181 real pages
// with hand-made ground truth): F1 must stay at or above 0.95 with the benchmark's own scoring.
// Figures and speed are measured by bench/extract.ts, not here.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA } from './helpers/cli.js';
import { decodeHtmlBytes } from '../src/core/markup/html-bytes.js';
import { extractMainContent } from '../processors/text/extract.js';
import { matchPage, pagePrecision, pageRecall, scoreExtraction } from '../bench/extraction-f1.js';

const DATASET = path.join(CORPORA, 'article-extraction');

test('the scorer follows the benchmark: 4-token shingle multisets, both-empty counts 1', () => {
  assert.deepEqual(matchPage('', ''), { tp: 1, fp: 0, fn: 0 });
  const half = matchPage('one two three four five', 'one two three four six');
  assert.equal(pagePrecision(half), 0.5);
  assert.equal(pageRecall(half), 0.5);
  assert.equal(pageRecall(matchPage('a b c d a b c d', 'a b c d')), 1 / 5, 'a repeated shingle counts once per occurrence');
  assert.equal(pagePrecision(matchPage('Привет мир как дела', 'Привет мир как дела')), 1, 'Unicode words are tokens');
  assert.deepEqual(scoreExtraction({ a: 'x y z w' }, {}), { pages: 1, precision: 0, recall: 0, f1: 0 });
});

test('extraction keeps F1 ≥ 0.95 on the article-extraction benchmark', async () => {
  const groundTruth = JSON.parse(await readFile(path.join(DATASET, 'ground-truth.json'), 'utf8')) as Record<string, { articleBody: string }>;
  const truth: Record<string, string> = {};
  const predicted: Record<string, string> = {};
  for (const [id, { articleBody }] of Object.entries(groundTruth)) {
    truth[id] = articleBody;
    const decoded = decodeHtmlBytes(await readFile(path.join(DATASET, 'html', `${id}.html.gz`)));
    predicted[id] = decoded.ok ? extractMainContent(decoded.html).text : '';
  }
  const score = scoreExtraction(truth, predicted);
  assert.equal(score.pages, 181);
  assert.ok(score.f1 >= 0.95, `F1 ${score.f1.toFixed(4)} (precision ${score.precision.toFixed(4)}, recall ${score.recall.toFixed(4)})`);
});
