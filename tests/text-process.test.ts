// The process-text stage over a store built from real mirror pages as the crawler writes them:
// chunks carry their placeholders' occurrence and image ids, the mirror's duplicate articles served
// under two names are marked (also when the second name arrives in a later run), near-duplicates
// and site boilerplate are marked, and running again changes nothing.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { addMirrorPage, buildMirrorStore, readMirrorArticle } from './helpers/mirror-store.js';
import { tempDir } from './helpers/temp.js';
import { ConfigSchema } from '../src/core/config.js';
import { runStage } from '../src/core/stage.js';
import { processTextStage } from '../processors/text/stage.js';
import { PLACEHOLDER_PATTERN } from '../src/core/markup/placeholder.js';
import { CorpusStore, queryIdOf, type Chunk, type Page } from '../storage/index.js';

const config = ConfigSchema.parse({});

async function all<K extends 'pages' | 'chunks'>(store: CorpusStore, kind: K): Promise<Array<K extends 'pages' ? Page : Chunk>> {
  const records = [];
  for await (const record of store.iterate(kind)) records.push(record);
  return records as Array<K extends 'pages' ? Page : Chunk>;
}

test('process-text: chunks with placeholders and image ids; duplicates under two names marked across runs; idempotent', async (t) => {
  const store = await CorpusStore.open(path.join(await tempDir(t), 'store'));
  t.after(() => store.close());
  const pages = await buildMirrorStore(store, [
    { query: 'America the Beautiful', pages: ['America_the_Beautiful.html', 'Ray_Charles.html', 'Georgia_on_My_Mind.html'] },
  ]);
  const first = await runStage(processTextStage, store, { config });
  assert.equal(first.failed, 0);
  assert.equal(first.counts['pages-kept'], 3);

  for (const { pageId } of Object.values(pages)) {
    const page = (await store.get('pages', pageId))!;
    assert.equal(page.extractor, 'readability+prune');
    assert.ok(page.markdown && page.markdown.length > 1000);
    const chunkIds = await store.related('page-chunks', pageId);
    const chunks = (await store.getMany('chunks', chunkIds)).map((chunk) => chunk!).sort((a, b) => a.index - b.index);
    assert.deepEqual(chunks.map((chunk) => chunk.index), chunks.map((_, i) => i));
    assert.ok(chunks.length >= 3, `${page.url}: ${chunks.length} chunks`);
    const placeholdersInPage = [...page.markdown.matchAll(PLACEHOLDER_PATTERN)].map((m) => `${pageId}:${m[1]}`);
    assert.ok(placeholdersInPage.length >= 1);
    assert.deepEqual(chunks.flatMap((chunk) => chunk.occurrenceIds), placeholdersInPage, 'every placeholder is in exactly one chunk, in order');
    for (const chunk of chunks) {
      // No chunk cuts a placeholder: every "<IMAGE_PLACEHOLDER>" is a whole one.
      assert.equal(chunk.text.split('<IMAGE_PLACEHOLDER>').length - 1, [...chunk.text.matchAll(PLACEHOLDER_PATTERN)].length);
      assert.ok(chunk.text.length <= config.text.chunkChars, `${chunk.id}: ${chunk.text.length} chars`);
      const occurrences = await store.getMany('occurrences', chunk.occurrenceIds);
      const fetched = [...new Set(occurrences.flatMap((o) => o?.imageId ?? []))];
      assert.deepEqual(chunk.imageIds, fetched, `${chunk.id}: image ids of its placeholders`);
    }
  }
  const withImages = (await all(store, 'chunks')).filter((chunk) => chunk.imageIds.length > 0);
  assert.ok(withImages.length >= 3, 'chunks know their images');

  // A later query finds the same article under the mirror's other name: matched against the store.
  const secondQuery = queryIdOf('America The Beautiful song');
  await store.put('queries', { id: secondQuery, query: 'America The Beautiful song', createdAt: new Date().toISOString() });
  const alias = await addMirrorPage(store, secondQuery, 'America_The_Beautiful.html');
  assert.equal(alias.file, 'America_the_Beautiful.html', 'the alias serves the same article');
  const second = await runStage(processTextStage, store, { config });
  assert.equal(second.counts['pages-duplicate-exact'], 1);
  const kept = pages['America_the_Beautiful.html']!;
  const aliasPage = (await store.get('pages', alias.pageId))!;
  assert.equal(aliasPage.duplicateOf, kept.pageId);
  assert.deepEqual((await store.get('pages', kept.pageId))!.duplicateUrls, [alias.url]);
  assert.equal((await store.get('pages', kept.pageId))!.duplicateOf, undefined);
  const aliasChunks = (await store.getMany('chunks', await store.related('page-chunks', alias.pageId))).map((c) => c!);
  assert.ok(aliasChunks.every((chunk) => chunk.duplicateOf?.startsWith(kept.pageId + ':c')), 'the copy’s chunks point to the kept chunks');
  assert.ok(aliasChunks.every((chunk) => !chunk.boilerplate), 'a copy of a whole page is not site boilerplate');

  // Running everything again changes nothing.
  const pagesBefore = await all(store, 'pages');
  const chunksBefore = await all(store, 'chunks');
  const again = await runStage(processTextStage, store, { config, force: true });
  assert.equal(again.failed, 0);
  assert.deepEqual(await all(store, 'pages'), pagesBefore);
  assert.deepEqual(await all(store, 'chunks'), chunksBefore);

  // Re-chunking with larger chunks leaves no stale chunk behind, in the records or the index.
  const larger = ConfigSchema.parse({ text: { chunkChars: 4000 } });
  const rechunked = await runStage(processTextStage, store, { config: larger, force: true });
  assert.ok(rechunked.counts['chunks-removed-stale']! > 0);
  const after = await all(store, 'chunks');
  assert.ok(after.length < chunksBefore.length);
  for (const { pageId } of [...Object.values(pages), alias]) {
    const ids = await store.related('page-chunks', pageId);
    const chunks = await store.getMany('chunks', ids);
    assert.ok(chunks.every((chunk) => chunk !== undefined), 'every indexed chunk exists');
    assert.equal(ids.length, after.filter((chunk) => chunk.pageId === pageId).length);
  }
});

