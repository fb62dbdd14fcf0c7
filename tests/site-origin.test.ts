// The `--site` exemption is per origin: another port on the site's own host (any local service) is
// refused for seeds, redirects, meta-refresh and images, and the local-site crawler stays on its
// origin across redirects. An IPv6 site works, and IPv6 spellings of private addresses are refused.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA, runCli } from './helpers/cli.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { crawlSite } from '../crawlers/search/local-site.js';
import { isNonPublicAddress, UrlPolicy } from '../crawlers/net/url-policy.js';
import { ConfigSchema } from '../src/core/config.js';
import { CorpusStore, imageFetchIdOf, pageFetchIdOf } from '../storage/index.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles');
const IMAGE = '/I/m/Ray_Charles_(cropped).jpg';
const LIMITS = ConfigSchema.parse({}).crawl.limits;

function html(body: string): string {
  return `<!DOCTYPE html><html><head><title>site</title></head><body>${body}</body></html>`;
}

test('IPv4-compatible, site-local, NAT64 and 6to4 forms of private addresses are non-public', () => {
  for (const address of ['::7f00:1', '::a00:1', '::ffff:10.0.0.1', 'fec0::1', '64:ff9b::a00:1', '2002:7f00:1::', '::', '::1']) {
    assert.equal(isNonPublicAddress(address), true, address);
  }
  assert.equal(isNonPublicAddress('2a00:1450:4001:82b::200e'), false);
  const policy = new UrlPolicy({ allowPrivate: false });
  assert.throws(() => policy.check('http://[::127.0.0.1]:8080/'), /private address ::7f00:1/);
  assert.throws(() => policy.check('http://[0:0:0:0:0:ffff:7f00:1]/'), /private address/);
});

test('the policy trusts the site origin only: scheme, host and port', () => {
  const policy = new UrlPolicy({ allowPrivate: false, trustedOrigins: ['http://127.0.0.1:8080/index.html', 'http://[::1]:8081/'] });
  assert.equal(policy.check('http://127.0.0.1:8080/a.html').port, '8080');
  assert.throws(() => policy.check('http://127.0.0.1:8081/'), /private address 127\.0\.0\.1/);
  assert.throws(() => policy.check('https://127.0.0.1:8080/'), /private address/);
  assert.throws(() => policy.check('http://127.0.0.1/'), /private address/);
  assert.equal(policy.check('http://[::1]:8081/x').hostname, '[::1]');
  assert.throws(() => policy.check('http://[::1]:8080/'), /private address ::1/);
});

