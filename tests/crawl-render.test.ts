// `--render`: a page whose article and image are inserted by JavaScript is crawled through Debian's
// Chromium; the stored HTML holds what the script built, and its image becomes an occurrence.
import assert from 'node:assert/strict';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA, runCli } from './helpers/cli.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { pageFetchIdOf } from '../storage/index.js';
import { CorpusStore } from '../storage/index.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles');
const SCRIPTED_PAGE = `<!DOCTYPE html><html><head><title>Scripted</title></head><body><div id="app">loading…</div>
<script>
setTimeout(() => {
  document.getElementById('app').innerHTML =
    '<h1>Inserted by script</h1><p>Ray Charles at the piano.</p><img src="/I/m/Ray_Charles_(cropped).jpg" alt="Ray Charles">';
}, 50);
</script></body></html>`;

test('--render stores the DOM that JavaScript built, in Debian chromium', { timeout: 120_000 }, async (t) => {
  await access('/usr/bin/chromium').catch(() => assert.fail('Debian chromium is required: apt-get install -y chromium'));
  const server = await startStaticServer(MIRROR, {
    '/js/app.html': (_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end(SCRIPTED_PAGE),
  });
  t.after(() => server.close());
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.jsonl');
  const url = `${server.url}/js/app.html`;
  await writeFile(queries, JSON.stringify({ query: 'scripted page', urls: [url] }) + '\n');
  const store = path.join(dir, 'store');
  const result = await runCli(['--store', store, 'crawl', '--queries', queries, '--search', 'seeds', '--site', server.url + '/', '--render'], { timeoutMs: 110_000 });
  assert.equal(result.code, 0, result.stderr);

  const db = await CorpusStore.open(store);
  t.after(() => db.close());
  const fetch = await db.get('fetches', pageFetchIdOf(url));
  assert.equal(fetch?.outcome, 'ok', JSON.stringify(fetch));
  const page = (await db.get('pages', fetch!.pageId!))!;
  assert.equal(page.rendered, true);
  const html = (await db.getHtml(page.id))!;
  assert.match(html, /<h1>Inserted by script<\/h1>/);
  const [occurrenceId] = await db.related('page-occurrences', page.id);
  const occurrence = (await db.get('occurrences', occurrenceId!))!;
  assert.equal(occurrence.attributes.alt, 'Ray Charles');
  assert.ok(occurrence.imageId, 'the inserted image was fetched');
  assert.equal((await db.get('images', occurrence.imageId!))?.mime, 'image/jpeg');
  // Images are fetched by the crawler, not the browser: the image was requested exactly once.
  assert.equal(server.requests.filter((p) => p === '/I/m/Ray_Charles_(cropped).jpg').length, 1);
});
