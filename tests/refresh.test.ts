// `m2rag refresh` end to end: a store is built (crawl → process → describe → score) from a COPY of
// the Wikipedia mirror served by a real local server, whose static handler answers conditional
// requests (ETag / Last-Modified → 304, counted). The copy is then changed: 10% of the crawled pages'
// article text edited, 5% of the pages deleted, 3 images replaced by other photos (flickr8k-1k), and
// 2 new pages linked from the site's pages. Describe and score talk to the local OpenAI-format
// stand-in (tests/helpers/openai-server.ts), standing in for a model endpoint, which counts calls.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA, runCli } from './helpers/cli.js';
import { exportFiles, stopAfter } from './helpers/crash-harness.js';
import { MIRROR } from './helpers/mirror-store.js';
import { chatReply, startOpenAiServer } from './helpers/openai-server.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { CorpusStore, type Page } from '../storage/index.js';

const ARTICLES = [
  'Georgia_on_My_Mind', "What'd_I_Say", 'Betty_Carter', 'Baby_Grand', 'Hallelujah_I_Love_Her_So', 'I_Got_a_Woman', 'Ray_(film)', 'The_Genius_of_Ray_Charles',
  'Crying_Time', "Driftin'_Blues", 'The_Birth_of_Soul', 'Hank_Crawford', 'The_Genius_Sings_the_Blues', 'America_the_Beautiful', 'Hit_the_Road_Jack',
  'Ray_Charles_and_Betty_Carter', 'This_Little_Girl_of_Mine', 'Ray_Charles_in_Concert', 'Night_Time_Is_the_Right_Time', "I_Can't_Stop_Loving_You",
];
const QUERIES = ['Ray Charles soul music album', 'Georgia on My Mind song'];
const EDIT = 'This sentence was added by the refresh test.';

function standInReply(request: string): string {
  return `7 — reply ${createHash('sha256').update(request).digest('hex').slice(0, 8)}`;
}

async function storedPages(dir: string): Promise<{ pages: Page[]; imageUrlsOf: Map<string, string[]> }> {
  const store = await CorpusStore.open(dir);
  try {
    const pages: Page[] = [];
    const imageUrlsOf = new Map<string, string[]>();
    for await (const page of store.iterate('pages')) {
      pages.push(page);
      const occ = await store.getMany('occurrences', await store.related('page-occurrences', page.id));
      imageUrlsOf.set(page.id, occ.flatMap((o) => (o?.imageId ? [o.url] : [])));
    }
    return { pages: pages.sort((a, b) => a.url.localeCompare(b.url)), imageUrlsOf };
  } finally {
    await store.close();
  }
}

