// Crawl throughput and memory: `m2rag crawl` (fetch, parse, store, images) against a bare Crawlee
// CheerioCrawler (fetch and parse only) over the same real pages in one run. The Wikipedia mirror's
// 85 articles are served under `--copies` path prefixes (default 12, so 1,020 distinct page URLs;
// their images get distinct URLs too and are deduplicated by sha256). Each crawler runs as its own
// process; peak RSS is the child's VmHWM from /proc.
//   node --import tsx bench/crawl.ts [--copies 12] [--concurrency 8] [--rounds 3] [--heap-mb N] [--shared-images]
// `--shared-images` serves every copy's pages with root-relative image paths, so all copies use the
// same image URLs, as the pages of one real site do (without it every copy's images are new URLs).
// `--rounds N` (default 3): the two crawlers take turns N times; the ratio reported is the median round's.
// `--heap-mb N` runs both crawlers with NODE_OPTIONS=--max-old-space-size=N (V8 then collects
// garbage before the heap grows past N instead of when it likes).
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureChild, type ChildMeasure } from './measure-child.js';
import { CorpusStore } from '../storage/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MIRROR = path.resolve(ROOT, '../shared/corpora/wiki-ray-charles');
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const copies = arg('copies', 12);
const concurrency = arg('concurrency', 8);
const heapMb = arg('heap-mb', 0);
const rounds = arg('rounds', 3);
const sharedImages = process.argv.includes('--shared-images');
const childNodeOptions = heapMb > 0 ? `--max-old-space-size=${heapMb}` : (process.env.NODE_OPTIONS ?? '');

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.htm': 'text/html; charset=utf-8', '.jpg': 'image/jpeg', '.JPG': 'image/jpeg', '.png': 'image/png', '.css': 'text/css', '.js': 'text/javascript' };

/** Every file of the mirror by its path under the mirror ('/A/x.html'), read once. */
async function mirrorFiles(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(MIRROR, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    let bytes = await readFile(file);
    if (sharedImages && /\.html?$/.test(file)) bytes = Buffer.from(bytes.toString('utf8').replaceAll('src="../I/m/', 'src="/I/m/'));
    files.set('/' + path.relative(MIRROR, file).split(path.sep).join('/'), bytes);
  }
  return files;
}

/**
 * Serves the mirror under /c<n>/ for every n (the prefix is stripped), from memory: the server shares
 * the machine's two cores with the crawler it serves, and read from disk for every request it took
 * 1.6 s of CPU while m2rag crawled (2,736 requests), time the crawler under test did not get.
 */
async function serveCopies(): Promise<{ url: string; close: () => void; window: RequestWindow }> {
  const files = await mirrorFiles();
  const window: RequestWindow = { first: 0, last: 0 };
  const server = http.createServer((req, res) => {
    window.first ||= performance.now();
    res.on('finish', () => (window.last = performance.now()));
    const pathname = decodeURIComponent(new URL(req.url!, 'http://x').pathname).replace(/^\/c\d+\//, '/');
    const bytes = files.get(pathname);
    if (!bytes) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[path.extname(pathname)] ?? 'application/octet-stream', 'content-length': bytes.byteLength });
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close(), window };
}

/** When the server saw a crawler's first request arrive and its last response leave (reset before each crawler). */
interface RequestWindow {
  first: number;
  last: number;
}

/** Seconds from the first request of the crawler that just ran to its last response, by the server's clock. */
function windowSeconds(window: RequestWindow): number {
  const seconds = (window.last - window.first) / 1000;
  window.first = window.last = 0;
  return Number(seconds.toFixed(2));
}

/** The benchmark's own CPU (its page server's, above all) while one crawler ran. */
const cpuSecondsOf = (usage: NodeJS.CpuUsage): number => Number(((usage.user + usage.system) / 1e6).toFixed(2));

function measure(args: string[]): Promise<ChildMeasure> {
  return measureChild(args, { cwd: ROOT, env: { NODE_OPTIONS: childNodeOptions, M2RAG_LOG_LEVEL: 'info', M2RAG_PROGRESS: 'json' } });
}

