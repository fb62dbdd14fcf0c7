// The local-site index does not depend on the order concurrent fetches finish in: crawled one page at
// a time and eight at a time, the real mirror gives the same pages and the same image texts.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA } from './helpers/cli.js';
import { startStaticServer } from './helpers/static-server.js';
import { crawlSite } from '../crawlers/search/local-site.js';
import { UrlPolicy } from '../crawlers/net/url-policy.js';
import { ConfigSchema } from '../src/core/config.js';

test('the local-site index is the same whatever the fetch concurrency', { timeout: 120_000 }, async (t) => {
  const server = await startStaticServer(path.join(CORPORA, 'wiki-ray-charles'));
  t.after(() => server.close());
  const site = `${server.url}/A/Ray_Charles.html`;
  const fetch = { policy: new UrlPolicy({ allowPrivate: true }), timeoutMs: 10_000, maxBytes: 10 * 1024 * 1024, userAgent: 'm2rag-test' };
  const index = async (concurrency: number) => {
    const { builtAt: _builtAt, ...rest } = await crawlSite(site, { fetch, maxPages: 5000, concurrency, limits: ConfigSchema.parse({}).crawl.limits });
    return rest;
  };
  const one = await index(1);
  const eight = await index(8);
  assert.ok(one.pages.length >= 50 && one.images.length >= 50, `indexed ${one.pages.length} pages and ${one.images.length} images`);
  assert.deepEqual(one.pages.map((p) => p.url), [...one.pages.map((p) => p.url)].sort(), 'pages sorted by URL');
  assert.deepEqual(eight, one);
});
