// Main-content extraction under a time limit. Readability and the pruning pass are synchronous and
// superlinear on some inputs the page caps let through, so each page is extracted on a worker
// thread; a page that runs past the limit has its thread terminated and is recorded as a timeout,
// and the stage goes on with a fresh thread.
import { TimedThreadPool } from '../../src/core/threads/pool.js';
import type { ExtractedContent } from './extract.js';

export type Extraction = { ok: true; content: ExtractedContent } | { ok: false; reason: string };

export class ExtractionPool {
  private readonly pool: TimedThreadPool<string, ExtractedContent>;

  constructor(private readonly timeoutMs: number) {
    // One thread: pages are extracted in order (first-come dedup depends on it), so a second would idle.
    this.pool = new TimedThreadPool({ module: new URL('./extract-worker.ts', import.meta.url), threads: 1, timeoutMs, warmUp: '<html><body><p>warm-up</p></body></html>' });
  }

  async extract(html: string): Promise<Extraction> {
    const result = await this.pool.run(html);
    if (result.ok) return { ok: true, content: result.value };
    return { ok: false, reason: result.timedOut ? `timeout: extraction ran past ${this.timeoutMs} ms` : `extraction failed: ${result.error.message}` };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
