// Remote search adapters against local HTTP servers that stand in for the remote APIs: each replays
// a response in that API's documented JSON format and records the request it got.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { BraveSearch } from '../crawlers/search/brave.js';
import { GoogleCseSearch } from '../crawlers/search/google-cse.js';
import { SearxngSearch } from '../crawlers/search/searxng.js';
import { SeedSearch } from '../crawlers/search/seeds.js';
import { WikipediaSearch } from '../crawlers/search/wikipedia.js';
import { UserError } from '../src/core/errors.js';
import type { Query } from '../storage/index.js';

const CLIENT = { userAgent: 'm2rag-test', timeoutMs: 5000 };
const QUERY: Query = { id: 'q1', query: 'Ray Charles piano', createdAt: new Date().toISOString() };

interface StandIn {
  url: string;
  requests: Array<{ url: URL; headers: http.IncomingHttpHeaders }>;
}

/** A stand-in for a remote search API: `reply` answers each request with a JSON body. */
async function standIn(t: TestContext, reply: (url: URL) => unknown): Promise<StandIn> {
  const requests: StandIn['requests'] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://127.0.0.1');
    requests.push({ url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply(url)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

test('wikipedia: MediaWiki list=search for pages and Commons file search for images (stand-in for the Wikimedia APIs)', async (t) => {
  const api = await standIn(t, (url) =>
    url.searchParams.get('list') === 'search'
      ? { batchcomplete: true, query: { searchinfo: { totalhits: 2 }, search: [
          { ns: 0, title: 'Ray Charles', pageid: 1, snippet: '<span class="searchmatch">Ray</span> Charles Robinson was an American singer &amp; pianist' },
          { ns: 0, title: 'Georgia on My Mind', pageid: 2, snippet: 'song' },
        ] } }
      : { batchcomplete: '', query: { pages: {
          '20': { pageid: 20, ns: 6, title: 'File:Ray Charles 1968.jpg', index: 2, imagerepository: 'local', imageinfo: [{ thumburl: 'https://upload.wikimedia.org/thumb/b.jpg', url: 'https://upload.wikimedia.org/b.jpg', descriptionurl: 'https://commons.wikimedia.org/wiki/File:Ray_Charles_1968.jpg' }] },
          '10': { pageid: 10, ns: 6, title: 'File:Ray Charles (cropped).jpg', index: 1, imagerepository: 'local', imageinfo: [{ url: 'https://upload.wikimedia.org/a.jpg', descriptionurl: 'https://commons.wikimedia.org/wiki/File:A.jpg' }] },
        } } },
  );
  const provider = new WikipediaSearch(`${api.url}/w/api.php`, `${api.url}/commons/w/api.php`, CLIENT);
  const pages = await provider.search(QUERY, { kind: 'web', limit: 10 });
  assert.deepEqual(pages[0], { url: `${api.url}/wiki/Ray_Charles`, title: 'Ray Charles', snippet: 'Ray Charles Robinson was an American singer & pianist' });
  assert.equal(pages[1]!.url, `${api.url}/wiki/Georgia_on_My_Mind`);
  assert.equal(api.requests[0]!.url.searchParams.get('srsearch'), 'Ray Charles piano');
  assert.equal(api.requests[0]!.url.searchParams.get('srlimit'), '10');

  const images = await provider.search(QUERY, { kind: 'image', limit: 10 });
  assert.deepEqual(images.map((i) => i.url), ['https://upload.wikimedia.org/a.jpg', 'https://upload.wikimedia.org/thumb/b.jpg'], 'ordered by search index, thumbnail preferred');
  assert.equal(images[0]!.sourcePageUrl, 'https://commons.wikimedia.org/wiki/File:A.jpg');
  assert.equal(images[0]!.title, 'Ray Charles (cropped).jpg');
  assert.equal(api.requests[1]!.url.pathname, '/commons/w/api.php');
  assert.equal(api.requests[1]!.url.searchParams.get('gsrnamespace'), '6');
});

test('searxng: format=json with categories general and images, paged until the limit (stand-in for a SearXNG instance)', async (t) => {
  const api = await standIn(t, (url) => {
    const page = Number(url.searchParams.get('pageno'));
    if (page > 2) return { query: 'x', results: [] };
    return url.searchParams.get('categories') === 'images'
      ? { query: 'x', results: [{ url: `https://site/p${page}`, title: 'pic', img_src: `https://img/${page}.jpg`, engine: 'bing images' }] }
      : { query: 'x', number_of_results: 0, results: [{ url: `https://a/${page}`, title: 'A', content: 'about a', engine: 'duckduckgo' }, { url: 'https://same/', title: 'S' }] };
  });
  const provider = new SearxngSearch(api.url, CLIENT);
  const pages = await provider.search(QUERY, { kind: 'web', limit: 3 });
  assert.deepEqual(pages.map((p) => p.url), ['https://a/1', 'https://same/', 'https://a/2']);
  assert.equal(api.requests[0]!.url.searchParams.get('format'), 'json');
  const images = await provider.search(QUERY, { kind: 'image', limit: 5 });
  assert.deepEqual(images, [
    { url: 'https://img/1.jpg', title: 'pic', snippet: undefined, sourcePageUrl: 'https://site/p1' },
    { url: 'https://img/2.jpg', title: 'pic', snippet: undefined, sourcePageUrl: 'https://site/p2' },
  ]);
});

test('brave: key from BRAVE_API_KEY in X-Subscription-Token; web and image endpoints (stand-in for the Brave Search API)', async (t) => {
  assert.throws(() => new BraveSearch('http://127.0.0.1:1/res/v1', CLIENT, {}), UserError);
  const api = await standIn(t, (url) =>
    url.pathname.endsWith('/web/search')
      ? { type: 'search', web: { type: 'search', results: [{ title: 'Ray Charles', url: 'https://en.wikipedia.org/wiki/Ray_Charles', description: 'American <strong>pianist</strong>' }] } }
      : { type: 'images', results: [{ title: 'Ray', url: 'https://page/ray', source: 'page', thumbnail: { src: 'https://imgs.search.brave.com/t.jpg' }, properties: { url: 'https://cdn/ray.jpg' } }] },
  );
  const provider = new BraveSearch(`${api.url}/res/v1`, CLIENT, { BRAVE_API_KEY: 'secret-token' });
  const pages = await provider.search(QUERY, { kind: 'web', limit: 5 });
  assert.deepEqual(pages, [{ url: 'https://en.wikipedia.org/wiki/Ray_Charles', title: 'Ray Charles', snippet: 'American pianist' }]);
  assert.equal(api.requests[0]!.url.pathname, '/res/v1/web/search');
  assert.equal(api.requests[0]!.headers['x-subscription-token'], 'secret-token');
  assert.equal(api.requests[0]!.url.searchParams.get('count'), '5');
  const images = await provider.search(QUERY, { kind: 'image', limit: 5 });
  assert.deepEqual(images, [{ url: 'https://cdn/ray.jpg', title: 'Ray', sourcePageUrl: 'https://page/ray' }]);
});

test('google-cse: key and cx from the environment, num ≤ 10 with start paging, searchType=image (stand-in for the Custom Search JSON API)', async (t) => {
  assert.throws(() => new GoogleCseSearch('http://127.0.0.1:1/customsearch/v1', CLIENT, { GOOGLE_CSE_KEY: 'k' }), UserError);
  const api = await standIn(t, (url) => {
    const start = Number(url.searchParams.get('start'));
    const num = Number(url.searchParams.get('num'));
    const image = url.searchParams.get('searchType') === 'image';
    return {
      kind: 'customsearch#search',
      items: Array.from({ length: num }, (_, i) => ({
        kind: 'customsearch#result',
        title: `r${start + i}`,
        link: image ? `https://img/${start + i}.jpg` : `https://page/${start + i}`,
        snippet: 's',
        ...(image ? { mime: 'image/jpeg', image: { contextLink: `https://page/${start + i}`, height: 10, width: 10 } } : {}),
      })),
    };
  });
  const provider = new GoogleCseSearch(`${api.url}/customsearch/v1`, CLIENT, { GOOGLE_CSE_KEY: 'key1', GOOGLE_CSE_ID: 'cx1' });
  const pages = await provider.search(QUERY, { kind: 'web', limit: 13 });
  assert.equal(pages.length, 13);
  assert.equal(pages[12]!.url, 'https://page/13');
  assert.deepEqual(api.requests.map((r) => [r.url.searchParams.get('start'), r.url.searchParams.get('num')]), [['1', '10'], ['11', '3']]);
  assert.equal(api.requests[0]!.url.searchParams.get('key'), 'key1');
  assert.equal(api.requests[0]!.url.searchParams.get('cx'), 'cx1');
  const images = await provider.search(QUERY, { kind: 'image', limit: 2 });
  assert.deepEqual(images[1], { url: 'https://img/2.jpg', title: 'r2', snippet: 's', sourcePageUrl: 'https://page/2' });
});

test('a reply in the wrong shape is an error naming the provider, not an empty result', async (t) => {
  const api = await standIn(t, () => ({ results: 'nope' }));
  await assert.rejects(new SearxngSearch(api.url, CLIENT).search(QUERY, { kind: 'web', limit: 3 }), /searxng: unexpected response/);
});

test('seeds: the query\'s own URLs are its web hits; there is no image search behind them', async () => {
  const provider = new SeedSearch();
  const query = { ...QUERY, urls: ['https://a/1', 'https://a/2', 'https://a/1'] };
  assert.deepEqual(await provider.search(query, { kind: 'web', limit: 10 }), [{ url: 'https://a/1' }, { url: 'https://a/2' }]);
  assert.deepEqual(await provider.search(query, { kind: 'image', limit: 10 }), []);
});
