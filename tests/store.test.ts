// The corpus store on real LevelDB in a temp dir: round trips, atomic batches, versions, indexes,
// blobs, and a store over a database the caller opened. Only the public API is used.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { Level } from 'level';
import path from 'node:path';
import { tempDir } from './helpers/temp.js';
import { CorpusStore, SCHEMA_VERSION, StoreVersionError, sha256Hex, type RecordKind, type RecordOf } from '../storage/index.js';

const at = '2026-11-21T10:00:00.000Z';
const sha = sha256Hex('image bytes');
const provenance = { provider: 'test', model: 'none', inputHash: 'abc', at };

const samples: { [K in RecordKind]: RecordOf<K> } = {
  queries: { id: 'q1', query: 'who was ray charles', topic: 'music', createdAt: at },
  hits: { id: 'h1', queryId: 'q1', kind: 'web', rank: 0, provider: 'local', url: 'http://x/a', title: 'A' },
  fetches: { id: 'f1', url: 'http://x/a', kind: 'page', outcome: 'failed', httpStatus: 500, reason: 'server error', at },
  pages: { id: 'p1', url: 'http://x/a', finalUrl: 'http://x/a', fetchedAt: at, htmlBytes: 10, rendered: false, markdown: 'x <IMAGE_PLACEHOLDER>[0]' },
  chunks: { id: 'p1:c0', pageId: 'p1', index: 0, text: 'x <IMAGE_PLACEHOLDER>[0]', occurrenceIds: ['p1:0'], imageIds: [sha] },
  images: { id: sha, bytes: 11, mime: 'image/png', firstUrl: 'http://x/i.png', fetchedAt: at, width: 10, height: 10 },
  occurrences: { id: 'p1:0', kind: 'page', pageId: 'p1', index: 0, url: 'http://x/i.png', imageId: sha, attributes: { alt: 'a piano' } },
  descriptions: { id: 'd1', imageId: sha, status: 'ok', text: 'A piano.', method: 'context-template', provenance },
  scores: { id: 's1', queryId: 'q1', elementKind: 'chunk', elementId: 'p1:c0', status: 'ok', components: { bm25: 4 }, finalScore: 4, method: 'embedded', provenance },
  generations: { id: 'g1', queryId: 'q1', strategy: 'single', method: 'extractive', inputs: { chunkIds: ['p1:c0'], imageIds: [sha] }, output: 'answer', citedImageIds: [sha], latencyMs: 3, provenance },
  evalResults: { id: 'e1', queryId: 'q1', generationId: 'g1', metrics: { fluency: 0.8 }, failed: {}, method: 'llm-judge', provenance },
  stageMarkers: { stage: 'crawl', queryId: 'q1', doneAt: at, counts: { pages: 1 } },
  modelCache: { inputHash: 'abc', provider: 'test', model: 'none', response: { text: 'hi' }, at },
  ratings: { id: 'r1', rater: 'ana', at, target: { kind: 'generation', generationId: 'g1', queryId: 'q1', metric: 'fluency' }, value: 4 },
  versions: { id: 'v000001', number: 1, status: 'done', at, dataset: { 'README.md': sha } },
  changes: { id: '2:page:p1', version: 2, kind: 'page', label: 'changed', url: 'https://example.org/a', pageId: 'p1', previousText: 'old', text: 'new' },
};

test('every record kind round-trips through LevelDB', async (t) => {
  const dir = await tempDir(t);
  const store = await CorpusStore.open(dir);
  for (const [kind, record] of Object.entries(samples) as Array<[RecordKind, RecordOf<RecordKind>]>) {
    await store.put(kind, record);
  }
  await store.close();
  const reopened = await CorpusStore.open(dir);
  t.after(() => reopened.close());
  for (const kind of Object.keys(samples) as RecordKind[]) {
    const record = samples[kind] as Record<string, unknown>;
    const id = kind === 'stageMarkers' ? 'crawl\x00q1' : kind === 'modelCache' ? 'abc' : (record.id as string);
    assert.deepEqual(await reopened.get(kind, id), record, kind);
    assert.equal(await reopened.count(kind), 1, kind);
  }
  assert.equal(await reopened.isStageDone('crawl', 'q1'), true);
  assert.equal(await reopened.isStageDone('process', 'q1'), false);
});

