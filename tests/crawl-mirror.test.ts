// `m2rag crawl --search local` over the real Wikipedia mirror served on 127.0.0.1: every query gets
// pages and images with their occurrences, and running it again adds nothing.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA, ROOT, runCli } from './helpers/cli.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { OCCURRENCE_ATTRIBUTE } from '../src/core/markup/page-images.js';
import { CorpusStore, occurrenceIdOf } from '../storage/index.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles');
const QUERIES = path.join(ROOT, 'examples/mirror-queries.txt');

async function storeCounts(dir: string): Promise<Record<string, number>> {
  const { stdout } = await runCli(['--store', dir, 'stats', '--json']);
  const { stages: _stages, ...counts } = JSON.parse(stdout) as Record<string, number>;
  return counts;
}

test('local search over the mirror stores at least 5 pages and 5 images per query, with occurrences, idempotently', async (t) => {
  const server = await startStaticServer(MIRROR);
  t.after(() => server.close());
  const store = path.join(await tempDir(t), 'store');
  const args = ['--store', store, 'crawl', '--queries', QUERIES, '--search', 'local', '--site', `${server.url}/A/index.htm`, '--allow-private'];
  const first = await runCli(args);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /^crawl: .*pages-stored=\d+/m);

  const db = await CorpusStore.open(store);
  try {
    const queries = [];
    for await (const query of db.iterate('queries')) queries.push(query);
    assert.equal(queries.length, 3);
    for (const query of queries) {
      const pageIds = await db.related('query-pages', query.id);
      assert.ok(pageIds.length >= 5, `${query.query}: ${pageIds.length} pages`);
      const imageIds = new Set<string>();
      for (const pageId of pageIds) {
        const page = (await db.get('pages', pageId))!;
        assert.ok(page.finalUrl.startsWith(server.url + '/A/'), page.finalUrl);
        const html = (await db.getHtml(pageId))!;
        const occurrenceIds = await db.related('page-occurrences', pageId);
        for (const occurrenceId of occurrenceIds) {
          const occurrence = (await db.get('occurrences', occurrenceId))!;
          assert.equal(occurrence.id, occurrenceIdOf(pageId, occurrence.index));
          assert.ok(html.includes(`${OCCURRENCE_ATTRIBUTE}="${occurrence.index}"`), 'the stored HTML carries the occurrence mark');
          if (occurrence.imageId) {
            imageIds.add(occurrence.imageId);
            assert.ok((await db.related('image-occurrences', occurrence.imageId)).includes(occurrenceId));
          }
        }
      }
      const auxIds = await db.related('query-occurrences', query.id);
      assert.equal(auxIds.length, 10, `${query.query}: auxiliary images`);
      for (const id of auxIds) {
        const aux = (await db.get('occurrences', id))!;
        assert.equal(aux.kind, 'auxiliary');
        assert.ok(aux.attributes.sourcePageUrl?.startsWith(server.url), 'an auxiliary image names the page it came from');
        if (aux.imageId) imageIds.add(aux.imageId);
      }
      assert.ok(imageIds.size >= 5, `${query.query}: ${imageIds.size} images`);
      for (const id of imageIds) {
        const image = (await db.get('images', id))!;
        assert.match(image.mime, /^image\/(jpeg|png|gif|svg\+xml)$/);
        const bytes = (await db.getBlob(id))!;
        assert.equal(bytes.length, image.bytes);
      }
    }
  } finally {
    await db.close();
  }

  const before = await storeCounts(store);
  assert.ok(before.pages! >= 5 && before.images! >= 5);
  const again = await runCli([...args, '--force']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await storeCounts(store), before, 'a second crawl adds nothing');
});
