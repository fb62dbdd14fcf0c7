// The threads a crawl-stage run parses its pages on, with the V8 settings of the crawl. They start
// first, before Crawlee is loaded: a thread spends about half a second loading its modules, and
// started after Crawlee it kept the first pages (and with them the main thread) waiting; started
// first, its loading runs on the other core while the main thread loads Crawlee.
import { PageParsePool } from './page-parse-pool.js';
import { tuneV8ForCrawl } from './v8-settings.js';

export interface CrawlThreads {
  parser: PageParsePool;
  /** Stops the threads and gives the stages after the crawl V8's defaults back. */
  close(): Promise<void>;
}

export function startCrawlThreads(parseTimeoutMs: number): CrawlThreads {
  // Before the parsing threads start, so the settings hold for them too.
  const restoreV8Settings = tuneV8ForCrawl();
  const parser = new PageParsePool(parseTimeoutMs);
  return {
    parser,
    async close() {
      await parser.close();
      restoreV8Settings();
    },
  };
}
