// Crawl time and memory at web latency over many hosts: the issue-12 workload. 60 queries × 10
// mirror pages (× `--scale`), spread over 20 loopback hosts (127.0.0.2–21, one server each on the
// same port), every response delayed 250 ms. `m2rag crawl --search seeds --aux-images 0
// --allow-private`, defaults otherwise, as its own process; peak RSS is the child's VmHWM from /proc.
// The bound is what politeness allows: requests × latency / (hosts × crawl.perDomainConcurrency).
// The busiest host's floor is that host's own requests (its Fetch records and robots.txt) × latency /
// perDomainConcurrency: no schedule can beat it, and with uneven pages it is above the bound. The
// load average is reported because the machine may be shared.
//   node --import tsx bench/crawl-latency.ts [--scale 1] [--latency-ms 250] [--hosts 20] [--concurrency N] [--cpu-prof DIR]
// (`--concurrency` passes `--concurrency N` to the crawl; without it the default holds. `--cpu-prof`
// writes the crawl's V8 CPU profile to DIR.)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { latencyQueryLines, serveHosts } from './latency-hosts.js';
import { measureChild, type ChildMeasure } from './measure-child.js';
import { CorpusStore, pageFetchIdOf } from '../storage/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const scale = arg('scale', 1);
const latencyMs = arg('latency-ms', 250);
const hostCount = arg('hosts', 20);
const concurrency = arg('concurrency', 0);
const profileDir = process.argv.includes('--cpu-prof') ? process.argv[process.argv.indexOf('--cpu-prof') + 1] : undefined;
const QUERIES = 60 * scale;
const PAGES_PER_QUERY = 10;
const PER_HOST = 4; // crawl.perDomainConcurrency's default, which the run keeps

function measure(args: string[]): Promise<ChildMeasure> {
  return measureChild(args, { cwd: ROOT, env: { M2RAG_LOG_LEVEL: 'warn' } });
}

const served = await serveHosts(hostCount, latencyMs);
const work = await mkdtemp(path.join(os.tmpdir(), 'm2rag-bench-latency-'));
try {
  const lines = await latencyQueryLines(served.hosts, QUERIES, PAGES_PER_QUERY);
  const queries = path.join(work, 'queries.jsonl');
  await writeFile(queries, lines.join('\n') + '\n');
  const store = path.join(work, 'store');
  const loadBefore = os.loadavg()[0]!;
  const run = await measure([...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), 'bin/m2rag.js', '--store', store, 'crawl', '--queries', queries, '--search', 'seeds', '--aux-images', '0', '--allow-private', ...(concurrency > 0 ? ['--concurrency', String(concurrency)] : [])]);
  if (run.code !== 0) throw new Error(`m2rag crawl failed (${run.code}): ${run.stderr}`);
  const db = await CorpusStore.open(store);
  let pages = 0;
  let hitsWithoutFetch = 0;
  const perHost = new Map<string, number>();
  for await (const fetch of db.iterate('fetches')) perHost.set(new URL(fetch.url).host, (perHost.get(new URL(fetch.url).host) ?? 1) + 1);
  for await (const _page of db.iterate('pages')) pages++;
  for await (const hit of db.iterate('hits')) if (!(await db.has('fetches', pageFetchIdOf(hit.url)))) hitsWithoutFetch++;
  await db.close();
  const requests = served.requests();
  const boundSeconds = (requests * latencyMs) / 1000 / (hostCount * PER_HOST);
  const busiestHost = Math.max(...perHost.values());
  process.stdout.write(
    JSON.stringify(
      {
        machine: `${os.cpus().length}× ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}`,
        queries: QUERIES,
        hosts: hostCount,
        latencyMs,
        concurrency: concurrency || 'default',
        requests,
        inFlight: served.inFlight(),
        pages,
        seconds: Number(run.seconds.toFixed(1)),
        cpuSeconds: Number(run.cpuSeconds.toFixed(1)),
        stealSeconds: Number(run.stealSeconds.toFixed(1)),
        boundSeconds: Number(boundSeconds.toFixed(1)),
        ratioToBound: Number((run.seconds / boundSeconds).toFixed(2)),
        busiestHostRequests: busiestHost,
        busiestHostFloorSeconds: Number(((busiestHost * latencyMs) / 1000 / PER_HOST).toFixed(1)),
        loadAverage: [Number(loadBefore.toFixed(1)), Number(os.loadavg()[0]!.toFixed(1))],
        peakRssMb: run.peakRssMb,
        hitsWithoutFetch,
        summary: run.stderr.split('\n').find((line) => line.startsWith('crawl:')),
      },
      null,
      2,
    ) + '\n',
  );
} finally {
  served.close();
  await rm(work, { recursive: true, force: true });
}
