// Per-host politeness across queue workers, through a real redis-server: `crawl --queue` jobs for two `m2rag worker`
// processes (two jobs at once each) crawling one slow loopback host with perDomainConcurrency 1
// never have two requests in flight to it; and a slot held by a process that is SIGKILLed is given
// back once its lease runs out.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { Queue } from 'bullmq';
import { ROOT, runCli } from './helpers/cli.js';
import { startRedis } from './helpers/redis.js';
import { tempDir } from './helpers/temp.js';
import { connectionOf, QUEUE_PREFIX, queueNameOf } from '../src/queue/connection.js';
import { RedisHostLeases } from '../src/queue/host-lease.js';

const PAGE_DELAY_MS = 150;
const QUERIES = 8;

/** One host that answers every request late and remembers the most requests it had in flight at once. */
async function slowHost(): Promise<{ url: string; maxInFlight: () => number; requests: () => number; close: () => Promise<void> }> {
  let inFlight = 0;
  let max = 0;
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    max = Math.max(max, ++inFlight);
    res.once('close', () => inFlight--);
    setTimeout(() => {
      if (!req.url?.startsWith('/page/')) return void res.writeHead(404).end();
      const paragraphs = Array.from({ length: 6 }, (_, i) => `<p>Paragraph ${i} of ${req.url}: a page about pianos, their hammers, strings and the people who tune them.</p>`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><head><title>${req.url}</title></head><body><h1>${req.url}</h1>${paragraphs.join('')}</body></html>`);
    }, PAGE_DELAY_MS);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, maxInFlight: () => max, requests: () => requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function startWorker(store: string, queue: string): ChildProcess {
  return spawn(process.execPath, [path.join(ROOT, 'bin/m2rag.js'), '--store', store, 'worker', '--queue', queue, '--jobs', '2'], {
    cwd: ROOT,
    env: { ...process.env, M2RAG_LOG_LEVEL: 'fatal' },
    stdio: 'ignore',
  });
}

test('two workers crawling one host with perDomainConcurrency 1 never have two requests in flight to it', async (t) => {
  const host = await slowHost();
  t.after(() => host.close());
  const redis = await startRedis(t);
  const dir = await tempDir(t);
  const queries = path.join(dir, 'queries.jsonl');
  const lines = Array.from({ length: QUERIES }, (_, i) => JSON.stringify({ query: `piano query ${i}`, urls: [`${host.url}/page/${i}-a.html`, `${host.url}/page/${i}-b.html`] }));
  await writeFile(queries, lines.join('\n') + '\n');
  const config = path.join(dir, 'm2rag.yaml');
  await writeFile(config, `crawl:\n  search: seeds\n  site: ${host.url}/\n  allowPrivate: true\n  auxImages: 0\n  perDomainConcurrency: 1\n`);

  const workers = [0, 1].map((i) => startWorker(path.join(dir, `shard-${i}`), redis.url));
  t.after(() => workers.forEach((worker) => worker.kill('SIGKILL')));
  const build = await runCli(['--config', config, 'crawl', '--queries', queries, '--queue', redis.url], { timeoutMs: 120_000 });
  assert.equal(build.code, 0, build.stderr);

  const crawlQueue = new Queue(queueNameOf('crawl'), { connection: connectionOf(redis.url), prefix: QUEUE_PREFIX });
  t.after(() => crawlQueue.close());
  const finishers = new Set((await crawlQueue.getJobs(['completed'])).map((job) => job.processedBy));
  assert.equal(finishers.size, 2, 'both workers took jobs');
  assert.ok(host.requests() >= 2 * QUERIES, `every page was asked for (${host.requests()} requests)`);
  assert.equal(host.maxInFlight(), 1);
});

test('a host slot held by a SIGKILLed process is free again once its lease expires, and not before', async (t) => {
  const redis = await startRedis(t);
  const ttlMs = 1_000;
  const holder = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { RedisHostLeases } from './src/queue/host-lease.ts';
       const gate = new RedisHostLeases(${JSON.stringify(redis.url)}, ${ttlMs}).gateFor(1, 0);
       await gate.acquire('slow.example');
       process.stdout.write('held\\n');
       setInterval(() => undefined, 1_000);`,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve) => holder.stdout!.on('data', (data: Buffer) => data.toString().includes('held') && resolve()));

  const leases = new RedisHostLeases(redis.url, ttlMs);
  t.after(() => leases.close());
  let acquired = false;
  const waiting = leases.gateFor(1, 0).acquire('slow.example').then((release) => ((acquired = true), release));
  // Past two TTLs the holder, alive, has renewed its lease: the slot is still taken.
  await new Promise((resolve) => setTimeout(resolve, 2.5 * ttlMs));
  assert.equal(acquired, false, 'a live holder keeps its slot past the TTL');

  holder.kill('SIGKILL');
  const release = await waiting;
  assert.equal(acquired, true);
  release();
});
