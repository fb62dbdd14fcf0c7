// Hostile pages through crawl and process: a page of 100k `<img>` sharing one URL and 2 MB of random
// bytes served as text/html, each crawled and processed in a store of its own by the real CLI as a
// child process. Reports wall time and peak RSS (VmHWM) of each command, and the page's Fetch outcome.
//   node --import tsx bench/hostile-pages.ts [--images 100000] [--binary-mb 2] [--max-occurrences N]
// `--max-occurrences N` raises `crawl.limits.maxOccurrences` (default 1000), to show process-images
// staying linear in the occurrences it is given.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureChild } from './measure-child.js';
import { CorpusStore, pageFetchIdOf } from '../storage/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IMAGE = '/I/m/Ray_Charles_(cropped).jpg';
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const images = arg('images', 100_000);
const binaryMb = arg('binary-mb', 2);
const maxOccurrences = arg('max-occurrences', 0);

const page = (body: string): string => `<!DOCTYPE html><html><head><title>hostile</title></head><body>${body}</body></html>`;
const routes: Record<string, { type: string; body: string | Buffer }> = {
  '/many-images.html': { type: 'text/html', body: page('<p>' + 'A gallery of the same picture. '.repeat(40) + '</p>' + `<img src="${IMAGE}" alt="Ray">`.repeat(images)) },
  '/binary.html': { type: 'text/html', body: randomBytes(binaryMb * 1024 * 1024) },
  [IMAGE]: { type: 'image/jpeg', body: await readFile(path.resolve(ROOT, '../shared/corpora/wiki-ray-charles', IMAGE.slice(1))) },
};
const server = http.createServer((req, res) => {
  const route = routes[req.url ?? ''];
  if (route) res.writeHead(200, { 'content-type': route.type }).end(route.body);
  else res.writeHead(404).end();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const site = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const dir = await mkdtemp(path.join(os.tmpdir(), 'm2rag-hostile-'));
const bin = path.join(ROOT, 'bin/m2rag.js');
const config = path.join(dir, 'config.yaml');
await writeFile(config, maxOccurrences > 0 ? `crawl:\n  limits:\n    maxOccurrences: ${maxOccurrences}\n` : '{}\n');
console.log(`| page | command | wall time | peak RSS | Fetch |`);
console.log(`|---|---|---|---|---|`);
try {
  for (const route of ['/many-images.html', '/binary.html']) {
    const store = path.join(dir, route.slice(1, -5));
    const queries = path.join(dir, `${route.slice(1, -5)}.jsonl`);
    await writeFile(queries, JSON.stringify({ query: 'hostile page', urls: [site + route] }) + '\n');
    const crawl = await measureChild([bin, '--store', store, '--config', config, 'crawl', '--queries', queries, '--search', 'seeds', '--site', site + '/'], { cwd: ROOT });
    const processed = await measureChild([bin, '--store', store, '--config', config, 'process'], { cwd: ROOT });
    const db = await CorpusStore.open(store);
    const fetch = await db.get('fetches', pageFetchIdOf(site + route));
    await db.close();
    const outcome = `${fetch?.outcome}: ${fetch?.reason ?? ''}`.slice(0, 90);
    for (const [name, run] of [['crawl', crawl], ['process', processed]] as const) {
      if (run.code !== 0) console.error(`${name} exited ${run.code}: ${run.stderr.slice(-500)}`);
      console.log(`| ${route} | ${name} | ${run.seconds.toFixed(1)} s | ${run.peakRssMb} MB | ${outcome} |`);
    }
  }
} finally {
  server.close();
  await rm(dir, { recursive: true, force: true });
}
