// End to end on the real Wikipedia mirror served on 127.0.0.1, offline, with the embedded
// defaults (no LLM): `m2rag build` → `m2rag run` → `m2rag eval` → `m2rag export`. The default
// strategy, `single`, has no LLM here, so the labelled extractive fallback answers, with a notice,
// from the query's own kept splits and images only; a second run must do nothing and `--force` redo
// it; eval must print "—" for what nothing judged (overall too) and the image recall the stored
// scores give; the M2RAG export must be loadable with plain JSON and byte-identical when written
// twice; and `--strategy ragvl --pool corpus` answers beside the single-stage answer.
import assert from 'node:assert/strict';
import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA, runCli } from './helpers/cli.js';
import { CorpusStore, generationIdOf, scoreIdOf, type Generation } from '../storage/index.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles');

async function withStoreAt<T>(dir: string, work: (store: CorpusStore) => Promise<T>): Promise<T> {
  const store = await CorpusStore.open(dir);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function storedGenerations(dir: string): Promise<Generation[]> {
  return withStoreAt(dir, async (store) => {
    const all: Generation[] = [];
    for await (const g of store.iterate('generations')) all.push(g);
    return all;
  });
}

function withoutTimes(generation: Generation): unknown {
  const { latencyMs: _latency, provenance, ...rest } = generation;
  return { ...rest, provenance: { ...provenance, at: undefined } };
}

/** What the score stage kept for the query, the query's own chunks, and its input images scored ≥ 8 (image recall's positives). */
function scoreFacts(dir: string, generation: Generation) {
  return withStoreAt(dir, async (store) => {
    const kept = { chunks: new Set<string>(), images: new Set<string>() };
    for await (const score of store.iterate('scores')) {
      if (score.queryId === generation.queryId && score.kept) (score.elementKind === 'chunk' ? kept.chunks : kept.images).add(score.elementId);
    }
    const ownChunks = new Set((await Promise.all((await store.related('query-pages', generation.queryId)).map((p) => store.related('page-chunks', p)))).flat());
    const scores = await store.getMany('scores', generation.inputs.imageIds.map((id) => scoreIdOf(generation.queryId, 'image', id)));
    const positives = generation.inputs.imageIds.filter((_, i) => (scores[i]?.finalScore ?? -1) >= 8);
    const imageRecall = positives.length === 0 ? 1 : positives.filter((id) => generation.citedImageIds.includes(id)).length / positives.length;
    return { kept, ownChunks, imageRecall, done: await store.isStageDone('run:single', generation.queryId) };
  });
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(dir, full), await readFile(full));
  }
  return files;
}

