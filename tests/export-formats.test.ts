// The export writers on a small real LevelDB store: the M2RAG layout writes only kept elements
// (and everything, with null scores, for an unscored query), ShareGPT takes only generations whose
// image metrics all reach the minimum, jsonl lists every element with its decision, and a dataset
// card names counts, thresholds and the methods used.
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
      metrics: { imageCoherence: coherence, helpfulness: 0.8, reference: 0.7, imageRecall: 1 },
    });
  }
  await b.write();
  return { store, imageId };
}

const settings = { 'Keep thresholds': { minChunkScore: 3, minImageScore: 3 } };

test('m2rag layout: kept elements with scores, unscored queries with null scores, image files beside, a card', async (t) => {
  const dir = await tempDir(t);
  const { store, imageId } = await fixture(dir);
  t.after(() => store.close());
  const out = path.join(dir, 'out');
  const summary = await exportDataset(store, { format: 'm2rag', outDir: out, sharegptMinMetric: 0.7, settings });
  assert.equal(summary.counts.unscoredQueries, 1);
  const [q1, q2] = (await readFile(path.join(out, 'm2rag.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(q1.id, 'q1');
  assert.deepEqual(q1.webpages[0].splits.map((s: { id: string; score: number }) => [s.id, s.score]), [['p-q1:c0', 7.25]]);
  assert.deepEqual(q1.webpages[0].splits[0].image_ids, [imageId]);
  assert.equal(q1.images[0].final_score, 8.5);
  assert.equal(q1.images[0].description, 'Betty Carter singing');
  await access(path.join(out, q1.images[0].path));
  assert.deepEqual(q2.webpages[0].splits.map((s: { score: null }) => s.score), [null, null]);
  const card = await readFile(path.join(out, 'README.md'), 'utf8');
  assert.match(card, /\| unscoredQueries \| 1 \|/);
  assert.match(card, /\| minChunkScore \| 3 \|/);
  assert.match(card, /scores: chunk: bm25-embedding \(embedded:test\) \| 2 \|/);
});

test('ShareGPT takes only generations whose image metrics are all at least 0.7; jsonl lists every element', async (t) => {
  const dir = await tempDir(t);
  const { store, imageId } = await fixture(dir);
  t.after(() => store.close());
  const out = path.join(dir, 'sharegpt');
  const summary = await exportDataset(store, { format: 'sharegpt', outDir: out, sharegptMinMetric: 0.7, settings });
  assert.equal(summary.counts.taken, 1);
  assert.equal(summary.counts['left out: below-minimum:imageCoherence'], 1);
  const records = JSON.parse(await readFile(path.join(out, 'sharegpt.json'), 'utf8'));
  assert.deepEqual(records, [
    {
      id: 'g-good',
      messages: [
        { role: 'user', content: '<image>Betty Carter jazz' },
        { role: 'assistant', content: 'Answer g-good\n\n![Betty](images/1.jpg)\n*Figure 1: Betty*' },
      ],
      images: [`images/${imageId}.jpg`],
    },
  ]);
  await access(path.join(out, `images/${imageId}.jpg`));

  const jsonlOut = path.join(dir, 'jsonl');
  await exportDataset(store, { format: 'jsonl', outDir: jsonlOut, sharegptMinMetric: 0.7, settings });
  const lines = (await readFile(path.join(jsonlOut, 'elements.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 6);
  const dropped = lines.find((l) => l.id === 'p-q1:c1');
  assert.deepEqual([dropped.kept, dropped.reason, dropped.final_score], [false, 'below-threshold', 1]);
  assert.equal(lines.filter((l) => l.query_id === 'q2').every((l) => l.kept === null), true);
});
