// The export writers on a small real LevelDB store: the M2RAG dev-set layout writes every element
// with its score and validity (an unscored split holds 0, labelled under the extra key), jsonl lists
// every element with its decision, and a dataset card names counts, thresholds and the methods used.
// The llama-factory training set is tested in export-llama-factory.test.ts.
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { exportDataset } from '../storage/export/index.js';
import { CORPORA } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { CorpusStore, scoreIdOf, sha256Hex, type Score } from '../storage/index.js';

const AT = '2026-01-01T00:00:00.000Z';
const PROVENANCE = { provider: 'embedded', model: 'test', inputHash: 'h', at: AT };

async function fixture(dir: string): Promise<{ store: CorpusStore; imageId: string }> {
  const store = await CorpusStore.open(path.join(dir, 'store'));
  const bytes = await readFile(path.join(CORPORA, 'wiki-ray-charles/I/m/Betty_Carter.jpg'));
  const imageId = sha256Hex(bytes);
  const b = store.batch();
  for (const [id, query] of [['q1', 'Betty Carter jazz'], ['q2', 'unscored query']]) {
    b.put('queries', { id, query, createdAt: AT });
    b.put('pages', { id: `p-${id}`, url: `http://x/${id}`, finalUrl: `http://x/${id}`, fetchedAt: AT, htmlBytes: 1, rendered: false, title: `Page ${id}` });
    b.link('query-pages', id, `p-${id}`);
    for (const i of [0, 1]) {
      b.put('chunks', { id: `p-${id}:c${i}`, pageId: `p-${id}`, index: i, text: `chunk ${i} of ${id}`, occurrenceIds: [], imageIds: i === 0 ? [imageId] : [] });
      b.link('page-chunks', `p-${id}`, `p-${id}:c${i}`);
    }
    b.put('occurrences', { id: `p-${id}:0`, kind: 'page', pageId: `p-${id}`, index: 0, url: 'http://x/i.jpg', imageId, attributes: {} });
    b.link('page-occurrences', `p-${id}`, `p-${id}:0`);
  }
  b.putBlob(bytes);
  b.put('images', { id: imageId, bytes: bytes.length, mime: 'image/jpeg', firstUrl: 'http://x/i.jpg', fetchedAt: AT, filter: { kept: true, reasons: [] } });
  b.put('descriptions', { id: 'd1', imageId, status: 'ok', text: 'Betty Carter singing', method: 'context-template', provenance: PROVENANCE });
  const score = (elementKind: 'chunk' | 'image', elementId: string, finalScore: number, kept: boolean): Score => ({
    id: scoreIdOf('q1', elementKind, elementId), queryId: 'q1', elementKind, elementId, status: 'ok', components: { bm25: finalScore }, finalScore, kept,
    reason: kept ? undefined : 'below-threshold', method: 'bm25-embedding', provenance: PROVENANCE,
  });
  b.put('scores', score('chunk', 'p-q1:c0', 7.25, true));
  b.put('scores', score('chunk', 'p-q1:c1', 1, false));
  b.put('scores', score('image', imageId, 8.5, true));
  for (const [id, coherence] of [['g-good', 0.9], ['g-weak', 0.5]] as const) {
    b.put('generations', {
      id, queryId: 'q1', strategy: 'single', method: 'llm-single-stage', inputs: { chunkIds: ['p-q1:c0'], imageIds: [imageId] },
      output: `Answer ${id}\n\n![Betty](images/1.jpg)\n*Figure 1: Betty*`, citedImageIds: [imageId], latencyMs: 1, provenance: PROVENANCE,
    });
    b.put('evalResults', {
      id: `e-${id}`, queryId: 'q1', generationId: id, failed: {}, method: 'llm-judge', provenance: PROVENANCE,
      metrics: { image_coherence: coherence, image_helpfulness: 0.8, image_reference: 0.7, image_recall: 1 },
    });
  }
  await b.write();
  return { store, imageId };
}

const settings = { 'Keep thresholds': { minChunkScore: 3, minImageScore: 3 } };

test('m2rag layout: every split and image with its score and validity, unscored splits at 0 labelled as such, image files beside, a card', async (t) => {
  const dir = await tempDir(t);
  const { store, imageId } = await fixture(dir);
  t.after(() => store.close());
  await store.addStageStats('score', {}, { score: { minChunkScore: 3, minImageScore: 3 } });
  const out = path.join(dir, 'out');
  const summary = await exportDataset(store, { format: 'm2rag', outDir: out, sharegptMinMetric: 0.7, settings });
  assert.deepEqual([summary.counts.unscoredSplits, summary.counts.levelDefaulted], [2, 2]);
  const [q1, q2] = (await readFile(path.join(out, 'dev_set.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(Object.keys(q1), ['query_id', 'content', 'webpages', 'aux_images', 'level', 'm2rag']);
  assert.deepEqual([q1.query_id, q1.level, q1.m2rag.level_source], ['q1', 1, 'default']);
  const page = q1.webpages[0];
  // The dropped split is written too, with its score and keep decision under the extra key.
  assert.deepEqual(page.cleaned_webpage_splits.map((s: { split_id: number; score: number; m2rag: { score: { kept: boolean } } }) => [s.split_id, s.score, s.m2rag.score.kept]), [[0, 7.25, true], [1, 1, false]]);
  assert.deepEqual(page.images.map((i: { image_id: number; valid: boolean; final_score: number; detailed_image_caption: string }) => [i.image_id, i.final_score, i.detailed_image_caption]), [[0, 8.5, 'Betty Carter singing']]);
  assert.equal(page.images[0].m2rag.image_sha256, imageId);
  await access(path.join(out, page.images[0].cached_image_url));
  // q2 was never scored: its splits hold 0 with `m2rag.score` null, its image no final score, so it is not valid.
  assert.deepEqual(q2.webpages[0].cleaned_webpage_splits.map((s: { score: number; m2rag: { score: null } }) => [s.score, s.m2rag.score]), [[0, null], [0, null]]);
  assert.deepEqual([q2.webpages[0].images[0].final_score, q2.webpages[0].images[0].valid], [null, false]);
  const card = await readFile(path.join(out, 'README.md'), 'utf8');
  assert.match(card, /\| levelDefaulted \| 2 \|/);
  assert.match(card, /### score[\s\S]*\| score\.minChunkScore \| 3 \|/);
  assert.match(card, /scores: chunk: bm25-embedding \(embedded:test\) \| 2 \|/);
});

test('jsonl lists every element with its decision', async (t) => {
  const dir = await tempDir(t);
  const { store } = await fixture(dir);
  t.after(() => store.close());
  const jsonlOut = path.join(dir, 'jsonl');
  await exportDataset(store, { format: 'jsonl', outDir: jsonlOut, sharegptMinMetric: 0.7, settings });
  const lines = (await readFile(path.join(jsonlOut, 'elements.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 6);
  const dropped = lines.find((l) => l.id === 'p-q1:c1');
  assert.deepEqual([dropped.kept, dropped.reason, dropped.final_score], [false, 'below-threshold', 1]);
  assert.equal(lines.filter((l) => l.query_id === 'q2').every((l) => l.kept === null), true);
});
