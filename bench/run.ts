// Benchmark of the downstream runner.
//  1. Per-query latency of retrieve (K=20) → rerank (→ N=2) → generate with the embedded defaults
//     (description-embedding retrieval, the embedding-description-match reranker, the extractive
//     generator), on a store built from the Wikipedia mirror served on 127.0.0.1.
//  2. The RagVL reranker against a local stand-in for a remote OpenAI-compatible vision endpoint
//     (tests/helpers/openai-server.ts) that waits a configurable time per request to emulate model
//     latency: request count and wall time, sequential (one request at a time, as RagVL's reference
//     code does) against concurrent (bounded by models.concurrency).
//
//   node --import tsx bench/run.ts [--store <built store>] [--delay-ms 200] [--concurrency 4]
// Without --store it builds one from ../shared/corpora/wiki-ray-charles with examples/mirror-queries.txt.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigSchema } from '../src/core/config.js';
import { loadModels } from '../src/models/registry.js';
import { generateExtractive } from '../src/runner/extractive.js';
import { rerank } from '../src/runner/rerank.js';
import { buildRetrievalCorpus, keptElementsByQuery, retrieve } from '../src/runner/retrieve.js';
import { CorpusStore, loadDescriptions, type Query } from '../storage/index.js';
import { chatReply, startOpenAiServer } from '../tests/helpers/openai-server.js';
import { MIRROR_QUERIES, runOnMirror } from './mirror-site.js';

const { values: args } = parseArgs({
  options: { store: { type: 'string' }, 'delay-ms': { type: 'string', default: '200' }, concurrency: { type: 'string', default: '4' } },
});
const delayMs = Number(args['delay-ms']);
const concurrency = Number(args.concurrency);

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return `mean ${mean.toFixed(1)} ms, median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms`;
}

async function buildMirrorStore(dir: string): Promise<string> {
  const store = path.join(dir, 'store');
  const started = performance.now();
  await runOnMirror(dir, store, [['build', '--queries', MIRROR_QUERIES]]);
  console.log(`built the mirror store in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return store;
}

const temp = await mkdtemp(path.join(tmpdir(), 'm2rag-bench-run-'));
try {
  const storeDir = args.store ?? (await buildMirrorStore(temp));
  const store = await CorpusStore.open(storeDir);
  const config = ConfigSchema.parse({ run: { topK: 20, topN: 2 }, models: { concurrency } });
  const models = await loadModels(config, store, { env: {} });
  const queries: Query[] = [];
  for await (const q of store.iterate('queries')) queries.push(q);

  let started = performance.now();
  const corpus = await buildRetrievalCorpus(store, models, config, await loadDescriptions(store), await keptElementsByQuery(store));
  console.log(`retrieval corpus: ${corpus.images.size} images, ${corpus.chunks.size} chunks (${corpus.imageIndex.kind} search), built in ${((performance.now() - started) / 1000).toFixed(1)} s (embedding every chunk and description once)`);
  // Warm-up: the first embedding call loads the model.
  await retrieve(corpus, models, 'warm up', { topK: 20, chunks: 5 });

  const timings = { retrieve: [] as number[], rerank: [] as number[], generate: [] as number[], total: [] as number[] };
  const rounds = 5;
  for (let round = 0; round < rounds; round++) {
    for (const query of queries) {
      const t0 = performance.now();
      const hits = await retrieve(corpus, models, query.query, { topK: 20, chunks: config.run.contextChunks });
      const t1 = performance.now();
      const reranked = await rerank({}, store, query.query, hits.images, corpus.images, { topN: 2, threshold: 0.5, fallbackThreshold: config.run.fallbackThreshold, imageMethod: corpus.imageMethod });
      const t2 = performance.now();
      generateExtractive('single', {
        question: query.query,
        chunks: hits.chunks.map((h) => ({ id: h.id, text: corpus.chunks.get(h.id)!.text })),
        images: reranked.kept.map((id) => corpus.images.get(id)!),
      });
      const t3 = performance.now();
      timings.retrieve.push(t1 - t0);
      timings.rerank.push(t2 - t1);
      timings.generate.push(t3 - t2);
      timings.total.push(t3 - t0);
    }
  }
  console.log(`\nembedded defaults, ${queries.length} queries × ${rounds} rounds, K=20 → N=2:`);
  for (const [stage, values] of Object.entries(timings)) console.log(`  ${stage.padEnd(9)} ${stats(values)}`);

  // The RagVL reranker against the stand-in endpoint with an emulated per-request model latency.
  const server = await startOpenAiServer({
    chat: () => ({ ...(chatReply('Yes', { logprobs: { Yes: Math.log(0.7), No: Math.log(0.3) } }) as { json: unknown }), delayMs }),
  });
  try {
    const visionConfig = ConfigSchema.parse({ models: { visionUrl: server.url, visionModel: 'stand-in-vl', concurrency, cache: false, maxRetries: 0 } });
    const remote = await loadModels(visionConfig, store, { env: {} });
    const query = queries[0]!;
    const hits = await retrieve(corpus, models, query.query, { topK: 20, chunks: 1 });
    console.log(`\nRagVL rerank of K=${hits.images.length} candidates against the stand-in endpoint (${delayMs} ms emulated latency a request, concurrency ${concurrency}):`);
    for (const mode of ['sequential', 'concurrent'] as const) {
      const before = server.requestsTo('chat').length;
      started = performance.now();
      const result = await rerank(remote, store, query.query, hits.images, corpus.images, { topN: 2, threshold: 0.5, fallbackThreshold: 0.25, mode, imageMethod: corpus.imageMethod });
      const ms = performance.now() - started;
      console.log(`  ${mode.padEnd(10)} ${server.requestsTo('chat').length - before} requests (max_tokens 1), ${ms.toFixed(0)} ms, kept ${result.kept.length}, failed ${result.failed}`);
    }
    await remote.dispose();
  } finally {
    await server.close();
  }
  await models.dispose();
  await store.close();
} finally {
  await rm(temp, { recursive: true, force: true });
}
