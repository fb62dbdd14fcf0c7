// The per-page caps of `crawl.limits`, checked on a fetched page before anything costly is done
// with it: what makes a page unusable (not text, too large, too deep) skips it with its reason, and
// what can be cut safely (links past the cap) is cut and reported. One iterative walk over the DOM,
// so a 100k-deep page costs its size, never the call stack.
import type { CheerioAPI } from 'cheerio';
import type { AnyNode, Element } from 'domhandler';
import type { Config } from '../../src/core/config.js';
import { binaryContentReason } from '../../src/core/markup/binary.js';

export type PageLimits = Config['crawl']['limits'];

/** What the crawler reads from a page besides its images, taken on the same walk (no selector pass over the whole DOM). */
export interface PageHead {
  title?: string;
  /** The content of the first `<meta http-equiv="refresh">`. */
  refresh?: string;
  /** The href of the first `<link rel="canonical">`. */
  canonical?: string;
}

export type PageCheck = { skip: string } | { skip?: undefined; truncated: string[]; head: PageHead };

function textOf(element: Element): string {
  return element.children.map((child) => ('data' in child ? child.data : '')).join('');
}

/**
 * Deepest element nesting up to `cap + 1` (the walk stops there), the anchors with an href, in
 * document order, and the page's head facts.
 */
function walk(root: AnyNode, cap: number): { depth: number; links: Element[]; head: PageHead } {
  const links: Element[] = [];
  const head: PageHead = {};
  let depth = 0;
  const stack: Array<{ node: AnyNode; depth: number }> = [{ node: root, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth: at } = stack.pop()!;
    const element = node as Element;
    const isTag = element.type === 'tag' || element.type === 'script' || element.type === 'style';
    const here = isTag ? at + 1 : at;
    if (here > depth) depth = here;
    if (depth > cap) return { depth, links, head };
    if (isTag) noteHead(element, head);
    if (isTag && element.name === 'a' && element.attribs.href !== undefined) links.push(element);
    const children = (element.children ?? []) as AnyNode[];
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i]!, depth: here });
  }
  return { depth, links, head };
}

function noteHead(element: Element, head: PageHead): void {
  const { name, attribs } = element;
  if (name === 'title' && !('title' in head)) head.title = textOf(element).trim() || undefined;
  else if (name === 'meta' && head.refresh === undefined && attribs['http-equiv']?.toLowerCase() === 'refresh') head.refresh = attribs.content ?? '';
  else if (name === 'link' && head.canonical === undefined && attribs.href && (attribs.rel ?? '').toLowerCase().split(/\s+/).includes('canonical')) head.canonical = attribs.href;
}

/** Checks a fetched page's decoded text (of `bytes` UTF-8 bytes) against the caps before it is parsed: binary bytes and size skip it. */
export function checkBody(body: string, limits: PageLimits, bytes = Buffer.byteLength(body)): string | undefined {
  const binary = binaryContentReason(body);
  if (binary) return `binary: ${binary}`;
  if (bytes > limits.maxHtmlBytes) return `too-large-html: ${bytes} bytes > ${limits.maxHtmlBytes}`;
  return undefined;
}

/** Checks a parsed page against the caps on its DOM. Links past the cap lose their href, in place. */
export function checkDom($: CheerioAPI, limits: PageLimits): PageCheck {
  const { depth, links, head } = walk($.root()[0]!, limits.maxDomDepth);
  if (depth > limits.maxDomDepth) return { skip: `too-deep: DOM nesting over ${limits.maxDomDepth}` };
  const truncated: string[] = [];
  if (links.length > limits.maxLinks) {
    for (const link of links.slice(limits.maxLinks)) delete link.attribs.href;
    truncated.push(`${links.length - limits.maxLinks} links past the cap of ${limits.maxLinks}`);
  }
  return { truncated, head };
}

/** Both checks, for a page a crawler has parsed already. */
export function checkPage($: CheerioAPI, body: string, limits: PageLimits): PageCheck {
  const skip = checkBody(body, limits);
  return skip !== undefined ? { skip } : checkDom($, limits);
}
