// Crawl throughput and memory: `m2rag crawl` (fetch, parse, store, images) against a bare Crawlee
// CheerioCrawler (fetch and parse only) over the same real pages in one run. The Wikipedia mirror's
// 85 articles are served under `--copies` path prefixes (default 12, so 1,020 distinct page URLs;
// their images get distinct URLs too and are deduplicated by sha256). Each crawler runs as its own
// process; peak RSS is the child's VmHWM from /proc.
//   node --import tsx bench/crawl.ts [--copies 12] [--concurrency 8] [--heap-mb N] [--shared-images]
// `--shared-images` serves every copy's pages with root-relative image paths, so all copies use the
// same image URLs, as the pages of one real site do (without it every copy's images are new URLs).
// `--heap-mb N` runs both crawlers with NODE_OPTIONS=--max-old-space-size=N (V8 then collects
// garbage before the heap grows past N instead of when it likes).
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
const sharedImages = process.argv.includes('--shared-images');
const childNodeOptions = heapMb > 0 ? `--max-old-space-size=${heapMb}` : (process.env.NODE_OPTIONS ?? '');

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.htm': 'text/html; charset=utf-8', '.jpg': 'image/jpeg', '.JPG': 'image/jpeg', '.png': 'image/png', '.css': 'text/css', '.js': 'text/javascript' };

/** Serves the mirror under /c<n>/ for every n (the prefix is stripped). */
async function serveCopies(): Promise<{ url: string; close: () => void }> {
  const server = http.createServer(async (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url!, 'http://x').pathname).replace(/^\/c\d+\//, '/');
    const file = path.join(MIRROR, pathname);
    try {
      if (!file.startsWith(MIRROR) || !(await stat(file)).isFile()) throw new Error('missing');
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
      if (sharedImages && /\.html?$/.test(file)) res.end((await readFile(file, 'utf8')).replaceAll('src="../I/m/', 'src="/I/m/'));
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
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

  let serverCpu = process.cpuUsage();
  const bare = await measure(['--import', 'tsx', 'bench/crawl-bare.ts', urlsFile, String(concurrency)]);
  if (bare.code !== 0) throw new Error(`bare crawler failed: ${bare.stderr}`);
  const bareResult = JSON.parse(bare.stdout) as { pages: number; seconds: number };
  const bareServerCpu = process.cpuUsage(serverCpu);

  // One host serves everything here, so the per-host cap is raised to the crawl's concurrency to
  // compare like with like (the bare crawler has no per-host cap).
  const config = path.join(work, 'config.yaml');
  await writeFile(config, `crawl:\n  perDomainConcurrency: ${concurrency}\n`);
  const store = path.join(work, 'store');
  const idle = await measure(['bin/m2rag.js', '--store', path.join(work, 'idle'), 'stats']);
  serverCpu = process.cpuUsage();
  const ours = await measure([...(process.env.M2RAG_BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.M2RAG_BENCH_PROFILE] : []),
    'bin/m2rag.js', '--store', store, '--config', config, 'crawl', '--queries', queries, '--search', 'seeds', '--site', server.url + '/',
    '--pages', String(urls.length), '--concurrency', String(concurrency),
  ]);
  if (ours.code !== 0) throw new Error(`m2rag crawl failed: ${ours.stderr}`);
  const oursServerCpu = process.cpuUsage(serverCpu);
  const stats = await measure(['bin/m2rag.js', '--store', store, 'stats', '--json']);
  const counts = JSON.parse(stats.stdout) as { pages: number; images: number; occurrences: number };
  const db = await CorpusStore.open(store);
  let imageFetches = 0;
  for await (const fetch of db.iterate('fetches')) if (fetch.kind === 'image') imageFetches++;
  await db.close();

  const stageLine = ours.stderr.split('\n').find((line) => line.includes('"stage finished"'));
  const stageSeconds = (JSON.parse(stageLine!) as { seconds: number }).seconds;
  const bareRate = (bareResult.pages / bareResult.seconds) * 60;
  // The crawl stage's own time (search, fetch, parse, store, images) against the bare crawl loop.
  const ourRate = (counts.pages / stageSeconds) * 60;
  const result = {
    machine: `${os.cpus().length}× ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}`,
    urls: urls.length,
    concurrency,
    nodeOptions: childNodeOptions || undefined,
    sharedImages,
    bare: { pages: bareResult.pages, seconds: Number(bareResult.seconds.toFixed(1)), processSeconds: Number(bare.seconds.toFixed(1)), pagesPerMinute: Math.round(bareRate), peakRssMb: bare.peakRssMb, cpuSeconds: bare.cpuSeconds, serverCpuSeconds: cpuSecondsOf(bareServerCpu) },
    m2rag: {
      pages: counts.pages,
      images: counts.images,
      occurrences: counts.occurrences,
      stageSeconds,
      commandSeconds: Number(ours.seconds.toFixed(1)),
      pagesPerMinute: Math.round(ourRate),
      imageFetches,
      requestsPerMinute: Math.round(((counts.pages + imageFetches) / stageSeconds) * 60),
      peakRssMb: ours.peakRssMb,
      cpuSeconds: ours.cpuSeconds,
      serverCpuSeconds: cpuSecondsOf(oursServerCpu),
      idleCliPeakRssMb: idle.peakRssMb,
    },
    ratio: Number((ourRate / bareRate).toFixed(2)),
  };
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} finally {
  server.close();
  await rm(work, { recursive: true, force: true });
}