const server = await serveCopies();
const work = await mkdtemp(path.join(os.tmpdir(), 'm2rag-bench-crawl-'));
try {
  const articles: string[] = [];
  for (const name of await readdir(path.join(MIRROR, 'A'))) {
    const html = await readFile(path.join(MIRROR, 'A', name), 'utf8');
    if (!/http-equiv="refresh"/i.test(html)) articles.push(name);
  }
  const urls = Array.from({ length: copies }, (_, c) => articles.map((name) => `${server.url}/c${c}/A/${encodeURIComponent(name)}`)).flat();
  const urlsFile = path.join(work, 'urls.json');
  await writeFile(urlsFile, JSON.stringify(urls));
  const queries = path.join(work, 'queries.jsonl');
  await writeFile(queries, JSON.stringify({ query: 'every mirror article', urls }) + '\n');

  // One host serves everything here, so the per-host cap is raised to the crawl's concurrency to
  // compare like with like (the bare crawler has no per-host cap).
  const config = path.join(work, 'config.yaml');
  await writeFile(config, `crawl:\n  perDomainConcurrency: ${concurrency}\n`);
  const idle = await measure(['bin/m2rag.js', '--store', path.join(work, 'idle'), 'stats']);

  const runBare = async () => {
    const serverCpu = process.cpuUsage();
    const bare = await measure(['--import', 'tsx', 'bench/crawl-bare.ts', urlsFile, String(concurrency)]);
    if (bare.code !== 0) throw new Error(`bare crawler failed: ${bare.stderr}`);
    const { pages, seconds } = JSON.parse(bare.stdout) as { pages: number; seconds: number };
    return {
      pages,
      seconds: Number(seconds.toFixed(2)),
      requestWindowSeconds: windowSeconds(server.window),
      processSeconds: Number(bare.seconds.toFixed(2)),
      pagesPerMinute: Math.round((pages / seconds) * 60),
      peakRssMb: bare.peakRssMb,
      cpuSeconds: bare.cpuSeconds,
      stealSeconds: bare.stealSeconds,
      serverCpuSeconds: cpuSecondsOf(process.cpuUsage(serverCpu)),
    };
  };

  const runOurs = async (round: number) => {
    const store = path.join(work, `store-${round}`);
    const serverCpu = process.cpuUsage();
    const ours = await measure([...(process.env.M2RAG_BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.M2RAG_BENCH_PROFILE] : []),
      'bin/m2rag.js', '--store', store, '--config', config, 'crawl', '--queries', queries, '--search', 'seeds', '--site', server.url + '/',
      '--pages', String(urls.length), '--concurrency', String(concurrency),
    ]);
    if (ours.code !== 0) throw new Error(`m2rag crawl failed: ${ours.stderr}`);
    const serverCpuSeconds = cpuSecondsOf(process.cpuUsage(serverCpu));
    const requestWindowSeconds = windowSeconds(server.window);
    const stats = await measure(['bin/m2rag.js', '--store', store, 'stats', '--json']);
    const counts = JSON.parse(stats.stdout) as { pages: number; images: number; occurrences: number };
    const db = await CorpusStore.open(store);
    let imageFetches = 0;
    for await (const fetch of db.iterate('fetches')) if (fetch.kind === 'image') imageFetches++;
    await db.close();
    await rm(store, { recursive: true, force: true });
    const stageLine = ours.stderr.split('\n').find((line) => line.includes('"stage finished"'));
    // The crawl stage's own time (search, fetch, parse, store, images; Crawlee loaded and the parsing threads started on the way).
    const stageSeconds = (JSON.parse(stageLine!) as { seconds: number }).seconds;
    return {
      pages: counts.pages,
      images: counts.images,
      occurrences: counts.occurrences,
      imageFetches,
      stageSeconds,
      requestWindowSeconds,
      commandSeconds: Number(ours.seconds.toFixed(2)),
      pagesPerMinute: Math.round((counts.pages / stageSeconds) * 60),
      requestsPerMinute: Math.round(((counts.pages + imageFetches) / stageSeconds) * 60),
      peakRssMb: ours.peakRssMb,
      cpuSeconds: ours.cpuSeconds,
      stealSeconds: ours.stealSeconds,
      serverCpuSeconds,
    };
  };

  // The machine's speed drifts by tens of percent within a minute, so the two crawlers take turns
  // and each round's ratio compares neighbours in time; the summary is the median round.
  const results = [];
  for (let round = 0; round < rounds; round++) {
    const bare = await runBare();
    const m2rag = await runOurs(round);
    results.push({
      bare,
      m2rag,
      // m2rag's crawl stage against the bare crawl loop (which starts once Crawlee is loaded).
      ratio: Number((m2rag.pagesPerMinute / bare.pagesPerMinute).toFixed(2)),
      // From each crawler's first request to its last response, by the server's clock: the crawl alone on both sides.
      windowRatio: Number((bare.requestWindowSeconds / m2rag.requestWindowSeconds).toFixed(2)),
      // Each command as a whole process, Node's start and module loading included on both sides.
      processRatio: Number((m2rag.pages / m2rag.commandSeconds / (bare.pages / bare.processSeconds)).toFixed(2)),
    });
    process.stderr.write(`round ${round + 1}/${rounds}: bare ${bare.seconds} s, m2rag stage ${m2rag.stageSeconds} s, ratio ${results.at(-1)!.ratio}, request windows ${bare.requestWindowSeconds} / ${m2rag.requestWindowSeconds} s, CPU stolen by the host ${bare.stealSeconds} / ${m2rag.stealSeconds} s\n`);
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const result = {
    machine: `${os.cpus().length}× ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}`,
    urls: urls.length,
    concurrency,
    nodeOptions: childNodeOptions || undefined,
    sharedImages,
    idleCliPeakRssMb: idle.peakRssMb,
    rounds: results,
    ratio: median(results.map((r) => r.ratio)),
    windowRatio: median(results.map((r) => r.windowRatio)),
    processRatio: median(results.map((r) => r.processRatio)),
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} finally {
  server.close();
  await rm(work, { recursive: true, force: true });
}
