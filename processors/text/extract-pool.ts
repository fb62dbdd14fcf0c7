// Main-content extraction under a time limit. Readability and the pruning pass are synchronous and
// superlinear on some inputs the page caps let through, so each page is extracted on a worker
// thread (piscina); a page that runs past the limit has its thread terminated and is recorded as a
// timeout, and the stage goes on with a fresh thread.
import type { Piscina } from 'piscina';
import { threadPool } from '../../src/core/threads/pool.js';
import type { ExtractedContent } from './extract.js';

export type Extraction = { ok: true; content: ExtractedContent } | { ok: false; reason: string };

/** A page small enough to load a thread's modules without timing them. */
const WARM_UP_PAGE = '<html><body><p>warm-up</p></body></html>';

export class ExtractionPool {
  private readonly pool: Piscina;
  /** The thread has loaded its modules (seconds under tsx): the limit times extraction, not start-up. */
  private warm: Promise<unknown>;

  constructor(private readonly timeoutMs: number) {
    // One thread: pages are extracted in order (first-come dedup depends on it), so a second would idle.
    this.pool = threadPool({ module: new URL('./extract-worker.ts', import.meta.url), threads: 1 });
    this.warm = this.warmUp();
  }

  private warmUp(): Promise<unknown> {
    return this.pool.run(WARM_UP_PAGE).catch(() => undefined);
  }

  async extract(html: string): Promise<Extraction> {
    await this.warm;
    try {
      return { ok: true, content: (await this.pool.run(html, { signal: AbortSignal.timeout(this.timeoutMs) })) as ExtractedContent };
    } catch (error) {
      const failure = error as Error & { name?: string; cause?: { name?: string } };
      if (failure.name === 'AbortError' || failure.cause?.name === 'TimeoutError' || failure.name === 'TimeoutError') {
        // The stopped thread is replaced; its successor loads before the next page is timed.
        this.warm = this.warmUp();
        return { ok: false, reason: `timeout: extraction ran past ${this.timeoutMs} ms` };
      }
      return { ok: false, reason: `extraction failed: ${failure.message}` };
    }
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
