// `export --format ragvl-rerank|ragvl-qa` on the mirror build (tests/helpers/run-fixture.ts, scored by
// the real score stage): positives are the images a query's scores keep at or above the threshold,
// hard negatives those retrieval ranks high that are not kept for it, mined with the embedder of a
// local stand-in for an OpenAI-compatible server; the generator samples get exactly one injected
// negative per single-image query.
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigSchema } from '../src/core/config.js';
import { mineRagvlTraining } from '../src/runner/ragvl-training.js';
import { exportDataset } from '../storage/export/index.js';
import type { Generation } from '../storage/index.js';
import { embeddingsReply, startOpenAiServer } from './helpers/openai-server.js';
import { letterVector } from './helpers/ragvl-fixture.js';
import { buildRunFixture, QUERIES, scoreRunFixture } from './helpers/run-fixture.js';
import { servicesFor } from './helpers/services.js';
import { tempDir } from './helpers/temp.js';

const readJson = async (file: string): Promise<any> => JSON.parse(await readFile(file, 'utf8'));

function storedAnswer(queryId: string): Generation {
  return {
    id: `g-${queryId}`,
    queryId,
    strategy: 'ragvl',
    method: 'llm-ragvl',
    status: 'ok',
    inputs: { chunkIds: [], imageIds: [] },
    output: `The answer for ${queryId}.`,
    citedImageIds: [],
    latencyMs: 1,
    provenance: { provider: 'openai-compatible', model: 'stand-in', inputHash: 'h', at: '2026-01-01T00:00:00.000Z' },
  };
}

test('ragvl-rerank: positives and mined hard negatives, disjoint per query; ragvl-qa: one injected negative per single-image sample', async (t) => {
  const dir = await tempDir(t);
  const fixture = await buildRunFixture(dir, { otherQuery: true });
  t.after(() => fixture.store.close());
  // Piano query: piano 9 and sheet music 8 kept, portrait 2 dropped; Blues query: poster 8, portrait 9 kept.
  await scoreRunFixture(t, fixture);
  const { piano, georgia, logo } = fixture.imageIds;
  const poster = fixture.posterId!;
  await fixture.store.put('generations', storedAnswer(QUERIES.piano.id));
  await fixture.store.put('generations', storedAnswer(QUERIES.blues.id));

  const server = await startOpenAiServer({ embeddings: (request) => embeddingsReply((request.body.input as string[]).map(letterVector)) });
  t.after(() => server.close());
  const config = ConfigSchema.parse({ models: { embeddingUrl: server.url, embeddingModel: 'stand-in-embed', maxRetries: 0, cache: false } });
  const models = await servicesFor(t, config, fixture.store).models();

  const mined = await mineRagvlTraining(fixture.store, models, config, { minPositiveScore: 8, negativesPerPositive: 1, mineTopK: 20 });
  assert.ok(server.requestsTo('embeddings').length > 0, 'negatives are mined with the configured embedder');
  const outDir = path.join(dir, 'rerank-export');
  const summary = await exportDataset(fixture.store, { format: 'ragvl-rerank', outDir, sharegptMinMetric: 0.7, ragvl: mined });
  assert.equal(summary.counts.pairs, 8);
  assert.equal(summary.counts.positives, 4);
  assert.equal(summary.counts['hard-negatives'], 4);

  const llava = await readJson(path.join(outDir, 'rerank/llava.json'));
  const byQuery = (queryId: string, target: string): Set<string> => new Set(llava.filter((p: any) => p.m2rag.query_id === queryId && p.m2rag.target === target).map((p: any) => p.m2rag.image_id));
  const expected = { [QUERIES.piano.id]: { yes: [piano, georgia], no: [logo, poster] }, [QUERIES.blues.id]: { yes: [logo, poster], no: [piano, georgia] } };
  for (const [queryId, { yes, no }] of Object.entries(expected)) {
    const positives = byQuery(queryId, 'Yes');
    const negatives = byQuery(queryId, 'No');
    assert.deepEqual([...positives].sort(), [...yes].sort(), `${queryId}: positives`);
    assert.deepEqual([...negatives].sort(), [...no].sort(), `${queryId}: hard negatives`);
    assert.equal([...positives].filter((id) => negatives.has(id)).length, 0, `${queryId}: no image is both`);
  }
  // LLaVA: the image, our description as the caption, the question, Yes/No.
  const first = llava.find((p: any) => p.m2rag.image_id === piano && p.m2rag.query_id === QUERIES.piano.id);
  assert.match(first.conversations[0].value, /^<image>\nCaption of the image: Ray Charles playing a grand piano on stage\nQuestion: Ray Charles piano\n/);
  assert.deepEqual(first.conversations[1], { from: 'gpt', value: 'Yes' });
  await access(path.join(outDir, first.image));
  const agnostic = await readJson(path.join(outDir, 'rerank/llava-caption-agnostic.json'));
  assert.equal(agnostic.length, llava.length);
  assert.ok(agnostic.every((p: any) => !p.conversations[0].value.includes('Caption')));
  const sharegpt = await readJson(path.join(outDir, 'rerank/sharegpt.json'));
  assert.deepEqual(sharegpt.map((s: any) => s.messages[1].content), llava.map((p: any) => p.conversations[1].value));
  assert.ok(sharegpt.every((s: any) => s.images.length === 1 && s.messages[0].content.startsWith('<image>')));
  const meta = await readJson(path.join(outDir, 'internvl_meta.json'));
  assert.deepEqual(meta.m2rag_rerank, { root: '.', annotation: 'rerank/internvl.jsonl', data_augment: false, repeat_time: 1, length: 8 });

  // At 9 each query has one positive (piano; the portrait for Blues): single-image samples.
  const single = await mineRagvlTraining(fixture.store, models, config, { minPositiveScore: 9, negativesPerPositive: 1, mineTopK: 20 });
  const qaDir = path.join(dir, 'qa-export');
  const qaSummary = await exportDataset(fixture.store, { format: 'ragvl-qa', outDir: qaDir, sharegptMinMetric: 0.7, ragvl: single });
  assert.equal(qaSummary.counts.samples, 2);
  assert.equal(qaSummary.counts['single-image'], 2);
  assert.equal(qaSummary.counts['injected-negatives'], 2);
  const qa = await readJson(path.join(qaDir, 'qa/llava.json'));
  const gold: Record<string, string> = { [QUERIES.piano.id]: piano, [QUERIES.blues.id]: logo };
  // Kept for the query (so never a negative): the sheet music for piano, the poster for Blues.
  const keptOther: Record<string, string> = { [QUERIES.piano.id]: georgia, [QUERIES.blues.id]: poster };
  for (const sample of qa) {
    const queryId = sample.m2rag.query_id;
    assert.equal(sample.m2rag.image_ids.length, 2);
    assert.ok(sample.m2rag.image_ids.includes(gold[queryId]));
    const injected = sample.m2rag.image_ids.filter((id: string) => id !== gold[queryId]);
    assert.deepEqual(injected, [sample.m2rag.injected_negative_id]);
    assert.notEqual(injected[0], keptOther[queryId]);
    assert.equal(sample.conversations[0].value.split('<image>').length - 1, 2);
    assert.deepEqual(sample.conversations[1], { from: 'gpt', value: `The answer for ${queryId}.` });
  }
});