test('build, run, eval and export on the mirror: generations cite images, a metrics table, a deterministic export', async (t) => {
  const server = await startStaticServer(MIRROR);
  t.after(() => server.close());
  const dir = await tempDir(t);
  const store = path.join(dir, 'store');
  const queries = path.join(dir, 'queries.txt');
  await writeFile(queries, 'Ray Charles piano soul music\n');
  const config = path.join(dir, 'm2rag.yaml');
  // The mirror's images are Wikipedia thumbnails (mostly 5–20 KB), under M2RAG's 20 KB floor.
  await writeFile(config, `crawl:\n  search: local\n  site: ${server.url}/A/index.htm\n  allowPrivate: true\n  pages: 6\nimages:\n  minBytes: 2048\n  minPixels: 5000\n`);
  const cli = (...args: string[]) => runCli(['--store', store, '--config', config, ...args], { timeoutMs: 300_000 });

  const build = await cli('build', '--queries', queries);
  assert.equal(build.code, 0, build.stderr);
  assert.match(build.stderr, /^score: .*chunks-kept=[1-9].*images-kept=[1-9]/m);

  const run = await cli('run');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^notice: no LLM \(models\.llmUrl\) configured: answers are extractive \(model-free\), not single generation$/m);
  assert.doesNotMatch(run.stdout, /^(rerank|corpus)/m, 'single retrieves nothing: it reads the query\'s kept input');
  const line = run.stdout.match(/^(q\w+): extractive, (\d+) splits, (\d+) images in, cited (\d+) image\(s\)/m);
  assert.ok(line, run.stdout);
  const runCounts = run.stderr.match(/^run:single: (.*)$/m)?.[1] ?? '';
  assert.match(runCounts, /\bgenerations=1\b/);
  assert.match(runCounts, /\bgenerations-extractive-fallback=1\b/);
  const generated = await storedGenerations(store);
  assert.equal(generated.length, 1);
  const [first] = generated as [Generation];
  assert.deepEqual([first.id, first.strategy, first.method, first.status], [generationIdOf(line[1]!, 'single', 'extractive'), 'single', 'extractive', 'ok']);
  assert.deepEqual([first.inputs.chunkIds.length, first.inputs.imageIds.length, first.citedImageIds.length].map(String), [line[2], line[3], line[4]]);
  // The input: only splits and images the score stage kept for this query, from its own pages, within the caps.
  const facts = await scoreFacts(store, first);
  assert.ok(first.inputs.chunkIds.length > 0 && first.inputs.imageIds.length > 0);
  assert.ok(first.inputs.imageIds.length <= 10, 'run.maxImages');
  assert.ok(first.inputs.chunkIds.every((id) => facts.kept.chunks.has(id) && facts.ownChunks.has(id)));
  assert.ok(first.inputs.imageIds.every((id) => facts.kept.images.has(id)));
  assert.ok(first.citedImageIds.length > 0 && first.citedImageIds.every((id) => first.inputs.imageIds.includes(id)));
  assert.equal(facts.done, true, 'the done marker is per strategy');

  // Run again: the query is done, so nothing is generated and the stored record is untouched.
  const second = await cli('run', '--json');
  assert.equal(second.code, 0, second.stderr);
  const skipped = JSON.parse(second.stdout);
  assert.deepEqual([skipped.strategy, skipped.skipped, skipped.queries.length, skipped.counts['queries-already-done']], ['single', 1, 0, 1]);
  assert.deepEqual(await storedGenerations(store), generated);
  // --force redoes it: the same answer, written again.
  const forced = await cli('run', '--force', '--json');
  assert.equal(forced.code, 0, forced.stderr);
  const redone = JSON.parse(forced.stdout);
  const [generation] = await storedGenerations(store);
  assert.deepEqual([redone.skipped, redone.queries.length, redone.queries[0].generationId], [0, 1, generation!.id]);
  assert.equal(redone.queries[0].answer, generation!.output);
  assert.deepEqual(withoutTimes(generation!), withoutTimes(first));
  assert.notEqual(generation!.provenance.at, first.provenance.at);

  const evaluation = await cli('eval');
  assert.equal(evaluation.code, 0, evaluation.stderr);
  assert.match(evaluation.stdout, /^metric\s+mean\s+n\s+failed/m);
  assert.match(evaluation.stdout, /^fluency\s+—\s+not judged \(no LLM configured/m);
  assert.match(evaluation.stdout, /^image_coherence\s+—\s+not judged \(no vision model configured/m);
  // Image recall is computed, not judged: input images scored ≥ 8, cited or not.
  assert.match(evaluation.stdout, new RegExp(`^image_recall\\s+${facts.imageRecall.toFixed(3)}\\s+1\\s+0`, 'm'));
  assert.match(evaluation.stdout, /^overall\s+—\s+nothing judged/m, 'offline, overall is never a number');
  // A resumed eval has nothing left to do and still reports every query from the stored results.
  const resumed = await cli('eval', '--json');
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /^eval: queries-already-done=1$/m);
  const table = JSON.parse(resumed.stdout);
  assert.equal(table.generations, 1);
  assert.equal(table.m2rag.image_recall.mean, facts.imageRecall);
  assert.equal(table.overall.reference, undefined);

  const outA = path.join(dir, 'export-a');
  const outB = path.join(dir, 'export-b');
  for (const out of [outA, outB]) {
    const exported = await cli('export', '--format', 'm2rag', '--out', out);
    assert.equal(exported.code, 0, exported.stderr);
  }
  const a = await filesOf(outA);
  const b = await filesOf(outB);
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${name} differs between two exports`);

  // Loadable without our code: plain JSON lines, image paths that exist beside them.
  const lines = a.get('dev_set.jsonl')!.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 1);
  const record = lines[0];
  assert.equal(record.content, 'Ray Charles piano soul music');
  assert.ok(record.webpages.some((p: { cleaned_webpage_splits: unknown[] }) => p.cleaned_webpage_splits.length > 0));
  const images = [...record.webpages.flatMap((p: { images: unknown[] }) => p.images), ...record.aux_images].filter((i: { valid: boolean }) => i.valid);
  assert.ok(images.length > 0);
  for (const image of images) {
    await access(path.join(outA, image.cached_image_url));
    assert.equal(typeof image.final_score, 'number');
    assert.equal(typeof image.detailed_image_caption, 'string');
  }
  assert.match(a.get('README.md')!.toString(), /## Counts[\s\S]*\| queries \| 1 \|[\s\S]*score\.minChunkScore \| 3/);

  // Exporting again into an earlier export replaces it whole: a stray file does not survive.
  await writeFile(path.join(outA, 'images', 'stale.png'), 'left over');
  const again = await cli('export', '--format', 'm2rag', '--out', outA);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual([...(await filesOf(outA)).keys()].sort(), [...a.keys()].sort());
  // A folder that holds something else is the user's data: refused, untouched.
  const foreign = path.join(dir, 'my-notes');
  await mkdir(foreign);
  await writeFile(path.join(foreign, 'notes.txt'), 'mine');
  const refused = await cli('export', '--format', 'm2rag', '--out', foreign);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /not empty and holds no earlier m2rag export/);
  assert.deepEqual(await readdir(foreign), ['notes.txt']);
  assert.deepEqual((await readdir(dir)).filter((name) => name.includes('.partial-')), []);

  // RagVL over the whole corpus's kept elements, offline: its own fallback reranker, its own marker and answer.
  const ragvl = await cli('run', '--strategy', 'ragvl', '--pool', 'corpus', '--json');
  assert.equal(ragvl.code, 0, ragvl.stderr);
  const ragvlReport = JSON.parse(ragvl.stdout);
  assert.deepEqual([ragvlReport.strategy, ragvlReport.pool, ragvlReport.threshold.method, ragvlReport.queries.length], ['ragvl', 'corpus', 'embedding-description-match', 1]);
  assert.match(ragvlReport.fallback, /extractive/);
  const both = await storedGenerations(store);
  assert.deepEqual(both.map((g) => g.strategy).sort(), ['ragvl', 'single']);
  assert.ok(both.find((g) => g.strategy === 'ragvl')!.retrieval!.candidates.length > 0);
});

test('a store without queries: run and eval exit 2 with one line saying what to do', async (t) => {
  const store = path.join(await tempDir(t), 'store');
  await withStoreAt(store, async () => undefined);
  const run = await runCli(['--store', store, 'run']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^m2rag: store .* has no queries: run `m2rag build --queries <file>` first\n$/);
  const evaluation = await runCli(['--store', store, 'eval']);
  assert.equal(evaluation.code, 2);
  assert.match(evaluation.stderr, /has no generations/);
});
