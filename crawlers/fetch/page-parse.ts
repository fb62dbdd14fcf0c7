// Everything the crawler reads from a fetched page's text, in one pass that needs nothing but the
// text: the checks of `crawl.limits`, a meta-refresh target, the canonical URL, the title, and the
// page's images, marked in the HTML it returns for storing. Pure and synchronous, so it runs on a
// worker thread (page-parse-pool.ts) and the crawl's main thread only fetches and stores: the page
// comes as the response's bytes and goes back as the UTF-8 bytes the store writes, so decoding and
// encoding happen here too, and the marked HTML is moved to the main thread, not copied.
import type { Config } from '../../src/core/config.js';
import { findPageImages, type PageImageScan } from '../../src/core/markup/page-images.js';
import { withBytesMoved } from '../../src/core/threads/moved.js';
import type { Element } from 'domhandler';
import { canonicalUrlOf, markInText, metaRefreshTarget, parseHtml } from './html.js';
import { checkBody, checkDom } from './page-limits.js';

export interface PageParseInput {
  /** The response's bytes (decoded here with `encoding`), or text already decoded (a browser's DOM). */
  body: Uint8Array | string;
  encoding?: BufferEncoding;
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
      /** The page's HTML with its images marked (src/core/markup/page-images.ts), UTF-8. */
      html: Uint8Array;
      scan: PageImageScan;
      /** What was cut to fit the caps, for the page's Fetch record. */
      truncated: string[];
    };

function textOf(body: Uint8Array | string, encoding: BufferEncoding = 'utf8'): string {
  return typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString(encoding);
}

export function parsePage(input: PageParseInput): ParsedPage {
  const { finalUrl, limits } = input;
  const body = textOf(input.body, input.encoding);
  const bodyBytes = typeof input.body !== 'string' && (input.encoding ?? 'utf8') === 'utf8' ? input.body.byteLength : Buffer.byteLength(body);
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
  const html = Buffer.from(spliced ? markInText(body, marked) : $.html());
  if (html.byteLength > limits.maxHtmlBytes) return { kind: 'skip', reason: `too-large-html: ${html.byteLength} bytes > ${limits.maxHtmlBytes}` };
  const caps = `${limits.maxOccurrences} occurrences, ${limits.maxImages} distinct images`;
  return {
    kind: 'page',
    canonicalUrl: canonicalUrlOf(check.head.canonical, finalUrl),
    title: check.head.title,
    html,
    scan,
    truncated: [...check.truncated, ...(scan.beyondCaps > 0 ? [`${scan.beyondCaps} images past the caps (${caps})`] : [])],
  };
}

/** The task a parsing thread runs: the page's HTML bytes are moved back. */
export default function parsePageTask(input: PageParseInput): ParsedPage {
  const parsed = parsePage(input);
  return parsed.kind === 'page' ? withBytesMoved(parsed, [parsed.html]) : parsed;
}
