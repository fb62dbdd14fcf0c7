// Hostile pages on a loopback server, made by the test: 100k images sharing one URL, 100k nested
// divs, random bytes served as text/html, a page of many links and one over the HTML cap. The real
// CLI crawls and processes them; each ends in a Fetch record with its reason, every stored page
// agrees with its Fetch, and `process` gets through what was stored.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import * as cheerio from 'cheerio';
import { CORPORA, runCli } from './helpers/cli.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { findPageImages } from '../src/core/markup/page-images.js';
import { binaryContentReason } from '../src/core/markup/binary.js';
import { extractMarkdownContext } from '../processors/images/context.js';
import { CorpusStore, pageFetchIdOf, type Fetch } from '../storage/index.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles');
const IMAGE = '/I/m/Ray_Charles_(cropped).jpg';

function page(body: string): string {
  return `<!DOCTYPE html><html><head><title>hostile</title></head><body>${body}</body></html>`;
}

function serve(content: string | Buffer) {
  return (_req: http.IncomingMessage, res: http.ServerResponse): void => void res.writeHead(200, { 'content-type': 'text/html' }).end(content);
}

test('DOM paths of 100k sibling images are exact, and images past the caps are removed unmarked', { timeout: 60_000 }, () => {
  const $ = cheerio.load(page('<p>x</p>' + `<img src="/a.jpg">`.repeat(100_000) + '<p>y</p>'));
  const all = findPageImages($, 'http://127.0.0.1/');
  assert.equal(all.images.length, 100_000);
  assert.equal(all.images[0]!.domPath, 'html>body>img:nth-of-type(1)');
  assert.equal(all.images[99_999]!.domPath, 'html>body>img:nth-of-type(100000)');

  const capped = cheerio.load(page(Array.from({ length: 50 }, (_, i) => `<img src="/${i % 10}.jpg">`).join('')));
  const scan = findPageImages(capped, 'http://127.0.0.1/', { maxOccurrences: 30, maxImages: 4 });
  assert.deepEqual([...new Set(scan.images.map((i) => i.url))], ['/0.jpg', '/1.jpg', '/2.jpg', '/3.jpg'].map((p) => `http://127.0.0.1${p}`));
  assert.equal(scan.images.length, 20, 'only uses of the first 4 distinct images, 5 times each, fit');
  assert.equal(scan.beyondCaps, 30);
  assert.equal(capped('img[data-m2rag-occurrence]').length, 20);
  assert.equal(capped('img').length, 20, 'images past the caps are gone from the DOM that is stored');
});

test('bytes that are not text are told apart from text in any charset', () => {
  assert.match(binaryContentReason(randomBytes(64 * 1024))!, /^binary content/);
  assert.match(binaryContentReason(Buffer.from('<p>a\0b</p>'))!, /NUL bytes/);
  assert.match(binaryContentReason(randomBytes(64 * 1024).toString('utf8'))!, /^binary content/, 'random bytes as decoded by the crawler');
  assert.equal(binaryContentReason(Buffer.from(page('<p>Ça déjà vu — naïve café</p>'), 'latin1')), undefined, 'windows-1252 text');
  assert.equal(binaryContentReason(page('<p>日本語のテキスト</p>')), undefined);
});

test('on a page of 5,000 placeholders each occurrence gets its own heading, caption and text around it', () => {
  const parts = ['# Gallery', ''];
  for (let k = 0; k < 5000; k++) parts.push(`<IMAGE_PLACEHOLDER>[${k}]`, `Photo number ${k}.`, '');
  const markdown = parts.join('\n');
  const budget = { tokensAbove: 16, tokensBelow: 16 };
  const last = extractMarkdownContext(markdown, 4999, budget);
  assert.equal(last.heading, 'Gallery');
  assert.equal(last.adjacentCaption, 'Photo number 4999.');
  assert.match(last.above!, /Photo number 4998\.$/);
  const first = extractMarkdownContext(markdown, 0, budget);
  assert.equal(first.above, '# Gallery');
  assert.match(first.below!, /^Photo number 0\.\n\nPhoto number 1\./);
  assert.deepEqual(extractMarkdownContext(markdown, 5000, budget), { found: false });
});

