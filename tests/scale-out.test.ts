// Scale-out through a real redis-server: `build --queue` queues one crawl job per query, three
// `m2rag worker` processes take them into their own shard stores, one worker is SIGKILLed in the
// middle of a job (BullMQ hands the stalled job to another), and `m2rag merge` then gives a store
// whose export is byte-identical to a single-process build of the same queries.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { Queue } from 'bullmq';
import { ROOT, runCli } from './helpers/cli.js';
import { MIRROR } from './helpers/mirror-store.js';
import { startRedis } from './helpers/redis.js';
import { startStaticServer } from './helpers/static-server.js';
import { tempDir } from './helpers/temp.js';
import { connectionOf, QUEUE_PREFIX, queueNameOf } from '../src/queue/connection.js';

const ARTICLES = [['Baby_Grand.html', 'Betty_Carter.html'], ['A_Fool_for_You.html'], ["Bein'_Green.html", 'Bennie_Crawford.html'], ['Birth_of_soul.html']];
/** Each article answers this late, so a crawl job lasts long enough to be caught in flight. */
const ARTICLE_DELAY_MS = 1_500;

async function exportFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.set(path.relative(dir, path.join(entry.parentPath, entry.name)), await readFile(path.join(entry.parentPath, entry.name)));
  }
  return files;
}

function startWorker(store: string, queue: string): ChildProcess {
  return spawn(process.execPath, [path.join(ROOT, 'bin/m2rag.js'), '--store', store, 'worker', '--queue', queue], {
    cwd: ROOT,
    env: { ...process.env, M2RAG_LOG_LEVEL: 'fatal', M2RAG_QUEUE_LOCK_MS: '2000' },
    stdio: 'ignore',
  });
}

test('a mirror crawl through Redis with 3 workers, one SIGKILLed mid-job, merges to the export of a single-process build', async (t) => {
  const routes: Record<string, http.RequestListener> = {};
  for (const name of ARTICLES.flat()) {
    routes[`/A/${encodeURIComponent(name)}`] = async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, ARTICLE_DELAY_MS));
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(await readFile(path.join(MIRROR, 'A', name)));
    };
  }
  const server = await startStaticServer(MIRROR, routes);
  t.after(() => server.close());
  const redis = await startRedis(t);
  const dir = await tempDir(t);
  const queries = path.join(dir, 'queries.jsonl');
  await writeFile(queries, ARTICLES.map((names, i) => JSON.stringify({ query: `mirror query ${i} ${names[0]}`, urls: names.map((n) => `${server.url}/A/${encodeURIComponent(n)}`) })).join('\n') + '\n');
  const config = path.join(dir, 'm2rag.yaml');
  // The image floors of examples/mirror.yaml: the mirror's images are small thumbnails.
  await writeFile(config, `crawl:\n  search: seeds\n  site: ${server.url}/\n  allowPrivate: true\n  auxImages: 0\nimages:\n  minBytes: 2048\n  minPixels: 5000\n`);

  const single = await runCli(['--store', path.join(dir, 'single'), '--config', config, 'build', '--queries', queries], { timeoutMs: 300_000 });
  assert.equal(single.code, 0, single.stderr);

  const shards = [0, 1, 2].map((i) => path.join(dir, `shard-${i}`));
  const workers = shards.map((store) => startWorker(store, redis.url));
  t.after(() => workers.forEach((worker) => worker.kill('SIGKILL')));
  const build = runCli(['--config', config, 'build', '--queries', queries, '--queue', redis.url], { timeoutMs: 300_000 });

  // Catch a worker holding a job, and kill it there.
  const crawlQueue = new Queue(queueNameOf('crawl'), { connection: connectionOf(redis.url), prefix: QUEUE_PREFIX });
  t.after(() => crawlQueue.close());
  let killed: { jobId: string; worker: string } | undefined;
  for (let tries = 0; tries < 400 && !killed; tries++) {
    for (const job of await crawlQueue.getJobs(['active'])) {
      const victim = workers.find((worker) => job.processedBy?.endsWith(`:${worker.pid}`));
      if (victim) {
        victim.kill('SIGKILL');
        killed = { jobId: job.id!, worker: job.processedBy! };
        break;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(killed, 'a worker was caught holding a job');

  const queued = await build;
  assert.equal(queued.code, 0, queued.stderr);
  const finished = await crawlQueue.getJob(killed.jobId);
  assert.equal(await finished!.getState(), 'completed');
  assert.notEqual(finished!.processedBy, killed.worker, 'another worker finished the killed job');
  const status = await runCli(['status', '--queue', redis.url]);
  assert.match(status.stdout, new RegExp(`^crawl: waiting=0 active=0 done=${ARTICLES.length} failed=0$`, 'm'));

  for (const worker of workers) worker.kill('SIGINT');
  await Promise.all(workers.map((worker) => (worker.exitCode === null && worker.signalCode === null ? new Promise((resolve) => worker.once('exit', resolve)) : undefined)));
  const merged = path.join(dir, 'merged');
  const merge = await runCli(['--config', config, 'merge', '--out', merged, ...shards], { timeoutMs: 300_000 });
  assert.equal(merge.code, 0, merge.stderr);
  assert.doesNotMatch(merge.stderr, /^conflict:/m);

  for (const [store, out] of [['single', 'export-single'], ['merged', 'export-merged']] as const) {
    const exported = await runCli(['--store', path.join(dir, store), 'export', '--format', 'm2rag', '--out', path.join(dir, out)]);
    assert.equal(exported.code, 0, exported.stderr);
  }
  const expected = await exportFiles(path.join(dir, 'export-single'));
  const actual = await exportFiles(path.join(dir, 'export-merged'));
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [file, bytes] of expected) assert.ok(actual.get(file)!.equals(bytes), `${file} differs`);
});

test('build --queue refuses --world-size in one line: the reduce steps cannot be sharded', async (t) => {
  const dir = await tempDir(t);
  const queries = path.join(dir, 'queries.txt');
  await writeFile(queries, 'one query\n');
  const result = await runCli(['build', '--queries', queries, '--queue', 'redis://127.0.0.1:1', '--world-size', '2']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^m2rag: --world-size cannot be combined with --queue: .*process, describe, score .*cannot be sharded/m);
  assert.equal(result.stderr.trim().split('\n').length, 1);
});
