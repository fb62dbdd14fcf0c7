// Reading a store while a build writes it: the builder serves its store on <store>/db.sock, and
// `stats` and `export` run by another process go through it (storage/shared-store.ts). A process
// that holds the store without sharing it is named in one line.
import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { Level } from 'level';
import { runCli } from './helpers/cli.js';
import { buildMirrorStore, MIRROR } from './helpers/mirror-store.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { CorpusStore } from '../storage/index.js';

const exists = (file: string): Promise<boolean> => access(file).then(() => true, () => false);

test('stats and export succeed on a store while a build is writing it', async (t) => {
  const articles = ['Baby_Grand.html', 'A_Fool_for_You.html', 'Betty_Carter.html'];
  const routes: Record<string, http.RequestListener> = {};
  // Slow articles keep the build writing while the readers run.
  for (const name of articles) {
    routes[`/A/${name}`] = async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(await readFile(path.join(MIRROR, 'A', name)));
    };
  }
  const server = await startStaticServer(MIRROR, routes);
  t.after(() => server.close());
  const dir = await tempDir(t);
  const store = path.join(dir, 'store');
  const queries = path.join(dir, 'queries.jsonl');
  await writeFile(queries, articles.map((name) => JSON.stringify({ query: `about ${name}`, urls: [`${server.url}/A/${name}`] })).join('\n') + '\n');
  const config = path.join(dir, 'm2rag.yaml');
  await writeFile(config, `crawl:\n  search: seeds\n  site: ${server.url}/\n  allowPrivate: true\n  auxImages: 0\n  concurrency: 1\n`);
  const build = runCli(['--store', store, '--config', config, 'build', '--queries', queries], { timeoutMs: 300_000 });
  let buildDone = false;
  void build.then(() => (buildDone = true));
  while (!(await exists(path.join(store, 'db.sock')))) await new Promise((resolve) => setTimeout(resolve, 50));

  const stats = await runCli(['--store', store, 'stats', '--json']);
  const exported = await runCli(['--store', store, 'export', '--format', 'm2rag', '--out', path.join(dir, 'export')]);
  assert.equal(buildDone, false, 'the build was still writing while the readers ran');
  assert.equal(stats.code, 0, stats.stderr);
  assert.equal((JSON.parse(stats.stdout) as { queries: number }).queries, articles.length);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout + exported.stderr, new RegExp(`queries=${articles.length}\\b`));

  const built = await build;
  assert.equal(built.code, 0, built.stderr);
  assert.equal(await exists(path.join(store, 'db.sock')), false, 'the socket goes with the process that served it');
});

test('a store held by a process that does not share it gets one line naming the holder', async (t) => {
  const dir = path.join(await tempDir(t), 'store');
  const store = await CorpusStore.open(dir);
  await buildMirrorStore(store, [{ query: 'Ray Charles piano', pages: ['Baby_Grand.html'] }]);
  await store.close();
  const plain = new Level(path.join(dir, 'db'));
  await plain.open();
  t.after(() => plain.close());
  const result = await runCli(['--store', dir, 'stats']);
  assert.equal(result.code, 2);
  assert.equal(result.stderr, `m2rag: store ${dir} is in use by another process, which does not share it (no ${path.join(dir, 'db.sock')}); wait for it to finish or use another --store\n`);
});
