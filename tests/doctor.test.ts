// `m2rag doctor` over a store damaged by the test: a deleted blob, a garbled record, a garbled
// model-cache entry, a dangling index link, a lost LevelDB manifest. It reports each per part and
// exits 1; `--repair` restores what can be restored (the blob is fetched again from the loopback
// server it was crawled from) and still exits 1 for what cannot (the garbled record).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { Level } from 'level';
import { runCli } from './helpers/cli.js';
import { addMirrorPage, MIRROR } from './helpers/mirror-store.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { formatReport, refetcher } from '../src/cli/commands/doctor.js';
import { ConfigSchema } from '../src/core/config.js';
import { CorpusStore, doctorStore, queryIdOf, sha256Hex, STORE_MARKER } from '../storage/index.js';

/** A store with one mirror page crawled from `origin`, its images and their blobs; returns an image id and an occurrence id. */
async function crawledStore(dir: string, origin: string): Promise<{ imageId: string; occurrenceId: string }> {
  const store = await CorpusStore.open(dir);
  const queryId = queryIdOf('ray charles');
  await store.put('queries', { id: queryId, query: 'ray charles', createdAt: new Date().toISOString() });
  const page = await addMirrorPage(store, queryId, 'Ray_Charles.html', { url: `${origin}/A/Ray_Charles.html` });
  const [imageId] = await firstLink(store, 'image-occurrences');
  const [occurrenceId] = await store.related('page-occurrences', page.pageId);
  await store.put('modelCache', { inputHash: 'h1', provider: 'stand-in', model: 'm', response: { text: 'cached' }, at: new Date().toISOString() });
  await store.close();
  assert.ok(imageId && occurrenceId, 'the fixture page has stored images');
  return { imageId, occurrenceId };
}

async function firstLink(store: CorpusStore, index: 'image-occurrences'): Promise<[string, string]> {
  for await (const link of store.links(index)) return link;
  throw new Error('no link');
}

/** Writes raw values into the store's database, as damage would leave them. */
async function damage(dir: string, writes: Array<{ part: string; key: string; value: string }>): Promise<void> {
  const db = new Level<string, string>(path.join(dir, 'db'), { valueEncoding: 'utf8', createIfMissing: false });
  for (const w of writes) await db.sublevel<string, string>(w.part, { valueEncoding: 'utf8' }).put(w.key, w.value);
  await db.close();
}

test('doctor reports a deleted blob, a garbled record and cache entry, a dangling link; --repair restores what it can', async (t) => {
  const server = await startStaticServer(MIRROR);
  t.after(() => server.close());
  const dir = path.join(await tempDir(t), 'store');
  const { imageId, occurrenceId } = await crawledStore(dir, server.url);
  const blob = path.join(dir, 'blobs', imageId.slice(0, 2), imageId);
  await rm(blob);
  await damage(dir, [
    { part: 'occurrences', key: occurrenceId, value: '{"id": "' + occurrenceId + '", "kind": "page", "index": "oops' },
    { part: 'modelCache', key: 'h1', value: '{"inputHash":"h1","provider":' },
    { part: 'idx-page-chunks', key: 'p-gone\x00c-gone', value: '' },
  ]);

  const check = await runCli(['--store', dir, 'doctor']);
  assert.equal(check.code, 1, check.stderr);
  assert.match(check.stdout, new RegExp(`blobs: \\d+ checked, 1 problem\\n    problem: image ${imageId.slice(0, 12)}…: missing`));
  assert.match(check.stdout, new RegExp(`occurrences: \\d+ checked, 1 problem\\n    problem: ${occurrenceId}: not JSON`));
  assert.match(check.stdout, /modelCache: 1 checked, 1 problem/);
  assert.match(check.stdout, /index page-chunks: 1 checked, 1 problem\n {4}problem: links p-gone → c-gone, which is not a stored chunks record/);
  assert.match(check.stdout, /queries: 1 checked, ok/);
  assert.match(check.stderr, /^m2rag: doctor: 4 problems remain in store .*; run `m2rag doctor --repair`/m);
  assert.equal(existsSync(blob), false, 'checking changes nothing');

  // The repair in-process (the CLI makes the same call), with the crawl's safe fetch allowed onto loopback.
  const repair = await doctorStore(dir, { repair: true, refetch: refetcher(ConfigSchema.parse({ crawl: { allowPrivate: true } })) });
  const printed = formatReport(repair, true).join('\n');
  assert.equal(repair.remaining, 1, 'the garbled occurrence cannot be repaired');
  assert.match(printed, new RegExp(`repaired: image ${imageId.slice(0, 12)}…: missing, fetched again from ${server.url}/`));
  assert.match(printed, /repaired: dropped 1 damaged cache entries/);
  assert.match(printed, /repaired: rebuilt: 1 dangling links removed, 0 missing links added/);
  assert.match(printed, new RegExp(`cannot repair: ${occurrenceId}: not JSON`));
  assert.equal(sha256Hex(await readFile(blob)), imageId, 'the blob is back, with its own bytes');

  const again = await doctorStore(dir, { repair: false });
  assert.equal(again.remaining, 1);
  assert.deepEqual(again.parts.filter((p) => p.problemCount > 0).map((p) => p.part), ['occurrences']);
});