test('hostile pages are crawled and processed in seconds, each recorded with its reason', { timeout: 300_000 }, async (t) => {
  const manyLinks = page(Array.from({ length: 300 }, (_, i) => `<a href="/l${i}.html">link ${i}</a>`).join(' ') + '<p>' + 'Words of an article. '.repeat(50) + '</p>');
  const server = await startStaticServer(MIRROR, {
    '/many-images.html': serve(page('<p>' + 'A gallery of the same picture. '.repeat(40) + '</p>' + `<img src="${IMAGE}" alt="Ray">`.repeat(100_000))),
    '/deep.html': serve(page('<div>'.repeat(100_000) + 'deep' + '</div>'.repeat(100_000))),
    '/binary.html': serve(randomBytes(2 * 1024 * 1024)),
    '/many-links.html': serve(manyLinks),
    '/big.html': serve(page(`<p>${'All work and no play. '.repeat(350_000)}</p>`)),
  });
  t.after(() => server.close());
  const dir = await tempDir(t);
  const u = (p: string): string => server.url + p;
  const urls = ['/many-images.html', '/deep.html', '/binary.html', '/many-links.html', '/big.html'].map(u);
  const queries = path.join(dir, 'q.jsonl');
  await writeFile(queries, JSON.stringify({ query: 'hostile pages', urls }) + '\n');
  const config = path.join(dir, 'config.yaml');
  await writeFile(config, 'crawl:\n  limits:\n    maxLinks: 100\n    maxHtmlBytes: 6000000\n');
  const store = path.join(dir, 'store');
  const crawled = await runCli(['--store', store, '--config', config, 'crawl', '--queries', queries, '--search', 'seeds', '--site', server.url + '/', '--pages', '10']);
  assert.equal(crawled.code, 0, crawled.stderr);

  const db = await CorpusStore.open(store);
  const fetches = new Map<string, Fetch>();
  for (const url of urls) {
    const fetch = await db.get('fetches', pageFetchIdOf(url));
    assert.ok(fetch, `a Fetch record for ${url}`);
    fetches.set(url.slice(server.url.length), fetch);
  }
  const outcome = (p: string): [string, string | undefined] => [fetches.get(p)!.outcome, fetches.get(p)!.reason];
  assert.equal(outcome('/deep.html')[0], 'skipped');
  assert.match(outcome('/deep.html')[1]!, /^too-deep: DOM nesting over 512$/);
  assert.equal(outcome('/binary.html')[0], 'skipped');
  assert.match(outcome('/binary.html')[1]!, /^binary: binary content/);
  assert.equal(outcome('/big.html')[0], 'skipped');
  assert.match(outcome('/big.html')[1]!, /^too-large-html: \d+ bytes > 6000000$/);
  assert.deepEqual(outcome('/many-links.html'), ['ok', 'truncated: 200 links past the cap of 100']);
  assert.deepEqual(outcome('/many-images.html'), ['ok', 'truncated: 99000 images past the caps (1000 occurrences, 300 distinct images)']);

  // The store agrees with the Fetch records: a page for each ok, none for the others.
  const pageIds: string[] = [];
  for await (const stored of db.iterate('pages')) pageIds.push(stored.id);
  assert.deepEqual(pageIds.sort(), [fetches.get('/many-images.html')!.pageId!, fetches.get('/many-links.html')!.pageId!].sort());
  const occurrences = await db.related('page-occurrences', fetches.get('/many-images.html')!.pageId!);
  assert.equal(occurrences.length, 1000);
  const html = (await db.getHtml(fetches.get('/many-links.html')!.pageId!))!;
  assert.equal(cheerio.load(html)('a[href]').length, 100, 'links past the cap lose their href');
  const stats = (await db.stageStats()).find((s) => s.stage === 'crawl')!;
  assert.equal(stats.counts['pages-stored'], 2);
  assert.equal(stats.counts['pages-truncated'], 2);
  assert.equal(stats.counts['occurrences'], 1000);
  assert.equal(stats.counts['dropped:occurrences-beyond-caps'], 99_000);
  assert.equal(stats.counts['dropped:page-binary'], 1);
  assert.equal(stats.counts['dropped:page-too-deep'], 1);
  await db.close();

  const processed = await runCli(['--store', store, 'process']);
  assert.equal(processed.code, 0, processed.stderr);
  const after = await CorpusStore.open(store);
  t.after(() => after.close());
  const contextualized = await after.getMany('occurrences', occurrences);
  assert.ok(contextualized.every((o) => o?.context?.inMainContent === true), 'every kept occurrence found its placeholder');
});