test('a record that does not match its schema is refused, and never lands', async (t) => {
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const batch = store.batch().put('queries', samples.queries);
  assert.throws(() => batch.put('images', { ...samples.images, id: 'not-a-sha256' }), /id/);
  assert.equal(await store.count('queries'), 0, 'nothing is written before the batch is');
  await batch.write();
  assert.equal(await store.count('queries'), 1);
  assert.equal(await store.count('images'), 0, 'the refused record was never queued');
});

test('a batch the database refuses at commit leaves nothing behind', async (t) => {
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const batch = store
    .batch()
    .put('pages', samples.pages)
    .put('chunks', samples.chunks)
    .link('page-chunks', 'p1', 'p1:c0')
    .putHtml('p1', '<html>p1</html>')
    // A key LevelDB cannot store (as from a caller that got around the types) fails the whole batch.
    .del('chunks', undefined as unknown as string);
  await assert.rejects(batch.write());
  assert.equal(await store.count('pages'), 0);
  assert.equal(await store.count('chunks'), 0);
  assert.deepEqual(await store.related('page-chunks', 'p1'), []);
  assert.equal(await store.getHtml('p1'), undefined);
});

test('blob bytes are written before the records that point to them', async (t) => {
  const dir = await tempDir(t);
  // A regular file where the blob folder should be: every blob write fails.
  const blocked = path.join(dir, 'blocked');
  await writeFile(blocked, '');
  const store = await CorpusStore.over(new Level<string, unknown>(path.join(dir, 'db')), { dir, blobsDir: blocked });
  t.after(() => store.close());
  const bytes = Buffer.from('image bytes');
  await assert.rejects(store.batch().putBlob(bytes).put('images', samples.images).write());
  assert.equal(await store.count('images'), 0, 'no record points to a blob that is not there');
  assert.equal(await store.hasBlob(sha), false);
});

test('secondary indexes list related ids, only for their own key', async (t) => {
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  await store
    .batch()
    .link('page-chunks', 'p1', 'p1:c0')
    .link('page-chunks', 'p1', 'p1:c1')
    .link('page-chunks', 'p10', 'p10:c0')
    .link('image-occurrences', sha, 'p1:0')
    .write();
  assert.deepEqual(await store.related('page-chunks', 'p1'), ['p1:c0', 'p1:c1']);
  assert.deepEqual(await store.related('page-chunks', 'p10'), ['p10:c0']);
  assert.deepEqual(await store.related('image-occurrences', sha), ['p1:0']);
  const links: Array<[string, string]> = [];
  for await (const link of store.links('page-chunks')) links.push(link);
  assert.deepEqual(links, [['p1', 'p1:c0'], ['p1', 'p1:c1'], ['p10', 'p10:c0']]);
});

test('blobs are stored once by content and read back', async (t) => {
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const bytes = Buffer.from('same bytes on two pages');
  await store.batch().putBlob(bytes).putBlob(bytes).write();
  const id = sha256Hex(bytes);
  assert.deepEqual(await store.getBlob(id), bytes);
  assert.equal(await store.hasBlob(id), true);
  assert.equal(await store.getBlob(sha256Hex('other')), undefined);
  assert.equal(await store.hasBlob(sha256Hex('other')), false);
});

test("a page's HTML is a blob file named by its sha256, and the page id points to it", async (t) => {
  const dir = await tempDir(t);
  const store = await CorpusStore.open(dir);
  t.after(() => store.close());
  const html = '<html><body>Ray Charles — “Georgia”</body></html>';
  await store.batch().putHtml('p1', html).putHtml('p2', Buffer.from(html)).write();
  assert.equal(await store.getHtml('p1'), html);
  assert.equal(await store.getHtml('p2'), html, 'text and bytes give the same HTML');
  assert.equal(await store.getHtml('p3'), undefined);
  const file = store.blobPath(sha256Hex(html));
  assert.equal(await readFile(file, 'utf8'), html, 'one file for both pages');
  await rm(file);
  assert.equal(await store.getHtml('p1'), undefined, 'a lost blob reads as no HTML (doctor reports it)');
});