test('with --site on one port, seeds, redirects, meta-refresh and images to another port on the host are refused', { timeout: 120_000 }, async (t) => {
  const other = await startStaticServer(MIRROR);
  t.after(() => other.close());
  const site = await startStaticServer(MIRROR, {
    '/redirect.html': (_req, res) => void res.writeHead(302, { location: `${other.url}/A/Ray_Charles.html` }).end(),
    '/refresh.html': (_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end(html(`<meta http-equiv="refresh" content="0;url=${other.url}/A/Ray_Charles.html">`)),
    '/images.html': (_req, res) =>
      void res.writeHead(200, { 'content-type': 'text/html' }).end(html(`<p>Two pictures.</p><img src="${IMAGE}" alt="own"><img src="${other.url}${IMAGE}" alt="other port">`)),
  });
  t.after(() => site.close());
  const dir = await tempDir(t);
  const seeds = { direct: `${other.url}/A/Ray_Charles.html`, redirect: `${site.url}/redirect.html`, refresh: `${site.url}/refresh.html`, images: `${site.url}/images.html` };
  const queries = path.join(dir, 'q.jsonl');
  await writeFile(queries, JSON.stringify({ query: 'other ports', urls: Object.values(seeds) }) + '\n');
  const store = path.join(dir, 'store');
  const result = await runCli(['--store', store, 'crawl', '--queries', queries, '--search', 'seeds', '--site', site.url + '/', '--pages', '10']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(other.requests, [], 'nothing reached the other port');

  const db = await CorpusStore.open(store);
  t.after(() => db.close());
  const fetchOf = async (url: string) => (await db.get('fetches', pageFetchIdOf(url)))!;
  assert.deepEqual([(await fetchOf(seeds.direct)).outcome, (await fetchOf(seeds.direct)).reason], ['failed', 'refused: private address 127.0.0.1']);
  assert.equal((await fetchOf(seeds.redirect)).outcome, 'failed');
  assert.match((await fetchOf(seeds.redirect)).reason!, /^refused: private address 127\.0\.0\.1/);
  assert.equal((await fetchOf(seeds.refresh)).outcome, 'failed');
  assert.match((await fetchOf(seeds.refresh)).reason!, /^meta-refresh to .*: refused: private address 127\.0\.0\.1$/);
  const images = await fetchOf(seeds.images);
  assert.equal(images.outcome, 'ok');
  const own = await db.get('fetches', imageFetchIdOf(`${site.url}${IMAGE}`));
  assert.equal(own?.outcome, 'ok');
  const foreign = await db.get('fetches', imageFetchIdOf(`${other.url}${IMAGE}`));
  assert.deepEqual([foreign?.outcome, foreign?.reason], ['failed', 'refused: private address 127.0.0.1']);
});

test('the local-site crawler does not follow a redirect off its origin, even where private addresses are allowed', async (t) => {
  const other = await startStaticServer(MIRROR);
  t.after(() => other.close());
  const site = await startStaticServer(MIRROR, {
    '/index.html': (_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end(html('<p>Home</p><a href="/away.html">away</a>')),
    '/away.html': (_req, res) => void res.writeHead(301, { location: `${other.url}/A/Ray_Charles.html` }).end(),
  });
  t.after(() => site.close());
  const fetch = { policy: new UrlPolicy({ allowPrivate: true }), timeoutMs: 10_000, maxBytes: 10 * 1024 * 1024, userAgent: 'm2rag-test' };
  const index = await crawlSite(`${site.url}/index.html`, { fetch, maxPages: 50, concurrency: 2, limits: LIMITS });
  assert.deepEqual(other.requests, []);
  assert.deepEqual(index.pages.map((p) => p.url), [`${site.url}/index.html`]);
  const away = index.failures.find((f) => f.url === `${site.url}/away.html`);
  assert.match(away?.reason ?? '', /redirect off the site origin/);
});

/** A tiny site on [::1]: two linked pages with one image. */
async function ipv6Site(): Promise<{ url: string; close: () => Promise<void> }> {
  const image = await readFile(path.join(MIRROR, IMAGE));
  const pages: Record<string, string> = {
    '/index.html': html('<h1>Ray Charles</h1><p>Ray Charles was an American singer and pianist.</p><a href="/songs.html">Songs</a>'),
    '/songs.html': html(`<h1>Songs</h1><p>What'd I Say is a song by Ray Charles.</p><img src="${IMAGE}" alt="Ray Charles at the piano">`),
  };
  const server = http.createServer((req, res) => {
    const page = pages[req.url ?? ''];
    if (page) res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    else if (req.url === IMAGE) res.writeHead(200, { 'content-type': 'image/jpeg' }).end(image);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  return {
    url: `http://[::1]:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

test('an IPv6 --site is crawled, searched and its images fetched', { timeout: 120_000 }, async (t) => {
  const site = await ipv6Site();
  t.after(() => site.close());
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.jsonl');
  await writeFile(queries, JSON.stringify({ query: "What'd I Say Ray Charles" }) + '\n');
  const store = path.join(dir, 'store');
  const result = await runCli(['--store', store, 'crawl', '--queries', queries, '--search', 'local', '--site', `${site.url}/index.html`, '--pages', '2']);
  assert.equal(result.code, 0, result.stderr);
  const db = await CorpusStore.open(store);
  t.after(() => db.close());
  const songs = await db.get('fetches', pageFetchIdOf(`${site.url}/songs.html`));
  assert.equal(songs?.outcome, 'ok');
  const image = await db.get('fetches', imageFetchIdOf(`${site.url}${IMAGE}`));
  assert.equal(image?.outcome, 'ok');
});
