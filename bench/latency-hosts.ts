// The latency-bound crawl workload shared by bench/crawl-latency.ts and bench/scale.ts: the mirror
// served by one HTTP server per loopback host (127.0.0.2 onward, all on one port), every response
// delayed, and queries whose seed pages spread over those hosts.
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MIRROR = path.resolve(ROOT, '../shared/corpora/wiki-ray-charles');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.htm': 'text/html; charset=utf-8', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.gif': 'image/gif', '.svg': 'image/svg+xml' };

/** Requests the servers held at once, sampled every 100 ms from the first request to the last one's end. */
export interface InFlight {
  mean: number;
  peak: number;
}

/** One server per loopback host, all on one port; the mirror under /c<n>/ for every n, each response after `latencyMs`. */
export async function serveHosts(hostCount: number, latencyMs: number): Promise<{ hosts: string[]; requests: () => number; inFlight: () => InFlight; close: () => void }> {
  let requests = 0;
  let active = 0;
  const samples: number[] = [];
  const sampler = setInterval(() => (requests > 0 ? samples.push(active) : undefined), 100);
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    requests++;
    active++;
    res.on('close', () => active--);
    setTimeout(async () => {
      const pathname = decodeURIComponent(new URL(req.url!, 'http://x').pathname).replace(/^\/c\d+\//, '/');
      const file = path.join(MIRROR, pathname);
      try {
        if (!file.startsWith(MIRROR) || !(await stat(file)).isFile()) throw new Error('missing');
        res.writeHead(200, { 'content-type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream' });
        createReadStream(file).pipe(res);
      } catch {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    }, latencyMs);
  };
  const servers: http.Server[] = [];
  let port = 0;
  const hosts: string[] = [];
  for (let h = 0; h < hostCount; h++) {
    const address = `127.0.0.${h + 2}`;
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(port, address, resolve));
    port = (server.address() as AddressInfo).port;
    servers.push(server);
    hosts.push(`http://${address}:${port}`);
  }
  const inFlight = (): InFlight => {
    let last = samples.length;
    while (last > 0 && samples[last - 1] === 0) last--;
    const busy = samples.slice(0, last);
    if (process.env.M2RAG_BENCH_TIMELINE) process.stderr.write(`in flight every 100 ms: ${busy.join(' ')}\n`);
    return { mean: Number((busy.reduce((a, b) => a + b, 0) / Math.max(1, busy.length)).toFixed(1)), peak: Math.max(0, ...busy) };
  };
  return {
    hosts,
    requests: () => requests,
    inFlight,
    close: () => {
      clearInterval(sampler);
      servers.forEach((s) => s.close());
    },
  };
}

/**
 * The queries file's lines: page j is article j mod articles under the prefix /c<j div articles>/
 * (so every page URL is distinct). The bound assumes the hosts share the requests evenly, so pages
 * are placed largest first, each on the host that then has the fewest requests (the page and the
 * image URLs it adds to that host). Round-robin placement left the busiest host 1.4× the mean (its
 * floor above 1.5× the bound), because the articles' image counts differ tenfold.
 */
export async function latencyQueryLines(hosts: readonly string[], queries: number, pagesPerQuery: number): Promise<string[]> {
  const articles: Array<{ name: string; images: string[] }> = [];
  for (const name of (await readdir(path.join(MIRROR, 'A'))).sort()) {
    const html = await readFile(path.join(MIRROR, 'A', name), 'utf8');
    if (!/http-equiv="refresh"/i.test(html)) articles.push({ name, images: [...new Set([...html.matchAll(/<img[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]!))] });
  }
  const pages = Array.from({ length: queries * pagesPerQuery }, (_, j) => ({ article: articles[j % articles.length]!, copy: Math.floor(j / articles.length), host: 0 }));
  const load = hosts.map(() => 0);
  const imagesOn = hosts.map(() => new Set<string>());
  for (const page of [...pages].sort((a, b) => b.article.images.length - a.article.images.length)) {
    const added = (h: number): string[] => page.article.images.map((src) => `${page.copy}/${src}`).filter((key) => !imagesOn[h]!.has(key));
    const after = hosts.map((_, h) => load[h]! + 1 + added(h).length);
    page.host = after.indexOf(Math.min(...after));
    for (const key of added(page.host)) imagesOn[page.host]!.add(key);
    load[page.host] = after[page.host]!;
  }
  const pageUrl = ({ article, copy, host }: (typeof pages)[number]): string => `${hosts[host]}/c${copy}/A/${encodeURIComponent(article.name)}`;
  return Array.from({ length: queries }, (_, q) => JSON.stringify({ query: `latency query ${q}`, urls: pages.slice(q * pagesPerQuery, (q + 1) * pagesPerQuery).map(pageUrl) }));
}
