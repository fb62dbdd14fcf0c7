// Stopping and failing honestly: Ctrl-C (SIGINT to the process group, as a terminal sends it) stops a
// crawl with exit 130 and one line, and the same command then finishes it exactly; an unreachable
// site or search provider is exit 1 with the reason, leaving no query done and nothing cached.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA, ROOT, runCli } from './helpers/cli.js';
import { crawledQueries, crawlSnapshot, slowSeedsCrawl } from './helpers/crawl-snapshot.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles');
const LINE = 'interrupted: run the same command to resume';
const ARTICLES = [
  ['Ray Charles and his band', ['Ray_Charles', 'The_Raelettes', 'Hit_the_Road_Jack', 'A_Man_And_His_Soul']],
  ['Songs Ray Charles covered', ['America_the_Beautiful', 'Baby_Grand', 'Betty_Carter', 'Georgia_on_My_Mind']],
] as const;

interface Finished {
  code: number | null;
  stderr: string;
  /** Milliseconds from the signal to the exit. */
  afterSignalMs: number;
}

/** Runs the CLI in its own process group and sends `signals` to the group once `ready()` holds. */
async function interruptWhen(args: string[], ready: () => boolean, signals: NodeJS.Signals[]): Promise<Finished> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/m2rag.js'), ...args], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, M2RAG_LOG_LEVEL: 'fatal' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let gone = false;
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code))).finally(() => (gone = true));
  while (!ready()) {
    if (gone) assert.fail(`the command ended before the signal was due: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const signalledAt = Date.now();
  for (const signal of signals) {
    process.kill(-child.pid!, signal);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const code = await exited;
  return { code, stderr, afterSignalMs: Date.now() - signalledAt };
}

test('SIGINT to the process group mid-crawl: exit 130 with one line, and the same command then equals an uninterrupted crawl', { timeout: 150_000 }, async (t) => {
  const server = await startStaticServer(MIRROR);
  t.after(() => server.close());
  const dir = await tempDir(t);
  // A delay between requests to the one host makes the whole crawl take well over ten seconds.
  const { argsFor } = await slowSeedsCrawl(dir, server.url, ARTICLES, 120);

  const stopped = path.join(dir, 'stopped');
  const images = (): number => server.requests.filter((p) => p.startsWith('/I/m/')).length;
  const first = await interruptWhen(argsFor(stopped), () => images() >= 8, ['SIGINT']);
  assert.equal(first.code, 130, first.stderr);
  assert.equal(first.stderr.split('\n').filter((line) => line === LINE).length, 1, first.stderr);
  // The old behaviour ran the crawl to its end (tens of seconds here); a stop takes the grace period at most.
  assert.ok(first.afterSignalMs < 8_000, `exited ${first.afterSignalMs} ms after the signal`);
  assert.ok((await crawledQueries(stopped)) < ARTICLES.length, 'the interrupt stopped the crawl before its end');

  const resumed = await runCli(argsFor(stopped));
  assert.equal(resumed.code, 0, resumed.stderr);
  const reference = path.join(dir, 'reference');
  const uninterrupted = await runCli(argsFor(reference));
  assert.equal(uninterrupted.code, 0, uninterrupted.stderr);
  const [after, expected] = [await crawlSnapshot(stopped), await crawlSnapshot(reference)];
  assert.ok(expected.pages!.length >= 8, 'the reference crawl stored the articles');
  for (const key of Object.keys(expected)) assert.deepEqual(after[key], expected[key], key);
});

test('a second SIGINT exits at once, and the store still resumes', { timeout: 120_000 }, async (t) => {
  const server = await startStaticServer(MIRROR);
  t.after(() => server.close());
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.jsonl');
  await writeFile(queries, JSON.stringify({ query: ARTICLES[0][0], urls: ARTICLES[0][1].map((n) => `${server.url}/A/${n}.html`) }) + '\n');
  const config = path.join(dir, 'config.yaml');
  await writeFile(config, 'crawl:\n  perDomainDelayMs: 120\n');
  const args = ['--store', path.join(dir, 'store'), '--config', config, 'crawl', '--queries', queries, '--search', 'seeds', '--site', server.url + '/'];
  const twice = await interruptWhen(args, () => server.requests.some((p) => p.startsWith('/I/m/')), ['SIGINT', 'SIGINT']);
  assert.equal(twice.code, 130, twice.stderr);
  assert.ok(twice.stderr.includes(LINE), twice.stderr);
  const resumed = await runCli(args);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(await crawledQueries(path.join(dir, 'store')), 1);
});

test('an unreachable --site is exit 1 with the reason; nothing is marked done or cached, and the same command works once the site is up', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.txt');
  await writeFile(queries, 'Ray Charles\nHit the Road Jack\n');
  const store = path.join(dir, 'store');
  // Port 9 (discard) on loopback: nothing listens, the connection is refused.
  const refused = await runCli(['--store', store, 'crawl', '--queries', queries, '--search', 'local', '--site', 'http://127.0.0.1:9/A/Ray_Charles.html']);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /^m2rag: --site http:\/\/127\.0\.0\.1:9\/A\/Ray_Charles\.html: the site could not be indexed \(.*network.*\)/m);
  assert.equal(await crawledQueries(store), 0);
  assert.deepEqual(await readdir(path.join(store, 'local-search')).catch(() => []), [], 'no index was cached');

  const server = await startStaticServer(MIRROR, { '/A/missing.html': (_req, res) => void res.writeHead(404).end() });
  t.after(() => server.close());
  const missing = await runCli(['--store', store, 'crawl', '--queries', queries, '--search', 'local', '--site', `${server.url}/A/missing.html`]);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /could not be indexed \(.*http-404\)/);
  assert.equal(await crawledQueries(store), 0);

  const up = await runCli(['--store', store, 'crawl', '--queries', queries, '--search', 'local', '--site', `${server.url}/A/Ray_Charles.html`, '--pages', '2', '--aux-images', '0']);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(await crawledQueries(store), 2);
});

test('an unreachable search provider is exit 1 naming it; no query is marked done', { timeout: 60_000 }, async (t) => {
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.txt');
  await writeFile(queries, 'Ray Charles\nHit the Road Jack\nGeorgia on My Mind\n');
  const config = path.join(dir, 'config.yaml');
  await writeFile(config, 'crawl:\n  wikipediaUrl: http://127.0.0.1:9/w/api.php\n  commonsUrl: http://127.0.0.1:9/w/api.php\n');
  const store = path.join(dir, 'store');
  const result = await runCli(['--store', store, '--config', config, 'crawl', '--queries', queries]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /^m2rag: crawl: all 3 queries it tried failed \(first: search provider wikipedia unavailable: .*127\.0\.0\.1:9.*\)/m);
  assert.equal(await crawledQueries(store), 0);
});

test('--site with a provider that would ignore it is one line and exit 2', async (t) => {
  const dir = await tempDir(t);
  const queries = path.join(dir, 'q.txt');
  await writeFile(queries, 'Ray Charles\n');
  const result = await runCli(['--store', path.join(dir, 'store'), 'crawl', '--queries', queries, '--site', 'http://127.0.0.1:9/']);
  assert.equal(result.code, 2);
  assert.equal(result.stderr.trim(), 'm2rag: --site needs --search local (the wikipedia provider would ignore it): add --search local, or drop --site');
});
