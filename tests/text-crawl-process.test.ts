// End to end: `m2rag crawl` over the real mirror served on 127.0.0.1, then `m2rag process`: pages get
// markdown with placeholders, chunks name their occurrences and images, site boilerplate is marked,
// and processing again adds nothing.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { MIRROR } from './helpers/mirror-store.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { CorpusStore } from '../storage/index.js';

test('crawl then process: chunks with placeholders, image ids and dedup marks', async (t) => {
  const server = await startStaticServer(MIRROR);
  t.after(() => server.close());
  const dir = await tempDir(t);
  const store = path.join(dir, 'store');
  const queries = path.join(dir, 'queries.txt');
  await writeFile(queries, 'Ray Charles piano soul music\nHit the Road Jack\n');
  const crawl = await runCli(['--store', store, 'crawl', '--queries', queries, '--search', 'local', '--site', `${server.url}/A/index.htm`, '--allow-private']);
  assert.equal(crawl.code, 0, crawl.stderr);
  const processed = await runCli(['--store', store, 'process']);
  assert.equal(processed.code, 0, processed.stderr);
  assert.match(processed.stderr, /^process-text: .*chunks=\d+/m);

  const db = await CorpusStore.open(store);
  let snapshot: unknown[] = [];
  try {
    let pages = 0;
    for await (const page of db.iterate('pages')) {
      pages++;
      assert.equal(page.extractor, 'readability+prune', page.url);
      assert.ok(page.markdown!.length > 200, page.url);
    }
    assert.ok(pages >= 5);
    const chunks = [];
    for await (const chunk of db.iterate('chunks')) chunks.push(chunk);
    const withImages = chunks.filter((chunk) => chunk.imageIds.length > 0);
    assert.ok(withImages.length >= 5, `${withImages.length} chunks hold fetched images`);
    for (const chunk of withImages) {
      assert.equal(chunk.occurrenceIds.length, [...chunk.text.matchAll(/<IMAGE_PLACEHOLDER>\[(\d+)\]/g)].length);
      for (const imageId of chunk.imageIds) assert.ok(await db.has('images', imageId), 'image ids name stored images');
    }
    // The mirror's articles share navigation boxes (discography lists): marked as site boilerplate.
    const boilerplate = chunks.filter((chunk) => chunk.boilerplate);
    assert.ok(boilerplate.length >= 2, `${boilerplate.length} boilerplate chunks`);
    assert.ok(boilerplate.some((chunk) => chunk.duplicateOf), 'repeats point to the kept copy');
    snapshot = chunks;
  } finally {
    await db.close();
  }

  const again = await runCli(['--store', store, 'process', '--force']);
  assert.equal(again.code, 0, again.stderr);
  const reopened = await CorpusStore.open(store);
  try {
    const chunks = [];
    for await (const chunk of reopened.iterate('chunks')) chunks.push(chunk);
    assert.deepEqual(chunks, snapshot, 'processing again changes no chunk');
  } finally {
    await reopened.close();
  }
});
