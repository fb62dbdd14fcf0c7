// A real HTTP server on 127.0.0.1 that serves files from a directory (for example a corpus in
// ../shared/corpora), plus extra routes a test defines to misbehave on purpose.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.webp': 'image/webp',
};

export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface StaticServer {
  url: string;
  port: number;
  /** Paths requested so far, in order. */
  requests: string[];
  /** Paths answered 304 Not Modified (a conditional request whose validator still matched), in order. */
  notModified: string[];
  close(): Promise<void>;
}

export async function startStaticServer(root: string, routes: Record<string, Route> = {}): Promise<StaticServer> {
  const requests: string[] = [];
  const notModified: string[] = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url.pathname);
    const route = routes[url.pathname];
    if (route) {
      await route(req, res);
      return;
    }
    const file = path.join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(path.resolve(root))) {
      res.writeHead(403).end();
      return;
    }
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a file');
      // Validators as common servers make them (size and mtime); If-None-Match outranks If-Modified-Since (RFC 9110).
      const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
      const lastModified = info.mtime.toUTCString();
      const ifNoneMatch = req.headers['if-none-match'];
      const since = req.headers['if-modified-since'];
      const unchanged = ifNoneMatch !== undefined ? ifNoneMatch === etag : since !== undefined && Math.floor(info.mtimeMs / 1000) <= Math.floor(Date.parse(since) / 1000);
      if (unchanged) {
        notModified.push(url.pathname);
        res.writeHead(304, { etag, 'last-modified': lastModified }).end();
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream', 'content-length': info.size, etag, 'last-modified': lastModified });
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    notModified,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
