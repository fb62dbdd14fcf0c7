// End to end on the real Wikipedia mirror served on 127.0.0.1, offline, with the embedded
// defaults (no LLM): `m2rag build` → `m2rag run` → `m2rag eval` → `m2rag export`. Generations must
// cite images; a second run must do nothing and `--force` redo it; eval must print its metrics
// table with the values the stored records give, also when resumed; and the M2RAG export must be
// loadable with plain JSON and byte-identical when written twice.
import assert from 'node:assert/strict';
import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA, runCli } from './helpers/cli.js';
import { CorpusStore, scoreIdOf, type Generation } from '../storage/index.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles');

async function storedGenerations(dir: string): Promise<Generation[]> {
  const store = await CorpusStore.open(dir);
  try {
    const all: Generation[] = [];
    for await (const g of store.iterate('generations')) all.push(g);
    return all;
  } finally {
    await store.close();
  }
}

function withoutTimes(generation: Generation): unknown {
  const { latencyMs: _latency, provenance, retrieval, ...rest } = generation;
  return { ...rest, provenance: { ...provenance, at: undefined }, retrieval: { ...retrieval, retrieveMs: undefined, rerankMs: undefined } };
}

/** Image recall and pooled P/R at N of one generation, from the stored scores (relevant = final score ≥ 8). */
async function expectedFigures(dir: string, generation: Generation): Promise<{ imageRecall: number; precision: number; recall: number; n: number }> {
  const store = await CorpusStore.open(dir);
  try {
    const relevant = async (ids: string[]) => {
      const scores = await store.getMany('scores', ids.map((id) => scoreIdOf(generation.queryId, 'image', id)));
      return ids.filter((_, i) => (scores[i]?.finalScore ?? -1) >= 8);
    };
    const inputs = generation.inputs.imageIds;
    const positives = await relevant(inputs);
    const gold = await relevant(generation.retrieval!.candidates.map((c) => c.imageId));
    const hits = inputs.filter((id) => gold.includes(id)).length;
    return {
      imageRecall: positives.length === 0 ? 1 : positives.filter((id) => generation.citedImageIds.includes(id)).length / positives.length,
      precision: hits / inputs.length,
      recall: gold.length === 0 ? 0 : hits / gold.length,
      n: inputs.length,
    };
  } finally {
    await store.close();
  }
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
  assert.match(run.stdout, /rerank: embedding-description-match/);
  assert.match(run.stdout, /: extractive, retrieved \d+, kept [1-9]\d*, cited [1-9]\d* image\(s\)/);
  assert.match(run.stderr, /^run: .*generations=1 .*queries=1/m);
  const generated = await storedGenerations(store);
  assert.equal(generated.length, 1);

  // Run again: the query is done, so nothing is generated and the stored record is untouched.
  const second = await cli('run', '--json');
  assert.equal(second.code, 0, second.stderr);
  const skipped = JSON.parse(second.stdout);
  assert.deepEqual([skipped.skipped, skipped.queries.length, skipped.counts['queries-already-done']], [1, 0, 1]);
  assert.deepEqual(await storedGenerations(store), generated);
  // --force redoes it: the same answer, written again.
  const forced = await cli('run', '--force', '--json');
  assert.equal(forced.code, 0, forced.stderr);
  const redone = JSON.parse(forced.stdout);
  const [generation] = await storedGenerations(store);
  assert.deepEqual([redone.skipped, redone.queries.length, redone.queries[0].generationId], [0, 1, generation!.id]);
  assert.equal(redone.queries[0].answer, generation!.output);
  assert.deepEqual(withoutTimes(generation!), withoutTimes(generated[0]!));
  assert.notEqual(generation!.provenance.at, generated[0]!.provenance.at);

  const evaluation = await cli('eval');
  assert.equal(evaluation.code, 0, evaluation.stderr);
  assert.match(evaluation.stdout, /^metric\s+mean\s+n\s+failed$/m);
  assert.match(evaluation.stdout, /^fluency\s+—\s+not judged \(no LLM configured\)$/m);
  // The values the stored generation and scores give: positives are input images scored ≥ 8.
  const expected = await expectedFigures(store, generation!);
  assert.match(evaluation.stdout, new RegExp(`^imageRecall\\s+${expected.imageRecall.toFixed(3)}\\s+1\\s+0$`, 'm'));
  assert.match(evaluation.stdout, new RegExp(`^ {2}P@${expected.n} ${expected.precision.toFixed(3)} {3}R@${expected.n} ${expected.recall.toFixed(3)} `, 'm'));
  // A resumed eval has nothing left to do and still reports every query from the stored results.
  const resumed = await cli('eval', '--json');
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /^eval: queries-already-done=1$/m);
  const table = JSON.parse(resumed.stdout);
  assert.equal(table.generations, 1);
  assert.equal(table.m2rag.imageRecall.mean, expected.imageRecall);
  assert.equal(table.retrieval.precision, expected.precision);

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
  const lines = a.get('m2rag.jsonl')!.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 1);
  const record = lines[0];
  assert.equal(record.content, 'Ray Charles piano soul music');
  assert.ok(record.webpages.some((p: { splits: unknown[] }) => p.splits.length > 0));
  const images = [...record.images, ...record.auxiliary_images];
  assert.ok(images.length > 0);
  for (const image of images) {
    await access(path.join(outA, image.path));
    assert.equal(typeof image.final_score, 'number');
    assert.equal(typeof image.description, 'string');
  }
  assert.match(a.get('README.md')!.toString(), /## Counts[\s\S]*\| queries \| 1 \|[\s\S]*minChunkScore \| 3/);

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
});

test('an empty store: run and eval exit 2 with one line saying what to do', async (t) => {
  const store = path.join(await tempDir(t), 'store');
  const run = await runCli(['--store', store, 'run']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^m2rag: store .* has no queries: run `m2rag build --queries <file>` first\n$/);
  const evaluation = await runCli(['--store', store, 'eval']);
  assert.equal(evaluation.code, 2);
  assert.match(evaluation.stderr, /has no generations/);
});
