// robots.txt, fetched once per origin (through the same safe fetch) and cached for the run.
// A missing or broken robots.txt allows everything, as the standard says; a 5xx disallows the
// origin for this run (RFC 9309: treat server errors as "complete disallow").
import robotsParserModule from 'robots-parser';
import { readBody, safeFetch, type SafeFetchOptions } from './safe-http.js';

interface Robots {
  isAllowed(url: string, userAgent?: string): boolean | undefined;
}
// robots-parser is CommonJS (`module.exports = fn`) but its types declare a default export.
const robotsParser = robotsParserModule as unknown as (url: string, text: string) => Robots;

export class RobotsCache {
  private readonly byOrigin = new Map<string, Promise<Robots | 'disallow-all' | undefined>>();

  constructor(private readonly fetchOptions: SafeFetchOptions) {}

  private load(origin: string): Promise<Robots | 'disallow-all' | undefined> {
    let pending = this.byOrigin.get(origin);
    if (!pending) {
      pending = (async () => {
        const robotsUrl = `${origin}/robots.txt`;
        try {
          const response = await safeFetch(robotsUrl, { ...this.fetchOptions, maxBytes: 512 * 1024 });
          const text = (await readBody(response.body)).toString('utf8');
          if (response.statusCode >= 500) return 'disallow-all';
          if (response.statusCode !== 200) return undefined;
          return robotsParser(robotsUrl, text);
        } catch {
          return undefined;
        }
      })();
      this.byOrigin.set(origin, pending);
    }
    return pending;
  }

  /** Asks for the robots.txt of these URLs' origins now (each once per run), so the rules are in by the time a crawler checks. */
  prefetch(urls: Iterable<string>): void {
    for (const url of urls) {
      if (URL.canParse(url)) void this.load(new URL(url).origin);
    }
  }

  /** Whether our user agent may fetch `url`. */
  async isAllowed(url: string): Promise<boolean> {
    const robots = await this.load(new URL(url).origin);
    if (robots === undefined) return true;
    if (robots === 'disallow-all') return false;
    return robots.isAllowed(url, this.fetchOptions.userAgent) !== false;
  }
}
