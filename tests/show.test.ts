// `m2rag show` over a small store as the stages leave it (tests/helpers/viewer-fixture.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { buildViewerFixture } from './helpers/viewer-fixture.js';

async function fixtureStore(t: import('node:test').TestContext) {
  const dir = await tempDir(t, 'm2rag-show-');
  const fixture = await buildViewerFixture(dir);
  await fixture.store.close();
  return { storeDir: path.join(dir, 'store'), fixture };
}

test('show with no argument lists the queries with their kept counts', async (t) => {
  const { storeDir } = await fixtureStore(t);
  const result = await runCli(['--store', storeDir, 'show']);
  assert.equal(result.code, 0, result.stderr);
  const piano = result.stdout.split('\n').find((l) => l.startsWith('q-piano'));
  assert.ok(piano, result.stdout);
  assert.deepEqual(piano.trim().split(/\s+/).slice(1, 5), ['1', '2', '2', '1'], 'pages, kept chunks, kept images, answers');
  const json = JSON.parse((await runCli(['--store', storeDir, 'show', '--json'])).stdout);
  assert.deepEqual(json.queries.map((r: { query: { id: string } }) => r.query.id).sort(), ['q-georgia', 'q-piano']);
});

test('show <query text> prints the answer, its cited image with description and score, the top chunks and the drops', async (t) => {
  const { storeDir, fixture } = await fixtureStore(t);
  const result = await runCli(['--store', storeDir, 'show', 'ray charles  PIANO']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /answer \[single\]/);
  assert.match(result.stdout, /fluency 0\.800/);
  assert.ok(result.stdout.includes(path.join(storeDir, 'blobs', fixture.imageIds.piano.slice(0, 2), fixture.imageIds.piano)), result.stdout);
  assert.match(result.stdout, /vision-model: Ray Charles playing a grand piano on stage/);
  assert.match(result.stdout, /9\.00 {2}p-ray:c0/);
  assert.match(result.stdout, /chunks: score below the keep threshold 1/);

  const view = JSON.parse((await runCli(['--store', storeDir, 'show', 'q-piano', '--json'])).stdout);
  assert.deepEqual(view.answers[0].citedImages.map((i: { id: string; score: number }) => [i.id, i.score]), [[fixture.imageIds.piano, 9]]);
  assert.deepEqual(view.topChunks.map((c: { id: string }) => c.id), ['p-ray:c0', 'p-ray:c1']);
  assert.deepEqual(view.dropped.images, { 'score below the keep threshold': 1 });
});

test('show of a query that is not in the store is one line and exit 2', async (t) => {
  const { storeDir } = await fixtureStore(t);
  const result = await runCli(['--store', storeDir, 'show', 'no such query']);
  assert.equal(result.code, 2);
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /no query "no such query"/);
});
