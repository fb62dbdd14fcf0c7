// Boilerplate pruning of an extracted content element: what Readability keeps but a reader does not
// want as article text: captions and credits, link lists (menus, tags, related stories), share bars,
// bylines, datelines and sign-in prompts. Marked images inside a pruned caption or short line are
// kept in its place; images inside menus and related-story lists go with them.
import { OCCURRENCE_ATTRIBUTE } from '../../src/core/markup/page-images.js';

const CAPTION_TAGS = new Set(['FIGCAPTION']);
const CAPTION_ATTRIBUTE = /caption|credit/i;
const BOILERPLATE_ATTRIBUTE = /(^|[-_ ])(share|sharing|social|tags?|byline|author-?info|related|newsletter|promo|subscribe|signup|advert|breadcrumbs?|nav(header|footer|bar|igation)?|menu)([-_ ]|$)/i;
const LINK_BLOCK_TAGS = new Set(['UL', 'OL', 'NAV', 'DL', 'DIV', 'SECTION', 'ASIDE', 'P', 'TABLE', 'HEADER', 'FOOTER']);
const SHORT_LINE_TAGS = new Set(['P', 'DIV', 'SPAN', 'LI', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'TIME']);
const LINK_DENSITY_LIMIT = 0.5;
/** A paragraph is a sentence around its links: it must be almost all link text to be a link block. */
const PARAGRAPH_LINK_DENSITY_LIMIT = 0.8;
/** Long blocks are content even when they link a lot (a link-heavy paragraph of an essay). */
const LINK_BLOCK_MAX_CHARS = 1000;
const ATTRIBUTE_BLOCK_MAX_CHARS = 350;
const CAPTION_MAX_CHARS = 350;
const SHORT_LINE_CHARS = 100;
const BOILERPLATE_LINE =
  /^(share( this)?|tweet|e-?mail|print|sign (in|up)|log ?in|subscribe|advertisement|ad|related( articles| stories)?|tags?|read more|see more|comments?|follow us|whatsapp|facebook|twitter|pinterest|linkedin|copy link|(published|updated|posted)\b.*\d|by [^.]{2,60}$)/i;
const CREDIT_LINE = /(\(image: [^)]*\)|\bcredit: |\bphoto: |getty images|©)/i;

export function collapsedText(node: Element): string {
  return (node.textContent ?? '').replace(/\s+/g, ' ').trim();
}

export function linkTextLength(element: Element): number {
  let n = 0;
  for (const link of element.querySelectorAll('a')) n += collapsedText(link).length;
  return n;
}

interface TextStats {
  /** Non-whitespace characters of text inside the element. */
  chars: number;
  /** Those inside links. */
  linkChars: number;
  /** A figure or figcaption is inside (or is the element). */
  figure: boolean;
}

function nonSpaceLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 32) n++;
  return n;
}

/** Text and link-text sizes of every element under `root`, in one walk (pruning decisions read these). */
function measure(root: Element): Map<Element, TextStats> {
  const stats = new Map<Element, TextStats>();
  const walk = (node: Node, inLink: boolean): TextStats => {
    if (node.nodeType === 3) {
      const chars = nonSpaceLength(node.nodeValue ?? '');
      return { chars, linkChars: inLink ? chars : 0, figure: false };
    }
    const tag = (node as Element).tagName;
    const total: TextStats = { chars: 0, linkChars: 0, figure: tag === 'FIGURE' || tag === 'FIGCAPTION' };
    if (node.nodeType !== 1) return total;
    const childInLink = inLink || tag === 'A';
    for (let child = node.firstChild; child; child = child.nextSibling) {
      const s = walk(child, childInLink);
      total.chars += s.chars;
      total.linkChars += s.linkChars;
      total.figure ||= s.figure;
    }
    stats.set(node as Element, total);
    return total;
  };
  walk(root, false);
  return stats;
}

/** Replaces `element` by the marked images it contains (or by nothing). */
function removeKeepingImages(element: Element): void {
  for (const image of [...element.querySelectorAll(`img[${OCCURRENCE_ATTRIBUTE}]`)]) element.parentNode?.insertBefore(image, element);
  element.remove();
}

/** Elements under `root` in document order, skipping the subtrees `removed` says are gone. */
function* elementsOf(root: Element, removed: Set<Element>): Generator<Element> {
  const stack: Element[] = [...root.children].reverse();
  while (stack.length > 0) {
    const element = stack.pop()!;
    if (removed.has(element)) continue;
    yield element;
    // Read once: linkedom builds `children` afresh on every access, by walking the siblings.
    const children = element.children;
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
}

/**
 * Removes the elements `decide` picks, top-down. `keepImages`: a removed element leaves its marked
 * images in its place (captions, credit lines); otherwise they go with it (menus, related stories).
 */
function sweep(root: Element, keepImages: boolean, decide: (element: Element, stats: TextStats) => boolean): void {
  const stats = measure(root);
  const removed = new Set<Element>();
  for (const element of elementsOf(root, removed)) {
    if (element.tagName === 'IMG') continue;
    if (decide(element, stats.get(element)!)) removed.add(element);
  }
  for (const element of removed) {
    if (keepImages) removeKeepingImages(element);
    else element.remove();
  }
}

function isLinkBlock(element: Element, s: TextStats): boolean {
  return (
    LINK_BLOCK_TAGS.has(element.tagName) &&
    s.chars > 0 &&
    s.chars <= LINK_BLOCK_MAX_CHARS &&
    s.linkChars / s.chars > (element.tagName === 'P' ? PARAGRAPH_LINK_DENSITY_LIMIT : LINK_DENSITY_LIMIT) &&
    // Figures are text with a caption, whatever their link density: the caption sweep judges them.
    !s.figure
  );
}

function attributesOf(element: Element): string {
  return `${element.getAttribute('class') ?? ''} ${element.getAttribute('id') ?? ''}`;
}

const CHROME_SELECTOR = 'script:not([type="application/ld+json"]), style, svg, nav, footer, aside, iframe, template, [hidden]';

/**
 * Removes page chrome and link lists from a whole page before Readability reads it: less for it to
 * score, and fewer menus for it to mistake for content. Readability's metadata (JSON-LD) is kept.
 */
export function pruneChrome(root: Element): void {
  for (const element of [...root.querySelectorAll(CHROME_SELECTOR)]) element.remove();
  sweep(root, false, isLinkBlock);
}

/** Prunes `root` in place; `byline` (when known) is removed where it stands alone. */
export function pruneBoilerplate(root: Element, byline?: string): void {
  const bylineText = byline?.replace(/\s+/g, ' ').trim();
  sweep(root, true, (element, s) => {
    if (s.chars > CAPTION_MAX_CHARS) return false;
    return CAPTION_TAGS.has(element.tagName) || CAPTION_ATTRIBUTE.test(attributesOf(element));
  });
  sweep(root, false, (element, s) => {
    if (s.chars > 0 && s.chars <= ATTRIBUTE_BLOCK_MAX_CHARS && BOILERPLATE_ATTRIBUTE.test(attributesOf(element))) return true;
    return isLinkBlock(element, s);
  });
  sweep(root, true, (element, s) => {
    if (!SHORT_LINE_TAGS.has(element.tagName) || s.chars === 0 || s.chars > SHORT_LINE_CHARS) return false;
    if (element.tagName === 'TIME') return true;
    const text = collapsedText(element);
    return BOILERPLATE_LINE.test(text) || CREDIT_LINE.test(text) || text === bylineText;
  });
}
