// Every way a fetch can go wrong ends in a recorded outcome, and nothing crashes: the real CLI
// crawls seed URLs on a local server that serves the Wikipedia mirror plus misbehaving routes.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import * as cheerio from 'cheerio';
import { CORPORA, runCli } from './helpers/cli.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { imageFetchIdOf, pageFetchIdOf } from '../storage/index.js';
import { CorpusStore, type Fetch } from '../storage/index.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles');

/** A meta-refresh redirect, as the mirror's stub pages make them. */
function refreshTo(target: string) {
  return (_req: http.IncomingMessage, res: http.ServerResponse): void =>
    void res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><head><meta http-equiv="refresh" content="0;url=${target}"></head><body></body></html>`);
}

function html(res: http.ServerResponse, body: string, status = 200): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(`<!DOCTYPE html><html><head><title>t</title></head><body>${body}</body></html>`);
}

test('404, 500-then-200, timeout, huge body, non-HTML, private redirects, loops, robots.txt, another port of the site host and a reset connection each end in their recorded outcome', async (t) => {
  let flakyCalls = 0;
  const server = await startStaticServer(MIRROR, {
    '/robots.txt': (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nDisallow: /private/\n'),
    '/private/secret.html': (_req, res) => html(res, '<p>must not be fetched</p>'),
    '/flaky.html': (_req, res) => {
      flakyCalls++;
      if (flakyCalls === 1) res.writeHead(500, { 'content-type': 'text/plain' }).end('try again');
      else html(res, '<h1>Flaky</h1><p>Worked on the second try.</p><img src="/I/m/Ray_Charles_(cropped).jpg" alt="Ray">');
    },
    '/slow.html': (_req, res) => {
      const timer = setTimeout(() => html(res, '<p>too late</p>'), 4000);
      res.on('close', () => clearTimeout(timer));
    },
    '/huge.html': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.write('<html><body><p>');
      pump();
    },
    '/to-metadata.html': (_req, res) => void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
    '/to-ten.html': (_req, res) => void res.writeHead(301, { location: 'http://10.0.0.1/admin' }).end(),
    '/to-localhost.html': (_req, res) => void res.writeHead(302, { location: `http://localhost:${server.port}/A/Ray_Charles.html` }).end(),
    '/loop-a.html': (_req, res) => void res.writeHead(302, { location: '/loop-b.html' }).end(),
    '/loop-b.html': (_req, res) => void res.writeHead(302, { location: '/loop-a.html' }).end(),
    '/refresh-loop-a.html': refreshTo('/refresh-loop-b.html'),
    '/refresh-loop-b.html': refreshTo('/refresh-loop-a.html'),
    '/moved.html': (_req, res) => void res.writeHead(301, { location: '/A/Ray_Charles.html' }).end(),
    '/reset.html': (req) => void req.socket.destroy(),
  });
  t.after(() => server.close());
  // A port nothing listens on any more: another port of the --site host, refused before any connection.
  const gone = await startStaticServer(MIRROR);
  await gone.close();

  const dir = await tempDir(t);
  const u = (p: string): string => server.url + p;
  const seeds = {
    notFound: u('/A/No_Such_Article.html'),
    flaky: u('/flaky.html'),
    slow: u('/slow.html'),
    huge: u('/huge.html'),
    nonHtml: u('/I/m/Ray_Charles_(cropped).jpg'),
    metadata: u('/to-metadata.html'),
    ten: u('/to-ten.html'),
    localhost: u('/to-localhost.html'),
    loop: u('/loop-a.html'),
    refreshLoop: u('/refresh-loop-a.html'),
    robots: u('/private/secret.html'),
    moved: u('/moved.html'),
    stub: u('/A/A_Man_And_His_Soul.html'),
    otherPort: `${gone.url}/A/Ray_Charles.html`,
    reset: u('/reset.html'),
  };
  const queries = path.join(dir, 'q.jsonl');
  await writeFile(queries, JSON.stringify({ query: 'misbehaving pages', urls: Object.values(seeds) }) + '\n');
  const config = path.join(dir, 'config.yaml');
  await writeFile(config, 'crawl:\n  requestTimeoutSecs: 1.5\n  maxPageBytes: 1000000\n  maxRetries: 1\n');
  const store = path.join(dir, 'store');
  // --site names the test server's host, whose private address is allowed; nothing else private is.
  const result = await runCli(['--store', store, '--config', config, 'crawl', '--queries', queries, '--search', 'seeds', '--site', server.url + '/', '--pages', '20']);
  // The timeout and the reset connection are transient: recorded, and the query is left open for the next run.
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /failed:page-network=1 failed:page-timeout=1 /);

  const db = await CorpusStore.open(store);
  t.after(() => db.close());
  const fetchOf = async (url: string): Promise<Fetch> => {
    const record = await db.get('fetches', pageFetchIdOf(url));
    assert.ok(record, `a Fetch record for ${url}`);
    return record;
  };
  const notFound = await fetchOf(seeds.notFound);
  assert.deepEqual([notFound.outcome, notFound.httpStatus, notFound.reason], ['failed', 404, 'http-404']);

  const flaky = await fetchOf(seeds.flaky);
  assert.equal(flaky.outcome, 'ok');
  assert.equal(flaky.attempts, 2);
  assert.equal(flakyCalls, 2);
  const flakyPage = await db.get('pages', flaky.pageId!);
  assert.equal(flakyPage?.title, 't');
  assert.equal((await db.related('page-occurrences', flaky.pageId!)).length, 1);

  const slow = await fetchOf(seeds.slow);
  assert.deepEqual([slow.outcome, slow.reason], ['failed', 'timeout']);

  const huge = await fetchOf(seeds.huge);
  assert.deepEqual([huge.outcome, huge.reason], ['failed', 'too-large']);
  assert.equal(huge.attempts, 1, 'a body over the cap is not retried');

  const nonHtml = await fetchOf(seeds.nonHtml);
  assert.equal(nonHtml.outcome, 'skipped');
  assert.match(nonHtml.reason!, /^not-html: image\/jpeg/);

  for (const [key, address] of [['metadata', '169.254.169.254'], ['ten', '10.0.0.1']] as const) {
    const refused = await fetchOf(seeds[key]);
    assert.equal(refused.outcome, 'failed');
    assert.equal(refused.reason, `refused: private address ${address}`);
  }
  const localhost = await fetchOf(seeds.localhost);
  assert.equal(localhost.outcome, 'failed');
  assert.match(localhost.reason!, /^refused: localhost resolves to private address /);

  const loop = await fetchOf(seeds.loop);
  assert.deepEqual([loop.outcome, loop.reason], ['failed', 'redirect-loop']);
  const refreshLoop = await fetchOf(seeds.refreshLoop);
  assert.equal(refreshLoop.outcome, 'failed');
  assert.match(refreshLoop.reason!, /redirect-loop$/);

  const robots = await fetchOf(seeds.robots);
  assert.deepEqual([robots.outcome, robots.reason], ['skipped', 'robots-disallowed']);
  assert.ok(!server.requests.includes('/private/secret.html'), 'a disallowed page is never requested');

  // An HTTP redirect and a meta-refresh stub both resolve to the article they point to.
  const moved = await fetchOf(seeds.moved);
  assert.equal(moved.outcome, 'ok');
  assert.equal(moved.finalUrl, u('/A/Ray_Charles.html'));
  const stub = await fetchOf(seeds.stub);
  assert.equal(stub.outcome, 'ok');
  const stubPage = await db.get('pages', stub.pageId!);
  assert.equal(stubPage?.finalUrl, u('/A/A_Man_and_His_Soul.html'));

  const otherPort = await fetchOf(seeds.otherPort);
  assert.deepEqual([otherPort.outcome, otherPort.reason], ['failed', 'refused: private address 127.0.0.1']);
  const reset = await fetchOf(seeds.reset);
  assert.deepEqual([reset.outcome, reset.reason, reset.attempts], ['failed', 'network: ECONNRESET', 2]);

  // Every seed has its outcome; the counts say what was dropped and why.
  const stats = (await db.stageStats()).find((s) => s.stage === 'crawl')!;
  assert.equal(stats.counts['dropped:page-http-404'], 1);
  assert.equal(stats.counts['dropped:page-robots-disallowed'], 1);
  assert.equal(stats.counts['dropped:page-refused'], 4);
  assert.equal(stats.counts['pages-stored'], 3);
  for await (const query of db.iterate('queries')) assert.equal(await db.isStageDone('crawl', query.id), false, 'a query with transient failures stays open');
});

