// Killing a crawl with SIGKILL at an arbitrary moment and running the same command again finishes
// it: the store ends exactly as after an uninterrupted crawl (no duplicates, nothing lost).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { CORPORA, ROOT, runCli } from './helpers/cli.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { crawlSnapshot, slowSeedsCrawl } from './helpers/crawl-snapshot.js';
import { CorpusStore } from '../storage/index.js';

const MIRROR = path.join(CORPORA, 'wiki-ray-charles');
const ARTICLES = [
  ['Ray Charles and his band', ['Ray_Charles', 'The_Raelettes', 'Hit_the_Road_Jack', 'A_Man_And_His_Soul', 'Georgia_on_My_Mind', 'Crying_Time']],
  ['Songs Ray Charles covered', ['America_the_Beautiful', 'Baby_Grand', 'Betty_Carter', 'Busted_(Ray_Charles_song)', 'Come_Back_Baby', 'Ray_Charles']],
] as const;

test('SIGKILL mid-crawl, then the same command again: same store as an uninterrupted crawl', { timeout: 150_000 }, async (t) => {
  const server = await startStaticServer(MIRROR);
  t.after(() => server.close());
  const dir = await tempDir(t);
  // A delay between requests to the host stretches the crawl, so the kill lands in the middle of it.
  const { argsFor } = await slowSeedsCrawl(dir, server.url, ARTICLES, 40);

  const killed = path.join(dir, 'killed');
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/m2rag.js'), ...argsFor(killed)], { stdio: 'ignore', env: { ...process.env, M2RAG_LOG_LEVEL: 'fatal' } });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const start = server.requests.length;
  // Kill once the first query's page images are being fetched.
  while (server.requests.slice(start).filter((p) => p.startsWith('/I/m/')).length < 12) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');

  const partial = await CorpusStore.open(killed);
  let done = 0;
  for await (const q of partial.iterate('queries')) if (await partial.isStageDone('crawl', q.id)) done++;
  await partial.close();
  assert.ok(done < ARTICLES.length, 'the kill interrupted the crawl');

  const resumed = await runCli(argsFor(killed));
  assert.equal(resumed.code, 0, resumed.stderr);
  const reference = path.join(dir, 'reference');
  const uninterrupted = await runCli(argsFor(reference));
  assert.equal(uninterrupted.code, 0, uninterrupted.stderr);

  const [after, expected] = [await crawlSnapshot(killed), await crawlSnapshot(reference)];
  assert.ok(expected.pages!.length >= 10 && expected.images!.length >= 20, 'the reference crawl stored the articles and their images');
  for (const key of Object.keys(expected)) assert.deepEqual(after[key], expected[key], key);
});
