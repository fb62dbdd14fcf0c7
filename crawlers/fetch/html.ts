// What the crawler reads from a page's HTML besides its images: its DOM, meta-refresh redirects and
// the canonical URL (from the facts the page check collects, crawlers/fetch/page-limits.ts).
import * as cheerio from 'cheerio';
import type { CheerioAPI } from 'cheerio';
import { resolveHttpUrl } from '../../src/core/markup/page-images.js';

/** Longest meta-refresh delay still treated as a redirect (longer ones are page reloads, not moves). */
const MAX_REFRESH_DELAY_SECONDS = 10;

/** A URL from an attribute, which meta-refresh content may wrap in quotes. */
function resolveHttp(raw: string, base: string): string | undefined {
  return resolveHttpUrl(raw.trim().replace(/^['"]|['"]$/g, ''), base);
}

/**
 * The page's DOM, parsed once by htmlparser2 (Crawlee's CheerioCrawler parses every page twice, once
 * for a DOM we never read) and serialized back the same way, so the stored HTML keeps the page's own
 * markup rather than a parse5 rewrite of it.
 */
export function parseHtml(body: string): CheerioAPI {
  return cheerio.load(body, { _useHtmlParser2: true } as Parameters<typeof cheerio.load>[1]);
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
