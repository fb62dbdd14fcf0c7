// Everything the crawler reads from a fetched page's text, in one pass that needs nothing but the
// text: the checks of `crawl.limits`, a meta-refresh target, the canonical URL, the title, and the
// page's images, marked in the HTML it returns for storing. Pure and synchronous, so it runs on a
// worker thread (page-parse-pool.ts) and the crawl's main thread only fetches and stores.
import type { Config } from '../../src/core/config.js';
import { findPageImages, type PageImageScan } from '../../src/core/markup/page-images.js';
import type { Element } from 'domhandler';
import { canonicalUrlOf, markInText, metaRefreshTarget, parseHtml } from './html.js';
import { checkBody, checkDom } from './page-limits.js';

export interface PageParseInput {
  body: string;
  finalUrl: string;
  limits: Config['crawl']['limits'];
}

export type ParsedPage =
  /** The page is not stored: why. */
  | { kind: 'skip'; reason: string }
  /** The page only redirects, by meta refresh, to `target`. */
  | { kind: 'refresh'; target: string }
  | {
      kind: 'page';
      canonicalUrl: string;
      title?: string;
      /** The page's HTML with its images marked (src/core/markup/page-images.ts). */
      html: string;
      htmlBytes: number;
      scan: PageImageScan;
      /** What was cut to fit the caps, for the page's Fetch record. */
      truncated: string[];
    };

export function parsePage({ body, finalUrl, limits }: PageParseInput): ParsedPage {
  const bodyBytes = Buffer.byteLength(body);
  const unusable = checkBody(body, limits, bodyBytes);
  if (unusable !== undefined) return { kind: 'skip', reason: unusable };
  const $ = parseHtml(body);
  const check = checkDom($, limits);
  if (check.skip !== undefined) return { kind: 'skip', reason: check.skip };
  const target = metaRefreshTarget(check.head.refresh, finalUrl);
  if (target) return { kind: 'refresh', target };
  const marked: Element[] = [];
  const scan = findPageImages($, finalUrl, limits, marked);
  // The page's own text, marked, unless the checks cut it (links past the cap, images past the caps): then the DOM is serialized.
  const spliced = check.truncated.length === 0 && scan.beyondCaps === 0;
  const html = spliced ? markInText(body, marked) : $.html();
  // The marks are ASCII: spliced, the text grew by as many bytes as characters.
  const htmlBytes = spliced ? bodyBytes + html.length - body.length : Buffer.byteLength(html);
  if (htmlBytes > limits.maxHtmlBytes) return { kind: 'skip', reason: `too-large-html: ${htmlBytes} bytes > ${limits.maxHtmlBytes}` };
  const caps = `${limits.maxOccurrences} occurrences, ${limits.maxImages} distinct images`;
  return {
    kind: 'page',
    canonicalUrl: canonicalUrlOf(check.head.canonical, finalUrl),
    title: check.head.title,
    html,
    htmlBytes,
    scan,
    truncated: [...check.truncated, ...(scan.beyondCaps > 0 ? [`${scan.beyondCaps} images past the caps (${caps})`] : [])],
  };
}

export default parsePage;