test('a transient failure is fetched again by the next run; after crawl.maxAttempts across runs it is final', { timeout: 60_000 }, async (t) => {
  let flakyCalls = 0;
  const server = await startStaticServer(MIRROR, {
    // Fails every attempt of the first run (maxRetries 1: two attempts), then works.
    '/flaky.html': (_req, res) => {
      if (++flakyCalls <= 2) res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
      else html(res, '<h1>Back</h1><img src="/I/m/Ray_Charles_(cropped).jpg" alt="Ray">');
    },
    '/down.html': (_req, res) => void res.writeHead(502, { 'content-type': 'text/plain' }).end('down'),
  });
  t.after(() => server.close());
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.jsonl');
  await writeFile(queries, [JSON.stringify({ query: 'flaky', urls: [server.url + '/flaky.html'] }), JSON.stringify({ query: 'down', urls: [server.url + '/down.html'] })].join('\n') + '\n');
  const config = path.join(dir, 'config.yaml');
  await writeFile(config, 'crawl:\n  maxRetries: 1\n  maxAttempts: 4\n');
  const store = path.join(dir, 'store');
  const args = ['--store', store, '--config', config, 'crawl', '--queries', queries, '--search', 'seeds', '--site', server.url + '/'];
  const doneAndFetch = async (url: string): Promise<[boolean[], Fetch | undefined]> => {
    const db = await CorpusStore.open(store);
    try {
      const done: boolean[] = [];
      for await (const q of db.iterate('queries')) done.push(await db.isStageDone('crawl', q.id));
      return [done, await db.get('fetches', pageFetchIdOf(url))];
    } finally {
      await db.close();
    }
  };

  const first = await runCli(args);
  assert.equal(first.code, 1, first.stderr);
  const [doneFirst, flakyFirst] = await doneAndFetch(server.url + '/flaky.html');
  assert.deepEqual(doneFirst, [false, false]);
  assert.deepEqual([flakyFirst?.outcome, flakyFirst?.reason, flakyFirst?.attempts], ['failed', 'http-503', 2]);

  const second = await runCli(args);
  assert.equal(second.code, 0, second.stderr);
  const [, flakySecond] = await doneAndFetch(server.url + '/flaky.html');
  assert.equal(flakySecond?.outcome, 'ok', 'the next run fetched the page that failed transiently');
  const [doneSecond, down] = await doneAndFetch(server.url + '/down.html');
  assert.deepEqual([down?.outcome, down?.reason, down?.attempts], ['failed', 'http-502 (final after 4 attempts)', 4]);
  assert.deepEqual(doneSecond.sort(), [true, true], 'a failure that is final no longer holds its query open');
});