/** The texts of the elements a refresh made new: chunks of changed and new pages, descriptions of replaced images (JSON-escaped, as sent). */
async function changedElementTexts(dir: string, changedPageIds: string[], replacedUrls: string[]): Promise<string[]> {
  const store = await CorpusStore.open(dir);
  try {
    const texts: string[] = [];
    const pageIds = new Set(changedPageIds);
    for await (const change of store.iterate('changes')) if (change.kind === 'page' && change.pageId) pageIds.add(change.pageId);
    for (const pageId of pageIds) for (const chunk of await store.getMany('chunks', await store.related('page-chunks', pageId))) if (chunk) texts.push(chunk.text);
    for (const url of replacedUrls) {
      const fetch = [...(await collect(store.iterate('fetches')))].find((f) => f.url === url);
      for await (const d of store.iterate('descriptions', { prefix: fetch!.sha256! + ':' })) if (d.text) texts.push(d.text);
    }
    return texts.map((t) => JSON.stringify(t).slice(1, -1).slice(0, 200));
  } finally {
    await store.close();
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

function lastJson(stdout: string): any {
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

test('refresh finds exactly what changed, answers unchanged pages with 304, calls models only for new and changed elements, and versions the dataset', { timeout: 600_000 }, async (t) => {
  const dir = await tempDir(t);
  const site = path.join(dir, 'site');
  await mkdir(path.join(site, 'A'), { recursive: true });
  await cp(path.join(MIRROR, 'I'), path.join(site, 'I'), { recursive: true });
  for (const name of ARTICLES) await cp(path.join(MIRROR, 'A', `${name}.html`), path.join(site, 'A', `${name}.html`));
  const index = (extra: string[]) => `<html><head><title>Index</title></head><body>${[...ARTICLES, ...extra].map((n) => `<a href="${encodeURIComponent(n)}.html">${n}</a>`).join('\n')}</body></html>`;
  await writeFile(path.join(site, 'A', 'index.htm'), index([]));
  const server = await startStaticServer(site);
  t.after(() => server.close());
  const standIn = await startOpenAiServer({ chat: (request) => chatReply(standInReply(JSON.stringify(request.body.messages))) });
  t.after(() => standIn.close());
  const env = { M2RAG_LLM_URL: standIn.url, M2RAG_LLM_MODEL: 'stand-in' };
  const config = path.join(dir, 'config.yaml');
  await writeFile(config, 'images:\n  minBytes: 2048\n  minPixels: 5000\ncrawl:\n  pages: 40\n  auxImages: 0\n');
  const queries = path.join(dir, 'q.txt');
  await writeFile(queries, QUERIES.join('\n') + '\n');
  const crawlFlags = ['--search', 'local', '--site', `${server.url}/A/index.htm`, '--allow-private'];
  const store = path.join(dir, 'store');
  const built = await runCli(['--store', store, '--config', config, 'build', '--queries', queries, ...crawlFlags], { env, timeoutMs: 300_000 });
  assert.equal(built.code, 0, built.stderr);
  const exported = async (from: string, out: string, extra: string[] = []) => {
    const done = await runCli(['--store', from, 'export', '--out', out, ...extra]);
    assert.equal(done.code, 0, done.stderr);
    return exportFiles(out);
  };
  const before = await exported(store, path.join(dir, 'export-before'));
  const crashStore = path.join(dir, 'store-crash');
  await cp(store, crashStore, { recursive: true });

  // Change the copy of the site.
  const { pages, imageUrlsOf } = await storedPages(store);
  const fileOf = (page: Page) => path.join(site, decodeURIComponent(new URL(page.url).pathname));
  const editCount = Math.max(1, Math.round(pages.length * 0.1));
  const deleteCount = Math.max(1, Math.round(pages.length * 0.05));
  const edited = pages.slice(0, editCount);
  const deleted = pages.slice(editCount, editCount + deleteCount);
  const untouched = pages.slice(editCount + deleteCount);
  for (const page of edited) {
    // Into the first long paragraph of the article, so the main text changes.
    const html = await readFile(fileOf(page), 'utf8');
    const paragraph = [...html.matchAll(/<p[^>]*>([\s\S]*?)<\/p>/g)].find((m) => m[1]!.replace(/<[^>]+>/g, '').length > 200)!;
    const at = paragraph.index + paragraph[0].indexOf('>') + 1;
    await writeFile(fileOf(page), html.slice(0, at) + `${EDIT} It changes the article of ${page.title}. ` + html.slice(at));
  }
  for (const page of deleted) await unlink(fileOf(page));
  // Three images on exactly one untouched page each (and on no other page), replaced by other photos.
  const uses = new Map<string, number>();
  for (const urls of imageUrlsOf.values()) for (const url of new Set(urls)) uses.set(url, (uses.get(url) ?? 0) + 1);
  const replacedOn = new Map<string, string>();
  for (const page of untouched) {
    const url = imageUrlsOf.get(page.id)!.find((u) => uses.get(u) === 1 && u.startsWith(server.url + '/I/'));
    if (url && replacedOn.size < 3 && ![...replacedOn.values()].includes(page.id)) replacedOn.set(url, page.id);
  }
  assert.equal(replacedOn.size, 3, 'three untouched pages each have an image of their own');
  const photos = (await readdir(path.join(CORPORA, 'flickr8k-1k'))).filter((f) => f.endsWith('.jpg')).slice(0, 3);
  for (const [i, url] of [...replacedOn.keys()].entries()) await cp(path.join(CORPORA, 'flickr8k-1k', photos[i]!), path.join(site, decodeURIComponent(new URL(url).pathname)));
  const fresh = ['Ray_Charles_soul_album_notes', 'Ray_Charles_soul_music_review'];
  for (const name of fresh) {
    const body = Array.from({ length: 6 }, (_, i) => `<p>Ray Charles soul music album ${name} paragraph ${i}: the soul music album by Ray Charles.</p>`).join('\n');
    await writeFile(path.join(site, 'A', `${name}.html`), `<html><head><title>${name}</title></head><body><article><h1>${name}</h1>${body}</article></body></html>`);
  }
  await writeFile(path.join(site, 'A', 'index.htm'), index(fresh));

  const refreshArgs = (s: string) => ['--store', s, '--config', config, 'refresh', '--search-again', '--json', ...crawlFlags];
  const callsBefore = standIn.requests.length;
  const notModifiedBefore = server.notModified.length;
  const refreshed = await runCli(refreshArgs(store), { env, timeoutMs: 300_000 });
  assert.equal(refreshed.code, 0, refreshed.stderr);
  const summary = lastJson(refreshed.stdout);
  const pagesWithReplaced = new Set(replacedOn.values()).size;
  assert.deepEqual(summary.pages, { new: 2, same: pages.length - editCount - deleteCount - pagesWithReplaced, changed: editCount + pagesWithReplaced, removed: deleteCount });
  assert.equal(summary.images.changed, 3);
  assert.equal(summary.version, 2);

  // Every unchanged page was answered 304.
  const answered304 = new Set(server.notModified.slice(notModifiedBefore));
  // The index page was rewritten (it links the new pages): sent again, yet its main text is the same.
  for (const page of untouched.filter((p) => !p.url.endsWith('/index.htm'))) assert.ok(answered304.has(new URL(page.url).pathname), `${page.url} answered 304`);
  for (const page of edited) assert.ok(!answered304.has(new URL(page.url).pathname), `${page.url} (edited) was sent again`);

  // Model calls: the count the refresh reports is the stand-in's, and only new or changed elements were sent.
  const calls = standIn.requests.slice(callsBefore);
  assert.equal(summary.modelCalls, calls.length);
  assert.ok(calls.length > 0, 'the new and changed elements were described and scored');
  const changedTexts = await changedElementTexts(store, [...edited, ...deleted].map((p) => p.id), [...replacedOn.keys()]);
  for (const call of calls) {
    const sent = JSON.stringify(call.body.messages);
    const aboutChange = sent.includes('image_url') || changedTexts.some((text) => sent.includes(text));
    assert.ok(aboutChange, `a model call about an unchanged element: ${sent.slice(0, 300)}`);
  }

  // The version before the refresh is exported byte for byte, and the changes show the edits as diffs.
  assert.deepEqual(await exported(store, path.join(dir, 'export-v1'), ['--version', '1']), before);
  const changes = await runCli(['--store', store, 'changes', '--since', '1']);
  assert.equal(changes.code, 0, changes.stderr);
  for (const page of edited) assert.match(changes.stdout, new RegExp(`page changed: ${page.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(changes.stdout, new RegExp(`^\\+.*${EDIT}`, 'm'));
  assert.match(changes.stdout, /page removed: /);

  // Refreshing again at once: nothing changed, every page 304, no model call.
  const callsAgain = standIn.requests.length;
  const again = lastJson((await runCli(refreshArgs(store), { env, timeoutMs: 300_000 })).stdout);
  assert.deepEqual(again.pages, { new: 0, same: pages.length - deleteCount + 2, changed: 0, removed: 0 });
  assert.equal(again.modelCalls, 0);
  assert.equal(standIn.requests.length, callsAgain);

  // The same refresh SIGKILLed mid-way (after describing its first query) and run again ends equal.
  const killed = await stopAfter(refreshArgs(crashStore), 'describe', 1, 'SIGKILL', env);
  assert.equal(killed.signal, 'SIGKILL');
  const rerun = await runCli(refreshArgs(crashStore), { env, timeoutMs: 300_000 });
  assert.equal(rerun.code, 0, rerun.stderr);
  const resumed = lastJson(rerun.stdout);
  assert.deepEqual({ pages: resumed.pages, images: resumed.images, version: resumed.version }, { pages: summary.pages, images: summary.images, version: 2 });
  assert.deepEqual(await exported(crashStore, path.join(dir, 'crash-v2'), ['--version', '2']), await exported(store, path.join(dir, 'v2'), ['--version', '2']));
  assert.deepEqual(await exported(crashStore, path.join(dir, 'crash-v1'), ['--version', '1']), before);
  await rm(path.join(dir, 'site'), { recursive: true, force: true });
});
