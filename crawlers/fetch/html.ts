// What the crawler reads from a page's HTML besides its images: its DOM, meta-refresh redirects and
// the canonical URL (from the facts the page check collects, crawlers/fetch/page-limits.ts).
import * as cheerio from 'cheerio';
import type { CheerioAPI } from 'cheerio';
import type { Element } from 'domhandler';
import { OCCURRENCE_ATTRIBUTE, resolveHttpUrl } from '../../src/core/markup/page-images.js';

/** Longest meta-refresh delay still treated as a redirect (longer ones are page reloads, not moves). */
const MAX_REFRESH_DELAY_SECONDS = 10;

/** A URL from an attribute, which meta-refresh content may wrap in quotes. */
function resolveHttp(raw: string, base: string): string | undefined {
  return resolveHttpUrl(raw.trim().replace(/^['"]|['"]$/g, ''), base);
}

/**
 * The page's DOM, parsed once by htmlparser2 (Crawlee's CheerioCrawler parses every page twice, once
 * for a DOM we never read), each element knowing where it starts in the text (for `markInText`),
 * and serialized back by htmlparser2's serializer, so it keeps the page's own markup rather than a
 * parse5 rewrite of it.
 */
export function parseHtml(body: string): CheerioAPI {
  return cheerio.load(body, { _useHtmlParser2: true, withStartIndices: true } as Parameters<typeof cheerio.load>[1]);
}

/**
 * The page's own text with each marked `<img>` (in order) given its occurrence attribute right
 * after its tag name: what serializing the marked DOM would store, without re-serializing the whole
 * page (a fifth of parsing it). The attribute comes first in the tag, so it wins over one the page
 * may carry itself.
 */
export function markInText(body: string, marked: Element[]): string {
  const parts: string[] = [];
  let at = 0;
  for (const element of marked) {
    const afterName = element.startIndex! + 1 + element.name.length;
    parts.push(body.slice(at, afterName), ` ${OCCURRENCE_ATTRIBUTE}="${element.attribs[OCCURRENCE_ATTRIBUTE]}"`);
    at = afterName;
  }
  parts.push(body.slice(at));
  return parts.join('');
}

/** The target of `<meta http-equiv="refresh" content="0;url=...">` (its content given), if the page is such a redirect. */
export function metaRefreshTarget(content: string | undefined, baseUrl: string): string | undefined {
  if (!content) return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*[;,]\s*(?:url\s*=\s*)?(.+)$/i.exec(content);
  if (!match || Number(match[1]) > MAX_REFRESH_DELAY_SECONDS) return undefined;
  const target = resolveHttp(match[2]!, baseUrl);
  return target && target !== resolveHttp(baseUrl, baseUrl) ? target : undefined;
}

/** `<link rel="canonical">`'s href when it names an http(s) URL, else the final URL without its fragment. */
export function canonicalUrlOf(href: string | undefined, finalUrl: string): string {
  return (href && resolveHttp(href, finalUrl)) ?? resolveHttp(finalUrl, finalUrl) ?? finalUrl;
}