test('429 is retried inside the run, for a page and its images alike: a 429 then a success is stored in one run, a 503 each time keeps the query open, a 404 is final', { timeout: 60_000 }, async (t) => {
  const jpeg = await readFile(path.join(MIRROR, 'I/m/Ray_Charles_(cropped).jpg'));
  const calls = { page: 0, limited: 0, busy: 0 };
  const server = await startStaticServer(MIRROR, {
    '/page.html': (_req, res) => {
      if (++calls.page === 1) res.writeHead(429, { 'content-type': 'text/html', 'retry-after': '0' }).end('<p>slow down</p>');
      else html(res, '<h1>Images</h1><p>Three of them.</p><img src="/limited.jpg" alt="a"><img src="/busy.jpg" alt="b"><img src="/gone.jpg" alt="c">');
    },
    '/limited.jpg': (_req, res) => {
      if (++calls.limited === 1) res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '0' }).end('slow down');
      else res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg);
    },
    '/busy.jpg': (_req, res) => {
      calls.busy++;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
    },
    '/gone.jpg': (_req, res) => void res.writeHead(404, { 'content-type': 'text/plain' }).end('no'),
  });
  t.after(() => server.close());
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.jsonl');
  await writeFile(queries, JSON.stringify({ query: 'images', urls: [server.url + '/page.html'] }) + '\n');
  const config = path.join(dir, 'config.yaml');
  await writeFile(config, 'crawl:\n  maxRetries: 1\n  maxAttempts: 4\n');
  const store = path.join(dir, 'store');
  const run = await runCli(['--store', store, '--config', config, 'crawl', '--queries', queries, '--search', 'seeds', '--site', server.url + '/']);
  assert.equal(run.code, 1, run.stderr);
  assert.deepEqual(calls, { page: 2, limited: 2, busy: 2 }, 'each transient failure was asked again in the same run (maxRetries 1)');
  const db = await CorpusStore.open(store);
  try {
    const fetchOf = (name: string) => db.get('fetches', imageFetchIdOf(server.url + name));
    const page = await db.get('fetches', pageFetchIdOf(server.url + '/page.html'));
    assert.deepEqual([page?.outcome, page?.attempts], ['ok', 2], 'the page that answered 429 first is stored in the same run');
    const [limited, busy, gone] = await Promise.all([fetchOf('/limited.jpg'), fetchOf('/busy.jpg'), fetchOf('/gone.jpg')]);
    assert.deepEqual([limited?.outcome, limited?.attempts, limited?.sha256 !== undefined], ['ok', 2, true]);
    assert.ok(limited?.sha256 && (await db.has('images', limited.sha256)), 'the image that answered 429 first is stored');
    assert.deepEqual([busy?.outcome, busy?.reason, busy?.httpStatus, busy?.attempts], ['failed', 'http-503', 503, 2]);
    assert.deepEqual([gone?.outcome, gone?.reason, gone?.httpStatus], ['failed', 'http-404', 404]);
    for await (const query of db.iterate('queries')) assert.equal(await db.isStageDone('crawl', query.id), false, 'the 503 image keeps its query open for the next run');
  } finally {
    await db.close();
  }
});

