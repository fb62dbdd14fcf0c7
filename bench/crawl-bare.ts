// The baseline for bench/crawl.ts: a bare Crawlee CheerioCrawler that only fetches and parses the
// given URLs (no images, no store), in memory. Prints one JSON line: pages, seconds.
import { readFile } from 'node:fs/promises';
import { CheerioCrawler, Configuration, log, LogLevel } from 'crawlee';

const [urlsFile, concurrency] = process.argv.slice(2);
const urls = JSON.parse(await readFile(urlsFile!, 'utf8')) as string[];
log.setLevel(LogLevel.OFF);
let pages = 0;
const crawler = new CheerioCrawler(
  {
    maxConcurrency: Number(concurrency),
    minConcurrency: Math.min(Number(concurrency), 2),
    // The same start as m2rag's crawler: at full concurrency.
    autoscaledPoolOptions: { desiredConcurrency: Number(concurrency) },
    useSessionPool: false,
    requestHandler: async ({ $ }) => {
      if ($('title').length >= 0) pages++;
    },
  },
  new Configuration({ persistStorage: false }),
);
const started = performance.now();
await crawler.run(urls);
process.stdout.write(JSON.stringify({ pages, seconds: (performance.now() - started) / 1000 }) + '\n');
