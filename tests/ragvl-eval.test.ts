// RagVL's evaluation: the WebQA Qcate metric, MMQA exact match, the single/multi split and the
// rerank P/R/F1 at N, 5 and 10, on hand-made WebQA- and MMQA-layout files imported with the real CLI
// (tests/helpers/ragvl-fixture.ts), against values computed by hand.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { answerOverlap, mmqaAccuracy, normalizeAnswer, rerankPrfAt, webqaAccuracy, wordToNumber } from '../scorers/ragvl-metrics.js';
import { CorpusStore, type Generation } from '../storage/index.js';
import { formatRagvlReport } from '../src/cli/commands/eval-ragvl.js';
import { runCli } from './helpers/cli.js';
import { writeRagvlFiles } from './helpers/ragvl-fixture.js';
import { tempDir } from './helpers/temp.js';

const close = (actual: number | undefined, expected: number): void => assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${actual} ≠ ${expected}`);

test('normalization: articles, punctuation but decimal points, numbers as digits, plural nouns', () => {
  assert.equal(normalizeAnswer('The bird is blue and white.'), 'bird be blue and white');
  assert.equal(normalizeAnswer('There are three dogs.'), 'there be 3 dog');
  assert.equal(normalizeAnswer('It costs 3.5 dollars'), 'it cost 3.5 dollar');
  // A single word keeps its article; a single character its punctuation.
  assert.equal(normalizeAnswer('The'), 'the');
  assert.equal(normalizeAnswer('.'), '.');
  assert.equal(wordToNumber('twenty-one'), '21');
  assert.equal(wordToNumber('point'), 'point');
});

test('WebQA accuracy: F1 over the keyword-list words for color, shape, YesNo; whole numbers for number; recall otherwise', () => {
  // Gold colours {blue, white}, predicted {blue}: P 1, R 1/2, F1 2/3.
  close(webqaAccuracy('It is blue.', '"The bird is blue and white."', 'color'), 2 / 3);
  close(webqaAccuracy('Round and flat', 'The roof is round.', 'shape'), 2 / 3);
  close(webqaAccuracy('No', '"Yes, both are red."', 'YesNo'), 0);
  close(webqaAccuracy('3 dogs', 'There are three dogs.', 'number'), 1);
  // Without a keyword in the gold answer, every word counts.
  close(webqaAccuracy('light blue', 'azure', 'color'), 0);
  // Recall: one of five gold words.
  close(webqaAccuracy('Paris', '"The tower is in Paris, France."', 'text'), 1 / 5);
  close(answerOverlap('Paris', 'The tower is in Paris, France.').precision, 1);
});

test('MMQA accuracy is exact match of the normalized answers', () => {
  assert.equal(mmqaAccuracy('red.', 'Red'), 1);
  assert.equal(mmqaAccuracy('eleven', '11'), 1);
  assert.equal(mmqaAccuracy('Hanks', 'Tom Hanks'), 0);
});

test('rerank P/R/F1 at k: top k by relevance at or above the threshold, pooled over queries', () => {
  const queries = [{ goldImageIds: ['a'], relevances: [{ imageId: 'a', relevance: 0.9 }, { imageId: 'x', relevance: 0.8 }, { imageId: 'y', relevance: 0.3 }] }];
  const at1 = rerankPrfAt(queries, 1, 0.5);
  assert.deepEqual([at1.retrieved, at1.correct, at1.gold, at1.precision, at1.recall, at1.f1], [1, 1, 1, 1, 1, 1]);
  const at5 = rerankPrfAt(queries, 5, 0.5);
  assert.deepEqual([at5.retrieved, at5.correct, at5.precision], [2, 1, 0.5]);
});

function answer(queryId: string, output: string, candidates?: Array<[string, number]>): Generation {
  return {
    id: `g-${queryId}`,
    queryId,
    strategy: 'ragvl-short',
    method: 'mllm-short-answer',
    status: 'ok',
    inputs: { chunkIds: [], imageIds: [] },
    output,
    citedImageIds: [],
    latencyMs: 1,
    provenance: { provider: 'test', model: 'hand-written', inputHash: 'h', at: '2026-01-01T00:00:00.000Z' },
    ...(candidates
      ? {
          retrieval: {
            imageMethod: 'image-embedding',
            rerankMethod: 'ragvl-yes-no',
            threshold: 0.5,
            candidates: candidates.map(([imageId, relevance]) => ({ imageId, retrievalScore: 0, relevance, status: 'ok' as const })),
            retrieveMs: 0,
            rerankMs: 0,
            rerankRequests: candidates.length,
          },
        }
      : {}),
  };
}

test('import --format webqa|mmqa, then eval ragvl: accuracy by Qcate, exact match, single/multi, rerank at N, 5, 10', async (t) => {
  const dir = await tempDir(t);
  const files = await writeRagvlFiles(dir);
  const storeDir = path.join(dir, 'store');

  const noImages = await runCli(['--store', storeDir, 'import', '--format', 'webqa', files.webqaFile]);
  assert.equal(noImages.code, 2, noImages.stderr);
  assert.match(noImages.stderr, /--images/);

  const webqa = await runCli(['--store', storeDir, 'import', '--format', 'webqa', files.webqaFile, '--images', files.webqaImages]);
  assert.equal(webqa.code, 0, webqa.stderr);
  assert.match(webqa.stdout, /questions=4 singleImage=2 multiImage=2 images=6 rejected=3/);
  assert.match(webqa.stderr, /rejected w5: image 39999: no file/);
  assert.match(webqa.stderr, /rejected w6: no gold image/);
  assert.match(webqa.stderr, /rejected w7: Q: /);
  const mmqa = await runCli(['--store', storeDir, 'import', '--format', 'mmqa', files.mmqaFile, '--images', files.mmqaImages]);
  assert.equal(mmqa.code, 0, mmqa.stderr);
  assert.match(mmqa.stdout, /questions=3 singleImage=2 multiImage=1 images=4 rejected=1/);
  assert.match(mmqa.stderr, /rejected m4: image img-missing: not in the image metadata/);

  const store = await CorpusStore.open(storeDir);
  const w1 = (await store.get('queries', 'w1'))!;
  const w2 = (await store.get('queries', 'w2'))!;
  assert.equal(w1.benchmark?.qcate, 'color');
  assert.equal(w2.benchmark?.goldImageIds.length, 2);
  assert.equal((await store.get('queries', 'w3'))!.benchmark?.answer, 'There are three dogs.');
  const [gold1] = w1.benchmark!.goldImageIds;
  const [b, c] = w2.benchmark!.goldImageIds;
  const batch = store.batch();
  batch.put('generations', answer('w1', 'It is blue.', [[gold1!, 0.9], ['x', 0.8], ['y', 0.3]]));
  batch.put('generations', answer('w2', 'No', [['q', 0.9], [b!, 0.7], ['z', 0.6], [c!, 0.55], ['u', 0.52], ['v', 0.51]]));
  batch.put('generations', answer('w3', '3 dogs'));
  batch.put('generations', answer('w4', 'Paris'));
  batch.put('generations', answer('m1', '11'));
  batch.put('generations', answer('m2', 'red.'));
  batch.put('generations', answer('m3', 'Hanks'));
  await batch.write();
  await store.close();

  const evaluated = await runCli(['--store', storeDir, 'eval', 'ragvl', '--json']);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const report = JSON.parse(evaluated.stdout);
  // WebQA: w1 2/3 and w4 1/5 are single-image, w2 0 and w3 1 multi-image.
  close(report.webqa.accuracy.single, (2 / 3 + 1 / 5) / 2);
  close(report.webqa.accuracy.multi, 0.5);
  close(report.webqa.accuracy.all, (2 / 3 + 0 + 1 + 1 / 5) / 4);
  assert.deepEqual(report.webqa.accuracy.n, { all: 4, single: 2, multi: 2 });
  close(report.webqa.byQcate.color.mean, 2 / 3);
  close(report.webqa.byQcate.text.mean, 1 / 5);
  // MMQA: m1 and m3 single (1, 0), m2 multi (1).
  close(report.mmqa.accuracy.single, 0.5);
  close(report.mmqa.accuracy.multi, 1);
  close(report.mmqa.accuracy.all, 2 / 3);
  // Rerank (threshold 0.5, 3 gold images): @2 w1 {a, x}, w2 {q, b} → 2 of 4; @5 w1 {a, x}, w2 {q, b, z, c, u} → 3 of 7; @10 3 of 8.
  const { atN, at5, at10 } = report.rerank;
  assert.deepEqual([atN.k, atN.retrieved, atN.correct, atN.gold], [2, 4, 2, 3]);
  close(atN.f1, (2 * 0.5 * (2 / 3)) / (0.5 + 2 / 3));
  assert.deepEqual([at5.retrieved, at5.correct], [7, 3]);
  close(at5.precision, 3 / 7);
  close(at5.recall, 1);
  assert.deepEqual([at10.retrieved, at10.correct], [8, 3]);
  close(at10.f1, (2 * 0.375) / 1.375);

  const table = formatRagvlReport(report);
  assert.match(table, /WebQA: 4 questions, 0 without an answer\n  accuracy   single 0\.433 \(n=2\)   multi 0\.500 \(n=2\)   all 0\.467 \(n=4\)/);
  assert.match(table, /@5 +P 0\.429   R 1\.000   F1 0\.600/);
});
