// Human ratings against the automatic metrics: the rank correlations on known values, then
// `m2rag eval agreement` over ratings this test writes into a store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { kendall, spearman } from '../src/viewer/agreement.js';
import { storeRating } from '../src/viewer/ratings.js';
import { CorpusStore, evalResultIdOf, generationIdOf } from '../storage/index.js';

const close = (actual: number | undefined, expected: number) => assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${actual} ≠ ${expected}`);

test('Spearman and Kendall match hand-computed values, with and without ties', () => {
  // ranks differ by d = 0, -1, 1, -1, 1: rho = 1 - 6·4 / (5·24) = 0.8; 8 concordant, 2 discordant pairs: tau = 0.6
  close(spearman([0.1, 0.2, 0.3, 0.4, 0.5], [1, 3, 2, 5, 4]), 0.8);
  close(kendall([0.1, 0.2, 0.3, 0.4, 0.5], [1, 3, 2, 5, 4]), 0.6);
  // ties: average ranks give rho = 3.75 / 4.5; tau-b = 4 / sqrt(5 · 5)
  close(spearman([1, 2, 2, 3], [1, 2, 3, 3]), 3.75 / 4.5);
  close(kendall([1, 2, 2, 3], [1, 2, 3, 3]), 0.8);
  close(spearman([1, 2, 3], [3, 2, 1]), -1);
  assert.equal(spearman([1, 1, 1], [1, 2, 3]), undefined, 'a constant side has no correlation');
  assert.equal(kendall([1], [2]), undefined);
});

test('eval agreement prints each metric’s correlation with the human ratings, with n', async (t) => {
  const dir = await tempDir(t, 'm2rag-agreement-');
  const store = await CorpusStore.open(path.join(dir, 'store'));
  const provenance = { provider: 'openai-compatible', model: 'stand-in', inputHash: 'h', at: '2026-01-01T00:00:00.000Z' };
  const auto = [0.1, 0.2, 0.3, 0.4, 0.5];
  const human = [1, 3, 2, 5, 4];
  for (const [i, value] of auto.entries()) {
    const queryId = `q${i}`;
    const generationId = generationIdOf(queryId, 'single', 'm2rag');
    await store.put('evalResults', { id: evalResultIdOf(generationId, 'judge'), queryId, generationId, metrics: { fluency: value, faithfulness: 1 - value }, failed: {}, method: 'llm-judge', provenance });
    // Two raters whose mean is the human value: the mean rating of an answer is what is ranked.
    await storeRating(store, { rater: 'ann', target: { kind: 'generation', generationId, queryId, metric: 'fluency' }, value: human[i]! - 1 });
    await storeRating(store, { rater: 'bob', target: { kind: 'generation', generationId, queryId, metric: 'fluency' }, value: human[i]! + 1 });
    await storeRating(store, { rater: 'ann', target: { kind: 'generation', generationId, queryId, metric: 'faithfulness' }, value: human[i]! / 10 });
  }
  await store.close();

  const json = await runCli(['--store', path.join(dir, 'store'), 'eval', 'agreement', '--json']);
  assert.equal(json.code, 0, json.stderr);
  const rows = new Map((JSON.parse(json.stdout).agreement as Array<{ metric: string; n: number; spearman: number; kendall: number }>).map((r) => [r.metric, r]));
  assert.equal(rows.get('fluency')?.n, 5);
  close(rows.get('fluency')?.spearman, 0.8);
  close(rows.get('fluency')?.kendall, 0.6);
  close(rows.get('faithfulness')?.spearman, -0.8);
  close(rows.get('faithfulness')?.kendall, -0.6);

  const table = await runCli(['--store', path.join(dir, 'store'), 'eval', 'agreement']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^fluency\s+5\s+0\.800\s+0\.600$/m);

  // Ratings are records like any other: `stats` counts them (two raters × five answers + five).
  const stats = await runCli(['--store', path.join(dir, 'store'), 'stats', '--json']);
  assert.equal(JSON.parse(stats.stdout).ratings, 15);
});
