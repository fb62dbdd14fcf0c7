// Parses fetched pages on worker threads (piscina): parsing and serializing a page is most of a
// crawl's CPU, and on the main thread it would delay every other request's I/O and store write. The
// threads take the machine's cores but one (left to the fetching, storing thread), at least one. A
// page that runs past the time limit has its thread replaced and is skipped as a timeout; a thread
// that fails otherwise fails the attempt (Crawlee retries it).
import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { threadPool } from '../../src/core/threads/pool.js';
import type { PageParseInput, ParsedPage } from './page-parse.js';

/** A page that loads a thread's modules: the limit times parsing, not a thread's start-up (seconds under tsx). */
const WARM_UP: PageParseInput = { body: '<html><body><p>warm-up</p></body></html>', finalUrl: 'http://warm-up.invalid/', limits: { maxHtmlBytes: 1024, maxDomDepth: 16, maxLinks: 1, maxOccurrences: 1, maxImages: 1 } };

export class PageParsePool {
  private readonly pool: Piscina;
  private warm: Promise<unknown>;

  constructor(private readonly timeoutMs: number) {
    this.pool = threadPool({ module: new URL('./page-parse.ts', import.meta.url), threads: Math.max(1, availableParallelism() - 1) });
    this.warm = this.warmUp();
  }

  private warmUp(): Promise<unknown> {
    return this.pool.run(WARM_UP).catch(() => undefined);
  }

  async parse(input: PageParseInput): Promise<ParsedPage> {
    await this.warm;
    try {
      return (await this.pool.run(input, { signal: AbortSignal.timeout(this.timeoutMs) })) as ParsedPage;
    } catch (error) {
      const failure = error as Error & { cause?: { name?: string } };
      if (failure.name === 'AbortError' || failure.name === 'TimeoutError' || failure.cause?.name === 'TimeoutError') {
        this.warm = this.warmUp();
        return { kind: 'skip', reason: `timeout: parsing ran past ${this.timeoutMs} ms` };
      }
      throw new Error(`page parsing failed: ${failure.message}`);
    }
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