test('a lost manifest: every command refuses with one line naming doctor; doctor --repair rebuilds it from a copy', async (t) => {
  const dir = path.join(await tempDir(t), 'store');
  const store = await CorpusStore.open(dir);
  for (const q of ['ray charles', 'fats domino']) await store.put('queries', { id: queryIdOf(q), query: q, createdAt: new Date().toISOString() });
  await store.close();
  const db = path.join(dir, 'db');
  const manifest = (await readdir(db)).find((f) => f.startsWith('MANIFEST-'))!;
  await rm(path.join(db, manifest));
  // LevelDB's own info log (LOG, LOG.old) rotates on any open attempt; the data files must not change.
  const dataFiles = async (): Promise<string[]> => (await readdir(db)).filter((f) => !f.startsWith('LOG')).sort();
  const before = await dataFiles();

  const stats = await runCli(['--store', dir, 'stats']);
  assert.equal(stats.code, 2);
  assert.equal(stats.stderr.trim().split('\n').length, 1, stats.stderr);
  assert.match(stats.stderr, /^m2rag: store .*store is damaged: the database cannot be read \(.*MANIFEST.*\); run `m2rag --store .* doctor`/);
  assert.deepEqual(await dataFiles(), before, 'no data file was created or deleted');

  const check = await doctorStore(dir, { repair: false });
  assert.equal(check.remaining, 1);
  assert.match(formatReport(check, false).join('\n'), /database: 1 checked, 1 problem\n {4}problem: cannot be opened/);

  const repair = await doctorStore(dir, { repair: true });
  const printed = formatReport(repair, true).join('\n');
  assert.equal(repair.remaining, 0, printed);
  assert.match(printed, /repaired: rebuilt by LevelDB's repair \(the damaged copy is kept in .*db\.backup-/);
  const backup = (await readdir(dir)).find((f) => f.startsWith('db.backup-'))!;
  assert.ok(!(await readdir(path.join(dir, backup))).includes(manifest), 'the copy is of the damaged folder');
  const reopened = await CorpusStore.open(dir, { mustExist: true });
  assert.equal(await reopened.count('queries'), 2, 'both queries are back');
  await reopened.close();
  assert.ok(existsSync(path.join(dir, STORE_MARKER)));
});

test("doctor reports a page whose HTML blob is gone, and names the command that fetches it again", async (t) => {
  const server = await startStaticServer(MIRROR);
  t.after(() => server.close());
  const dir = path.join(await tempDir(t), 'store');
  await crawledStore(dir, server.url);
  const store = await CorpusStore.open(dir);
  let pageId = '';
  for await (const page of store.iterate('pages')) pageId = page.id;
  const htmlFile = store.blobPath(sha256Hex((await store.getHtml(pageId))!));
  await store.close();
  assert.ok(existsSync(htmlFile), 'the crawled page HTML is a blob file');
  await rm(htmlFile);

  const check = await runCli(['--store', dir, 'doctor']);
  assert.equal(check.code, 1, check.stderr);
  assert.match(check.stdout, new RegExp(`blobs: \\d+ checked, 1 problem\\n    problem: HTML of page ${pageId.slice(0, 12)}…: missing \\(.*\\); \`m2rag refresh\` fetches the page again`));
  assert.match(check.stdout, /pageHtmlBlob: 1 checked, ok/);
});
