// `m2rag merge`: shard stores become one store whatever their order; copies that differ only in when
// they were written are one record, blobs are copied, and a real conflict is reported, never overwritten.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { addMirrorPage, buildMirrorStore } from './helpers/mirror-store.js';
import { tempDir } from './helpers/temp.js';
import { CorpusStore, queryIdOf } from '../storage/index.js';

/** Records as JSON without their write times (`at`, `…At`), which the reduce steps set anew. */
const timeless = (_key: string, value: unknown): unknown => (_key === 'at' || _key.endsWith('At') ? undefined : value);

async function records(dir: string): Promise<string[]> {
  const store = await CorpusStore.open(dir);
  try {
    const all: string[] = [];
    for (const kind of ['queries', 'pages', 'images', 'occurrences', 'stageMarkers'] as const) for await (const record of store.iterate(kind)) all.push(JSON.stringify(record, timeless));
    for await (const link of store.links('query-pages')) all.push(link.join('→'));
    return all;
  } finally {
    await store.close();
  }
}

test('merge is the same in any shard order, keeps one copy of a record written twice, and copies blobs', async (t) => {
  const dir = await tempDir(t);
  const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
  for (const [shard, pages] of [[a, ['Baby_Grand.html']], [b, ['Baby_Grand.html', 'A_Fool_for_You.html']]] as const) {
    const store = await CorpusStore.open(shard);
    await buildMirrorStore(store, [{ query: 'Ray Charles songs', pages: [...pages] }]);
    await store.close();
  }
  const ab = await runCli(['merge', '--out', path.join(dir, 'ab'), a, b]);
  assert.equal(ab.code, 0, ab.stderr);
  const ba = await runCli(['merge', '--out', path.join(dir, 'ba'), b, a]);
  assert.equal(ba.code, 0, ba.stderr);
  assert.match(ab.stderr, /^merge: 2 shards → .*queries=1 pages=2 /m);
  assert.deepEqual(await records(path.join(dir, 'ab')), await records(path.join(dir, 'ba')));
  const merged = await CorpusStore.open(path.join(dir, 'ab'));
  t.after(() => merged.close());
  for await (const image of merged.iterate('images')) assert.ok(await merged.hasBlob(image.id), `blob of ${image.id}`);
});

test('a record that differs between shards is reported and left out, never overwritten', async (t) => {
  const dir = await tempDir(t);
  const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
  const pageIds: string[] = [];
  for (const [shard, title] of [[a, 'First title'], [b, 'Other title']] as const) {
    const store = await CorpusStore.open(shard);
    const queryId = queryIdOf('Ray Charles songs');
    await store.put('queries', { id: queryId, query: 'Ray Charles songs', createdAt: new Date().toISOString() });
    const page = await addMirrorPage(store, queryId, 'Baby_Grand.html');
    await store.put('pages', { ...(await store.get('pages', page.pageId))!, title });
    pageIds.push(page.pageId);
    await store.close();
  }
  const result = await runCli(['merge', '--out', path.join(dir, 'out'), a, b]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`^conflict: pages ${pageIds[0]} differs between ${a}, ${b}; left out$`, 'm'));
  assert.match(result.stderr, /^m2rag: merge: 1 records differ between shards/m);
  const out = await CorpusStore.open(path.join(dir, 'out'));
  t.after(() => out.close());
  assert.equal(await out.get('pages', pageIds[0]!), undefined);
  assert.equal(await out.count('queries'), 1);
});