test('process-text: a reworded, reordered copy is a near-duplicate; text repeated across the site is boilerplate', async (t) => {
  const store = await CorpusStore.open(path.join(await tempDir(t), 'store'));
  t.after(() => store.close());
  const queryId = queryIdOf('Ray Charles');
  await store.put('queries', { id: queryId, query: 'Ray Charles', createdAt: new Date().toISOString() });
  const original = await addMirrorPage(store, queryId, 'Hit_the_Road_Jack.html');

  // The same article with its first two paragraphs swapped and a few words changed.
  const { html } = await readMirrorArticle('Hit_the_Road_Jack.html');
  const paragraphs = [...html.matchAll(/<p\b[^>]*>[\s\S]*?<\/p>/g)].map((m) => m[0]).filter((p) => p.length > 200);
  assert.ok(paragraphs.length >= 2);
  const edited = html
    .replace(paragraphs[0]!, '\u0000')
    .replace(paragraphs[1]!, paragraphs[0]!)
    .replace('\u0000', paragraphs[1]!)
    .replace(/\bsong\b/, 'track')
    .replace(/\brecorded\b/, 'cut');
  const variant = await addMirrorPage(store, queryId, 'Hit_the_Road_Jack_(variant).html', { html: edited });

  // A real paragraph block (a section of another article) repeated on two different articles of the site.
  const notice = (await readMirrorArticle('Betty_Carter.html')).html.match(/<p\b[^>]*>[\s\S]*?<\/p>/g)!.find((p) => p.replace(/<[^>]+>/g, '').length > 500)!;
  const withNotice = async (name: string): Promise<string> =>
    (await readMirrorArticle(name)).html.replace(/<h2[^>]*>References/, `<h2>Site notice</h2>${notice}$&`);
  const georgiaHtml = await withNotice('Georgia_on_My_Mind.html');
  const baby = await withNotice('Baby_Grand.html');
  assert.notEqual(georgiaHtml, (await readMirrorArticle('Georgia_on_My_Mind.html')).html, 'the notice was inserted');
  const georgia = await addMirrorPage(store, queryId, 'Georgia_on_My_Mind.html', { html: georgiaHtml });
  const babyGrand = await addMirrorPage(store, queryId, 'Baby_Grand.html', { html: baby });

  const report = await runStage(processTextStage, store, { config });
  assert.equal(report.failed, 0);
  assert.equal((await store.get('pages', variant.pageId))!.duplicateOf, original.pageId);
  assert.equal(report.counts['pages-duplicate-near'], 1);
  assert.deepEqual((await store.get('pages', original.pageId))!.duplicateUrls, [variant.url]);
  assert.equal((await store.get('pages', georgia.pageId))!.duplicateOf, undefined);
  assert.equal((await store.get('pages', babyGrand.pageId))!.duplicateOf, undefined);

  const chunksOf = async (pageId: string): Promise<Chunk[]> => (await store.getMany('chunks', await store.related('page-chunks', pageId))).map((c) => c!);
  const noticeText = notice.replace(/<[^>]+>/g, '').slice(0, 60);
  const georgiaNotice = (await chunksOf(georgia.pageId)).find((chunk) => chunk.text.includes('Site notice'));
  const babyNotice = (await chunksOf(babyGrand.pageId)).find((chunk) => chunk.text.includes('Site notice'));
  assert.ok(georgiaNotice && babyNotice, `both pages have the notice chunk (${noticeText})`);
  assert.equal(georgiaNotice.boilerplate, true, 'the first copy is marked boilerplate once the second shows up');
  assert.equal(babyNotice.boilerplate, true);
  assert.equal(babyNotice.duplicateOf, georgiaNotice.id);
  const otherChunks = (await chunksOf(babyGrand.pageId)).filter((chunk) => chunk.id !== babyNotice.id);
  assert.ok(otherChunks.every((chunk) => !chunk.boilerplate && !chunk.duplicateOf), 'the article’s own text is neither');
});