test('HTML a store holds from before HTML blobs is still read, and a page written again leaves the old part', async (t) => {
  const dir = await tempDir(t);
  const store = await CorpusStore.open(dir);
  await store.close();
  const raw = new Level<string, string>(path.join(dir, 'db'), { valueEncoding: 'utf8' });
  await raw.sublevel<string, string>('pageHtml', { valueEncoding: 'utf8' }).batch([
    { type: 'put', key: 'p1', value: '<html>old p1</html>' },
    { type: 'put', key: 'p2', value: '<html>old p2</html>' },
  ]);
  await raw.close();

  const reopened = await CorpusStore.open(dir);
  assert.equal(await reopened.getHtml('p1'), '<html>old p1</html>');
  await reopened.batch().putHtml('p1', '<html>new p1</html>').write();
  assert.equal(await reopened.getHtml('p1'), '<html>new p1</html>');
  assert.equal(await reopened.getHtml('p2'), '<html>old p2</html>');
  await reopened.close();
  const after = new Level<string, string>(path.join(dir, 'db'), { valueEncoding: 'utf8' });
  const inline: string[] = [];
  for await (const key of after.sublevel<string, string>('pageHtml', { valueEncoding: 'utf8' }).keys()) inline.push(key);
  await after.close();
  assert.deepEqual(inline, ['p2'], 'the rewritten page no longer has inline HTML');
});

test('image bytes: the thumbnail when preferred and stored, else the original', async (t) => {
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const original = Buffer.from('original bytes');
  const thumbnail = Buffer.from('thumbnail bytes');
  await store.batch().putBlob(original).putBlob(thumbnail).write();
  const image = { ...samples.images, id: sha256Hex(original), thumbnailId: sha256Hex(thumbnail) };
  assert.deepEqual(await store.imageBytes(image, { prefer: 'thumbnail' }), thumbnail);
  assert.deepEqual(await store.imageBytes(image), original, 'the original by default');
  assert.deepEqual(await store.imageBytes({ ...image, thumbnailId: sha256Hex('never stored') }, { prefer: 'thumbnail' }), original);
  assert.deepEqual(await store.imageBytes({ ...image, thumbnailId: undefined }, { prefer: 'thumbnail' }), original);
  assert.equal(await store.imageBytes({ ...image, id: sha256Hex('never stored') }), undefined);
});

test('a store over a database the caller opened: same records, versioned the same way', async (t) => {
  const dir = await tempDir(t);
  const location = { dir, blobsDir: path.join(dir, 'elsewhere') };
  const store = await CorpusStore.over(new Level<string, unknown>(path.join(dir, 'own-db')), location);
  await store.batch().putBlob(Buffer.from('image bytes')).put('images', samples.images).link('image-occurrences', sha, 'p1:0').write();
  assert.equal(store.blobPath(sha), path.join(dir, 'elsewhere', sha.slice(0, 2), sha));
  await store.close();

  const reopened = await CorpusStore.over(new Level<string, unknown>(path.join(dir, 'own-db')), location);
  assert.deepEqual(await reopened.get('images', sha), samples.images);
  assert.deepEqual(await reopened.related('image-occurrences', sha), ['p1:0']);
  assert.deepEqual(await reopened.getBlob(sha), Buffer.from('image bytes'));
  await reopened.close();

  const raw = new Level<string, unknown>(path.join(dir, 'own-db'));
  await raw.sublevel<string, unknown>('meta', { valueEncoding: 'json' }).put('schemaVersion', SCHEMA_VERSION + 1);
  await raw.close();
  await assert.rejects(CorpusStore.over(new Level<string, unknown>(path.join(dir, 'own-db')), location), StoreVersionError);
});

test('a store written with another schema version is refused, naming both versions', async (t) => {
  const dir = await tempDir(t);
  const raw = new Level<string, unknown>(path.join(dir, 'db'), { valueEncoding: 'json' });
  await raw.sublevel<string, unknown>('meta', { valueEncoding: 'json' }).put('schemaVersion', SCHEMA_VERSION + 1);
  await raw.close();
  await assert.rejects(CorpusStore.open(dir), (error: Error) => {
    assert.ok(error instanceof StoreVersionError);
    assert.match(error.message, new RegExp(`schema version ${SCHEMA_VERSION + 1}.*schema version ${SCHEMA_VERSION}`));
    return true;
  });
});

test('iterating with a shard splits the records without overlap or loss', async (t) => {
  const store = await CorpusStore.open(await tempDir(t));
  t.after(() => store.close());
  const batch = store.batch();
  for (let i = 0; i < 50; i++) batch.put('queries', { id: `q${i}`, query: `query ${i}`, createdAt: at });
  await batch.write();
  const seen: string[] = [];
  for (let rank = 0; rank < 3; rank++) {
    for await (const query of store.iterate('queries', { shard: { rank, worldSize: 3 } })) seen.push(query.id);
  }
  assert.equal(seen.length, 50);
  assert.equal(new Set(seen).size, 50);
});
