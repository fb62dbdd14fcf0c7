// Scale-out through Redis: the latency-bound crawl workload of bench/crawl-latency.ts (60 queries ×
// 10 mirror pages over 20 loopback hosts, every response 250 ms late) queued with `m2rag build
// --queue` and crawled by 1, 2 and 4 `m2rag worker` processes, each into its own shard store, then
// `m2rag merge --no-reduce`. Reports wall time of the queued build, requests/s at the servers, each
// worker's peak RSS (VmHWM) and the merge time. Needs Debian's redis-server (tests/system-deps.sh).
// The machine is shared: each row carries the load average (1, 5, 15 min) as it ended.
//   node --import tsx bench/scale.ts [--workers 1,2,4] [--queries 60] [--jobs 4]
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { latencyQueryLines, serveHosts } from './latency-hosts.js';
import { measureChild } from './measure-child.js';
import { launchRedis } from '../tests/helpers/redis.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const option = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const WORKER_COUNTS = option('workers', '1,2,4').split(',').map(Number);
const QUERIES = Number(option('queries', '60'));
const JOBS = option('jobs', '4');
const HOSTS = 20;
const LATENCY_MS = 250;
const ENV = { M2RAG_LOG_LEVEL: 'warn' };

const served = await serveHosts(HOSTS, LATENCY_MS);
const work = await mkdtemp(path.join(os.tmpdir(), 'm2rag-bench-scale-'));
const rows = [];
try {
  const queries = path.join(work, 'queries.jsonl');
  await writeFile(queries, (await latencyQueryLines(served.hosts, QUERIES, 10)).join('\n') + '\n');
  for (const workers of WORKER_COUNTS) {
    const redis = await launchRedis();
    try {
      const shards = Array.from({ length: workers }, (_, i) => path.join(work, `run-${workers}`, `shard-${i}`));
      const children: ChildProcess[] = [];
      const measured = shards.map((store) =>
        measureChild(['bin/m2rag.js', '--store', store, 'worker', '--queue', redis.url, '--jobs', JOBS], { cwd: ROOT, env: ENV, onSpawn: (child) => children.push(child) }),
      );
      const before = served.requests();
      const build = await measureChild(['bin/m2rag.js', 'build', '--queries', queries, '--queue', redis.url, '--search', 'seeds', '--aux-images', '0', '--allow-private'], { cwd: ROOT, env: ENV });
      if (build.code !== 0) throw new Error(`build --queue failed (${build.code}): ${build.stderr}`);
      const requests = served.requests() - before;
      for (const child of children) child.kill('SIGINT');
      const peaks = (await Promise.all(measured)).map((run) => run.peakRssMb);
      const merge = await measureChild(['bin/m2rag.js', 'merge', '--no-reduce', '--out', path.join(work, `run-${workers}`, 'merged'), ...shards], { cwd: ROOT, env: ENV });
      // Conflicts (one shard's fetch of a shared URL failed where another's succeeded) are reported by the merge, and here.
      const conflicts = merge.stderr.split('\n').filter((line) => line.startsWith('conflict:'));
      if (merge.code !== 0 && conflicts.length === 0) throw new Error(`merge failed (${merge.code}): ${merge.stderr}`);
      rows.push({
        workers,
        seconds: Number(build.seconds.toFixed(1)),
        requests,
        requestsPerSecond: Number((requests / build.seconds).toFixed(1)),
        peakRssMbPerWorker: peaks,
        mergeSeconds: Number(merge.seconds.toFixed(1)),
        merged: merge.stderr.split('\n').find((line) => line.startsWith('merge:')),
        conflicts,
        loadAverage: os.loadavg().map((load) => Number(load.toFixed(2))),
      });
      process.stderr.write(JSON.stringify(rows.at(-1)) + '\n');
    } finally {
      redis.stop();
    }
  }
  process.stdout.write(
    JSON.stringify({ machine: `${os.cpus().length}× ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}`, queries: QUERIES, hosts: HOSTS, latencyMs: LATENCY_MS, jobsPerWorker: Number(JOBS), rows }, null, 2) + '\n',
  );
} finally {
  served.close();
  await rm(work, { recursive: true, force: true });
}