test('process-text: a page whose extraction runs past text.extractTimeoutMs is recorded as a timeout, and the stage goes on', async (t) => {
  const store = await CorpusStore.open(path.join(await tempDir(t), 'store'));
  t.after(() => store.close());
  const pages = await buildMirrorStore(store, [{ query: 'Ray Charles', pages: ['Ray_Charles.html', 'Georgia_on_My_Mind.html'] }]);
  // 1 ms: no real article extracts that fast, so each page's thread is stopped mid-page and replaced.
  const hurried = await runStage(processTextStage, store, { config: ConfigSchema.parse({ text: { extractTimeoutMs: 1 } }) });
  assert.equal(hurried.failed, 0);
  assert.equal(hurried.counts['dropped:page-timeout'], 2, JSON.stringify(hurried.counts));
  for (const { pageId } of Object.values(pages)) {
    const page = (await store.get('pages', pageId))!;
    assert.equal(page.extractWarning, 'timeout: extraction ran past 1 ms');
    assert.equal(page.markdown, '');
    assert.deepEqual(await store.related('page-chunks', pageId), []);
  }
  // With the default limit the same pages extract: the replaced thread works.
  const normal = await runStage(processTextStage, store, { config, force: true });
  assert.equal(normal.counts['dropped:page-timeout'], undefined);
  for (const { pageId } of Object.values(pages)) assert.ok(((await store.get('pages', pageId))!.markdown ?? '').length > 1000);
});
