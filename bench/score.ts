// Benchmark of the embedded scorer (no models configured: BM25 + Universal Sentence Encoder lite for
// chunks, layout + description/context similarity for images).
//  1. Builds the mirror store offline (../shared/corpora/wiki-ray-charles served on 127.0.0.1, the
//     queries of examples/mirror-queries.txt) with crawl → process → describe, untimed.
//  2. Times the score stage cold (the model cache emptied first, so every text is embedded) and warm
//     (every vector from the cache): elements scored, seconds, elements/s, CPU seconds (the worker
//     threads' included), peak RSS.
//  3. Raw USE-lite on the same unique texts, in-process (1 thread) and on the default threads.
//
//   node --import tsx bench/score.ts [--store <store after describe>]
// The machine's load average is printed too: other processes on the cores slow the wall clock.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigSchema } from '../src/core/config.js';
import { runStage } from '../src/core/stage.js';
import { DEFAULT_EMBEDDING_THREADS, UniversalSentenceEncoder } from '../src/models/embedded-text.js';
import { loadModels } from '../src/models/registry.js';
import { modelServicesOf } from '../src/models/services.js';
import { createScoreStage } from '../scorers/score-stage.js';
import { CorpusStore } from '../storage/index.js';
import { MIRROR_QUERIES, runOnMirror } from './mirror-site.js';

const { values: args } = parseArgs({ options: { store: { type: 'string' } } });

async function buildDescribedStore(dir: string): Promise<string> {
  const store = path.join(dir, 'built');
  await runOnMirror(dir, store, [['crawl', '--queries', MIRROR_QUERIES], ['process'], ['describe']]);
  return store;
}

async function emptyModelCache(store: CorpusStore): Promise<number> {
  const batch = store.batch();
  let n = 0;
  for await (const entry of store.iterate('modelCache')) {
    batch.del('modelCache', entry.inputHash);
    n++;
  }
  await batch.write();
  return n;
}

function measured<T>(run: () => Promise<T>): Promise<{ result: T; seconds: number; cpuSeconds: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  return run().then((result) => {
    const used = process.cpuUsage(cpu);
    return { result, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  });
}

const temp = await mkdtemp(path.join(tmpdir(), 'm2rag-bench-score-'));
try {
  const built = args.store ?? (await buildDescribedStore(temp));
  // A copy, so a given --store is never changed.
  const storeDir = path.join(temp, 'scored');
  await cp(built, storeDir, { recursive: true });
  const store = await CorpusStore.open(storeDir);
  const config = ConfigSchema.parse({});
  const models = await loadModels(config, store, { env: {} });
  const embedded: string[] = [];
  const cached = models.textEmbedder;
  const embedTexts = cached.embedTexts.bind(cached);
  let recording = true;
  cached.embedTexts = (texts) => (recording && embedded.push(...texts), embedTexts(texts));
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}; embedder threads: ${DEFAULT_EMBEDDING_THREADS}`);
  console.log(`emptied the model cache: ${await emptyModelCache(store)} entries`);
  for (const label of ['cold', 'warm']) {
    const run = await measured(() => runStage(createScoreStage(), store, { services: modelServicesOf(models), config, force: true }));
    const elements = (run.result.counts['chunks-scored'] ?? 0) + (run.result.counts['images-scored'] ?? 0);
    recording = false;
    console.log(
      `score ${label}: ${elements} elements (${run.result.counts['chunks-scored'] ?? 0} chunks, ${run.result.counts['images-scored'] ?? 0} images, ${run.result.failed} failed queries) in ${run.seconds.toFixed(2)} s = ${(elements / run.seconds).toFixed(1)} elements/s; CPU ${run.cpuSeconds.toFixed(1)} s; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
    );
  }
  await models.dispose();
  await store.close();

  const unique = [...new Set(embedded)];
  console.log(`texts the cold score run asked for: ${embedded.length} (${unique.length} unique, ${(unique.reduce((n, t) => n + t.length, 0) / unique.length).toFixed(0)} characters on average)`);
  for (const threads of [1, DEFAULT_EMBEDDING_THREADS]) {
    const encoder = new UniversalSentenceEncoder(undefined, { threads });
    await encoder.embedTexts(['warm-up']);
    const run = await measured(() => encoder.embedTexts(unique));
    console.log(`raw USE-lite, ${threads} thread(s): ${unique.length} texts in ${run.seconds.toFixed(2)} s = ${(unique.length / run.seconds).toFixed(1)} texts/s; CPU ${run.cpuSeconds.toFixed(1)} s`);
    await encoder.dispose();
  }
} finally {
  await rm(temp, { recursive: true, force: true });
}
