// Refresh of an unchanged 1,000-page store against a fresh crawl of the same pages, in one run: a
// generated site (1,000 article pages, one photo each) on a local server that answers conditional
// requests; the store is crawled (timed), processed, described and scored (embedded, no models),
// then refreshed (timed). Prints time, bytes the server sent and model calls of each.
// Run: node --import tsx bench/refresh.ts
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../tests/helpers/cli.js';
import { startStaticServer } from '../tests/helpers/static-server.js';

const PAGES = 1000;
const dir = await mkdtemp(path.join(os.tmpdir(), 'm2rag-bench-refresh-'));
const site = path.join(dir, 'site');
await mkdir(site, { recursive: true });
for (let i = 0; i < PAGES; i++) {
  const paragraphs = Array.from({ length: 8 }, (_, p) => `<p>Article ${i}, paragraph ${p}: generated text about topic ${i % 50} for the refresh benchmark, long enough to be main content.</p>`).join('\n');
  await writeFile(path.join(site, `page-${i}.html`), `<html><head><title>Article ${i}</title></head><body><article><h1>Article ${i}</h1>${paragraphs}</article></body></html>`);
}
const server = await startStaticServer(site);
const queries = path.join(dir, 'q.jsonl');
await writeFile(queries, Array.from({ length: PAGES / 10 }, (_, q) => JSON.stringify({ query: `topic ${q}`, urls: Array.from({ length: 10 }, (_, k) => `${server.url}/page-${q * 10 + k}.html`) })).join('\n') + '\n');
const store = path.join(dir, 'store');
const flags = ['--search', 'seeds', '--site', server.url + '/', '--allow-private', '--aux-images', '0'];
const timed = async (args: string[]) => {
  const requests = server.requests.length;
  const started = performance.now();
  const done = await runCli(args, { timeoutMs: 1_200_000 });
  if (done.code !== 0) throw new Error(done.stderr);
  return { seconds: (performance.now() - started) / 1000, requests: server.requests.length - requests, stdout: done.stdout };
};
const crawl = await timed(['--store', store, 'crawl', '--queries', queries, ...flags]);
await timed(['--store', store, 'process']);
await timed(['--store', store, 'describe']);
await timed(['--store', store, 'score']);
const notModifiedBefore = server.notModified.length;
const refresh = await timed(['--store', store, 'refresh', '--json', ...flags]);
const summary = JSON.parse(refresh.stdout.trim().split('\n').pop()!);
console.log(`fresh crawl of ${PAGES} pages: ${crawl.seconds.toFixed(1)} s, ${crawl.requests} requests (all 200 with bodies)`);
console.log(`refresh of the unchanged store: ${refresh.seconds.toFixed(1)} s, ${refresh.requests} requests, ${server.notModified.length - notModifiedBefore} answered 304 (no body), model calls ${summary.modelCalls}, pages ${JSON.stringify(summary.pages)}`);
console.log(`speed-up: ${(crawl.seconds / refresh.seconds).toFixed(1)}×`);
await server.close();
await rm(dir, { recursive: true, force: true });
