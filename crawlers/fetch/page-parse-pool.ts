// Parses fetched pages on worker threads: parsing a page is most of a crawl's CPU, and on the main
// thread it would delay every other request's I/O and store write. The threads take the machine's
// cores but one (left to the fetching, storing thread), at least one. A page that runs past the time
// limit has its thread replaced and is skipped as a timeout; a thread that fails otherwise fails the
// attempt (Crawlee retries it).
import { availableParallelism } from 'node:os';
import { TimedThreadPool } from '../../src/core/threads/pool.js';
import type { PageParseInput, ParsedPage } from './page-parse.js';

const WARM_UP: PageParseInput = { body: '<html><body><p>warm-up</p></body></html>', finalUrl: 'http://warm-up.invalid/', limits: { maxHtmlBytes: 1024, maxDomDepth: 16, maxLinks: 1, maxOccurrences: 1, maxImages: 1 } };

export class PageParsePool {
  private readonly pool: TimedThreadPool<PageParseInput, ParsedPage>;

  constructor(private readonly timeoutMs: number) {
    this.pool = new TimedThreadPool({ module: new URL('./page-parse.ts', import.meta.url), threads: Math.max(1, availableParallelism() - 1), timeoutMs, warmUp: WARM_UP });
  }

  async parse(input: PageParseInput): Promise<ParsedPage> {
    const result = await this.pool.run(input);
    if (result.ok) return result.value;
    if (result.timedOut) return { kind: 'skip', reason: `timeout: parsing ran past ${this.timeoutMs} ms` };
    throw new Error(`page parsing failed: ${result.error.message}`);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