test('a crawled page is decoded as the offline extractor decodes a file: the header charset, else its <meta>, UTF-8 when it is valid UTF-8', { timeout: 60_000 }, async (t) => {
  const page = (meta: string, body: string): string => `<!DOCTYPE html><html><head>${meta}<title>t</title></head><body><h1>${body}</h1><p>${body} ${body}</p></body></html>`;
  /** Single-byte encoding of `text` with the given code points for its non-ASCII characters. */
  const singleByte = (text: string, codes: Record<string, number>): Buffer => Buffer.from([...text].map((char) => codes[char] ?? char.charCodeAt(0)));
  const russian = 'Привет';
  const cp1251 = { П: 0xcf, р: 0xf0, и: 0xe8, в: 0xe2, е: 0xe5, т: 0xf2 };
  const french = 'Café – naïve';
  const cp1252 = { é: 0xe9, '–': 0x96, ï: 0xef };
  const server = await startStaticServer(MIRROR, {
    // The charset only in the page: the header says text/html and nothing more.
    '/meta-1251.html': (_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end(singleByte(page('<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">', russian), cp1251)),
    '/header-1252.html': (_req, res) => void res.writeHead(200, { 'content-type': 'text/html; charset=windows-1252' }).end(singleByte(page('', french), cp1252)),
    // Declared legacy, really UTF-8.
    '/claims-latin1.html': (_req, res) => void res.writeHead(200, { 'content-type': 'text/html; charset=iso-8859-1' }).end(Buffer.from(page('', russian))),
  });
  t.after(() => server.close());
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.jsonl');
  const names = ['/meta-1251.html', '/header-1252.html', '/claims-latin1.html'];
  await writeFile(queries, JSON.stringify({ query: 'charsets', urls: names.map((name) => server.url + name) }) + '\n');
  const store = path.join(dir, 'store');
  const run = await runCli(['--store', store, 'crawl', '--queries', queries, '--search', 'seeds', '--site', server.url + '/']);
  assert.equal(run.code, 0, run.stderr);
  const db = await CorpusStore.open(store);
  try {
    const texts: string[] = [];
    for (const name of names) {
      const fetch = await db.get('fetches', pageFetchIdOf(server.url + name));
      assert.equal(fetch?.outcome, 'ok', name);
      texts.push(cheerio.load((await db.getHtml(fetch!.pageId!)) ?? '')('h1').text());
    }
    assert.deepEqual(texts, [russian, french, russian]);
  } finally {
    await db.close();
  }
});
