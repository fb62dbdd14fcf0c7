// Serving must not stop a build: `m2rag serve` runs on a mirror store while a `crawl` and then a
// `build` run on the same store: the crawl starts when the viewer is idle (the crawl holds the store
// and the viewer goes through it, then opens the store again when the crawl ends), the build while
// the viewer holds it (the build goes through the viewer, which stays open for it, even when asked to
// stop). Plain HTTP GETs hit the viewer all along; `show` and `stats` run meanwhile.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, runCli, type CliResult } from './helpers/cli.js';
import { buildMirrorStore, MIRROR } from './helpers/mirror-store.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { CorpusStore } from '../storage/index.js';

/** Each article answers this late, so the crawl and the build are still writing while the readers run. */
const ARTICLE_DELAY_MS = 2_000;
const PHASES = [['Baby_Grand.html', 'Betty_Carter.html'], ['A_Fool_for_You.html', 'Birth_of_soul.html']];

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', (error) => resolve({ status: 0, body: error.message }));
  });
}

/** GETs the query list and the dataset summary back to back until stopped; returns every status seen, with when it was asked. */
function pollViewer(base: string): { stop: () => Promise<Array<{ at: number; status: number }>> } {
  const statuses: Array<{ at: number; status: number }> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const route of ['/', '/dataset.json']) {
        const at = Date.now();
        statuses.push({ at, status: (await get(base + route)).status });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return { stop: async () => ((running = false), await loop, statuses) };
}

async function queriesIn(store: string): Promise<number> {
  const stats = await runCli(['--store', store, 'stats', '--json']);
  assert.equal(stats.code, 0, stats.stderr);
  return (JSON.parse(stats.stdout) as { queries: number }).queries;
}

test('a crawl and a build started beside `m2rag serve` succeed, the viewer answers throughout, and show and stats work meanwhile', async (t) => {
  const routes: Record<string, http.RequestListener> = {};
  const requested = new Set<string>();
  for (const name of PHASES.flat()) {
    routes[`/A/${name}`] = async (_req, res) => {
      requested.add(name);
      await new Promise((resolve) => setTimeout(resolve, ARTICLE_DELAY_MS));
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(await readFile(path.join(MIRROR, 'A', name)));
    };
  }
  const site = await startStaticServer(MIRROR, routes);
  t.after(() => site.close());
  const dir = await tempDir(t);
  const store = path.join(dir, 'store');
  const opened = await CorpusStore.open(store);
  await buildMirrorStore(opened, [{ query: 'Ray Charles piano', pages: ['Bennie_Crawford.html'] }]);
  await opened.close();
  const config = path.join(dir, 'm2rag.yaml');
  await writeFile(config, `crawl:\n  search: seeds\n  site: ${site.url}/\n  allowPrivate: true\n  auxImages: 0\n  concurrency: 1\n`);

  const serve = spawn(process.execPath, [path.join(ROOT, 'bin/m2rag.js'), '--store', store, 'serve', '--port', '0'], { cwd: ROOT, env: { ...process.env, M2RAG_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => serve.kill('SIGKILL'));
  let serveErr = '';
  serve.stderr.on('data', (d) => (serveErr += d));
  const serveExit = new Promise<number | null>((resolve) => serve.once('exit', resolve));
  const base = await new Promise<string>((resolve) => {
    let out = '';
    serve.stdout.on('data', (d) => {
      out += d;
      const match = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (match) resolve(match[0]);
    });
  });

  const run = async (command: 'crawl' | 'build', phase: number): Promise<CliResult> => {
    const queries = path.join(dir, `queries-${phase}.jsonl`);
    await writeFile(queries, PHASES[phase]!.map((name) => JSON.stringify({ query: `about ${name}`, urls: [`${site.url}/A/${name}`] })).join('\n') + '\n');
    return runCli(['--store', store, '--config', config, command, '--queries', queries], { timeoutMs: 120_000 });
  };
  const holder = async (): Promise<string> => (await readFile(path.join(store, 'db.pid'), 'utf8').catch(() => '')).trim();

  // Phase 1: the viewer has let the store go (idle), so the crawl holds it and the viewer is its guest.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const first = run('crawl', 0);
  while ((await holder()) === '') await new Promise((resolve) => setTimeout(resolve, 50));
  assert.notEqual(await holder(), String(serve.pid), 'the crawl, not the viewer, holds the store');
  let poll = pollViewer(base);
  const shown = await runCli(['--store', store, 'show']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /Ray Charles piano/);
  const firstDone = await first;
  assert.equal(firstDone.code, 0, firstDone.stderr);
  // Past the crawl's end the viewer opens the store itself again.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  let statuses = await poll.stop();
  assert.ok(statuses.length > 4);
  assert.deepEqual(statuses.filter(({ status }) => status !== 200), [], `the viewer answered 200 throughout the first crawl: ${serveErr}`);
  assert.equal(await queriesIn(store), 3);

  // Phase 2: requests keep the viewer holding the store, so a whole build goes through the viewer.
  poll = pollViewer(base);
  while ((await holder()) !== String(serve.pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  const second = run('build', 1);
  // The build has opened the store (through the viewer) once it asks for its first article; its
  // second comes an article delay later, so it is still writing through the viewer below.
  while (!requested.has(PHASES[1]![0]!)) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(await holder(), String(serve.pid), 'the viewer holds the store while the build writes through it');
  // No requests for longer than the viewer's idle close (1.5 s): it stays open for the build.
  statuses = await poll.stop();
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  assert.equal(await holder(), String(serve.pid), 'idle, the viewer still holds the store for the build');
  poll = pollViewer(base);
  assert.equal(await queriesIn(store), 5, 'stats reads the queries the build stored');
  // Asked to stop, the viewer waits for the build writing through it, and answers meanwhile.
  serve.kill('SIGINT');
  const stopAsked = Date.now();
  let buildEnded = false;
  void second.then(() => (buildEnded = true));
  // Past the grace an interrupted command gets (1.5 s), the viewer is still up for the build.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  assert.ok(buildEnded || serve.exitCode === null, 'the viewer did not stop while the build was writing through it');
  // Up to here the build was writing through the viewer (when it ended sooner: up to the Ctrl-C).
  const checked = buildEnded ? stopAsked : Date.now();
  const secondDone = await second;
  assert.equal(secondDone.code, 0, secondDone.stderr);
  // Once the build has let the store go the viewer closes (Fastify answers 503 while closing, then nothing).
  const during = [...statuses, ...(await poll.stop())].filter(({ at }) => at < checked);
  assert.ok(during.length > 4);
  assert.deepEqual(during.filter(({ status }) => status !== 200), [], 'the viewer answered 200 throughout the build');
  // Then it stops as an interrupted command does.
  assert.equal(await serveExit, 130, serveErr);
  assert.match(serveErr, /waiting for 1 other process\(es\) using the store through this viewer/);
  assert.equal(await queriesIn(store), 5);
  const fetched = await runCli(['--store', store, 'show', '--json']);
  assert.equal(fetched.code, 0, fetched.stderr);
  for (const name of PHASES.flat()) assert.match(fetched.stdout, new RegExp(`about ${name.replace('.', '\\.')}`));
});
