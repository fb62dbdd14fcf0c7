// The crawler's network guards on their own: the address policy, byte sniffing, the capped fetch
// and per-host politeness.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA } from './helpers/cli.js';
import { startStaticServer } from './helpers/static-server.js';
import { HostLimiter } from '../crawlers/net/host-limiter.js';
import { readBody, safeFetch } from '../crawlers/net/safe-http.js';
import { sniffImageType } from '../crawlers/net/sniff.js';
import { isNonPublicAddress, RefusedUrlError, UrlPolicy } from '../crawlers/net/url-policy.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles');

test('private, loopback, link-local and mapped addresses are non-public; public ones are not', () => {
  for (const address of ['10.0.0.1', '127.0.0.1', '169.254.169.254', '192.168.1.1', '172.16.0.1', '::1', 'fe80::1', 'fc00::1', '::ffff:127.0.0.1', '0.0.0.0', '100.64.0.1']) {
    assert.equal(isNonPublicAddress(address), true, address);
  }
  for (const address of ['8.8.8.8', '208.80.154.224', '2620:0:861:ed1a::1']) assert.equal(isNonPublicAddress(address), false, address);
});

test('the policy refuses other schemes and private literals unless allowed or trusted', async () => {
  const strict = new UrlPolicy({ allowPrivate: false, trustedOrigins: ['http://127.0.0.1:9/'] });
  assert.throws(() => strict.check('file:///etc/passwd'), RefusedUrlError);
  assert.throws(() => strict.check('ftp://example.org/'), /not http\(s\)/);
  assert.throws(() => strict.check('http://10.0.0.1/'), /private address 10\.0\.0\.1/);
  assert.throws(() => strict.check('http://[::1]:8080/'), /private address ::1/);
  assert.equal(strict.check('http://127.0.0.1:9/x').hostname, '127.0.0.1');
  await assert.rejects(strict.checkResolved('http://localhost/'), /localhost resolves to private address/);
  assert.equal(new UrlPolicy({ allowPrivate: true }).check('http://10.0.0.1/').hostname, '10.0.0.1');
});

test('image types come from the bytes, not the name or headers', async () => {
  assert.equal(sniffImageType(await readFile(path.join(MIRROR, 'I/m/Ray_Charles_(cropped).jpg'))), 'image/jpeg');
  assert.equal(sniffImageType(await readFile(path.join(MIRROR, 'I/m/Ambox_important.svg.png'))), 'image/png');
  assert.equal(sniffImageType(Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>')), 'image/svg+xml');
  assert.equal(sniffImageType(Buffer.from('<!DOCTYPE html><html></html>')), undefined);
  assert.equal(sniffImageType(await readFile(path.join(MIRROR, 'I/m/Beatles_eleanor_rigby.ogg'))), undefined);
});

test('a body is cut at the byte cap while streaming, and redirect hops are limited', async (t) => {
  const server = await startStaticServer(MIRROR, {
    '/endless': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      const timer = setInterval(() => res.write(Buffer.alloc(16 * 1024, 'x')), 1);
      res.on('close', () => clearInterval(timer));
    },
    '/hop': (req, res) => {
      const n = Number(new URL(req.url!, 'http://x').searchParams.get('n'));
      res.writeHead(302, { location: `/hop?n=${n + 1}` }).end();
    },
  });
  t.after(() => server.close());
  const options = { policy: new UrlPolicy({ allowPrivate: true }), timeoutMs: 5000, maxBytes: 100_000, userAgent: 'test' };
  const response = await safeFetch(`${server.url}/endless`, options);
  await assert.rejects(readBody(response.body), (error: Error & { reason?: string }) => error.reason === 'too-large');
  await assert.rejects(safeFetch(`${server.url}/hop?n=0`, { ...options, maxRedirects: 3 }), (error: Error & { reason?: string }) => error.reason === 'too-many-redirects');
  const image = await safeFetch(`${server.url}/I/m/Ray_Charles_(cropped).jpg`, options);
  assert.equal(image.statusCode, 200);
  assert.equal((await readBody(image.body)).length, (await readFile(path.join(MIRROR, 'I/m/Ray_Charles_(cropped).jpg'))).length);
});

test('the host limiter keeps at most N requests in flight per host, independently per host', async () => {
  const limiter = new HostLimiter(2, 0);
  let inFlight = 0;
  let peak = 0;
  const work = async (host: string): Promise<void> => {
    const release = await limiter.acquire(host);
    if (host === 'a') peak = Math.max(peak, ++inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (host === 'a') inFlight--;
    release();
  };
  await Promise.all([...Array.from({ length: 8 }, () => work('a')), ...Array.from({ length: 4 }, () => work('b'))]);
  assert.equal(peak, 2);
});
