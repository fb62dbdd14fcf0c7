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

/** One server per loopback host, all on one port; the mirror under /c<n>/ for every n, each response after `latencyMs`. */
export async function serveHosts(hostCount: number, latencyMs: number): Promise<{ hosts: string[]; requests: () => number; close: () => void }> {
  let requests = 0;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    requests++;
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
  return { hosts, requests: () => requests, close: () => servers.forEach((s) => s.close()) };
}

/** The queries file's lines: page j on host j mod hosts, article j mod articles, copy j div articles (so every page URL is distinct). */
export async function latencyQueryLines(hosts: readonly string[], queries: number, pagesPerQuery: number): Promise<string[]> {
  const articles: string[] = [];
  for (const name of (await readdir(path.join(MIRROR, 'A'))).sort()) {
    const html = await readFile(path.join(MIRROR, 'A', name), 'utf8');
    if (!/http-equiv="refresh"/i.test(html)) articles.push(name);
  }
  const pageUrl = (j: number): string => `${hosts[j % hosts.length]}/c${Math.floor(j / articles.length)}/A/${encodeURIComponent(articles[j % articles.length]!)}`;
  return Array.from({ length: queries }, (_, q) => JSON.stringify({ query: `latency query ${q}`, urls: Array.from({ length: pagesPerQuery }, (_, k) => pageUrl(q * pagesPerQuery + k)) }));
}
