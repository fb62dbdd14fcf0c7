// Everything the crawler reads from a fetched page's text, in one pass that needs nothing but the
// text: the checks of `crawl.limits`, a meta-refresh target, the canonical URL, the title, and the
// page's images, marked in the HTML it returns for storing. Pure and synchronous, so it runs on a
// worker thread (page-parse-pool.ts) and the crawl's main thread only fetches and stores: the page
// comes as the response's bytes and goes back as the UTF-8 bytes the store writes, so decoding (the
// header's charset, else the BOM or `<meta>`, as the offline extractor decodes files) and encoding
// happen here too, and the marked HTML is moved to the main thread, not copied.
import type { Config } from '../../src/core/config.js';
import { decodeHtmlText } from '../../src/core/markup/html-bytes.js';
import { findPageImages, type PageImageScan } from '../../src/core/markup/page-images.js';
import { withBytesMoved } from '../../src/core/threads/moved.js';
import type { Element } from 'domhandler';
// From the blob module itself, not storage/index.js: the parsing thread need not load the store and LevelDB.
import { sha256Hex } from '../../storage/blobs.js';
import { canonicalUrlOf, markInText, metaRefreshTarget, parseHtml } from './html.js';
import { checkBody, checkDom } from './page-limits.js';

export interface PageParseInput {
  /** The response's bytes (decoded here), or text already decoded (a browser's DOM). */
  body: Uint8Array | string;
  /** The charset the response's Content-Type header declares, if any. */
  charset?: string;
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
      /** The HTML's sha256, its blob's name: hashed here, off the main thread. */
      htmlSha256: string;
      scan: PageImageScan;
      /** What was cut to fit the caps, for the page's Fetch record. */
      truncated: string[];
    };

/** The page's text and its size in bytes, or why it cannot be read as text. */
function textOf(body: Uint8Array | string, charset: string | undefined): { text: string; bytes: number } | { reason: string } {
  if (typeof body === 'string') return { text: body, bytes: Buffer.byteLength(body) };
  const decoded = decodeHtmlText(body, charset);
  if (!decoded.ok) return { reason: `charset: ${decoded.reason}` };
  return { text: decoded.html, bytes: decoded.encoding === 'utf-8' ? body.byteLength : Buffer.byteLength(decoded.html) };
}

export function parsePage(input: PageParseInput): ParsedPage {
  const { finalUrl, limits } = input;
  const read = textOf(input.body, input.charset);
  if ('reason' in read) return { kind: 'skip', reason: read.reason };
  const { text: body, bytes: bodyBytes } = read;
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
    htmlSha256: sha256Hex(html),
    scan,
    truncated: [...check.truncated, ...(scan.beyondCaps > 0 ? [`${scan.beyondCaps} images past the caps (${caps})`] : [])],
  };
}

/** The task a parsing thread runs: the page's HTML bytes are moved back. */
export default function parsePageTask(input: PageParseInput): ParsedPage {
  const parsed = parsePage(input);
  return parsed.kind === 'page' ? withBytesMoved(parsed, [parsed.html]) : parsed;
}
