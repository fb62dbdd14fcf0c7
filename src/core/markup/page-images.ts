// Finds the images a page uses, in document order, and marks each `<img>` with its occurrence index
// (`data-m2rag-occurrence="k"`). The crawler stores the marked HTML, so text extraction later puts
// `<IMAGE_PLACEHOLDER>[k]` exactly where occurrence k stood, with no second guess at which image is which.
import type { CheerioAPI } from 'cheerio';
import type { AnyNode, Element, ParentNode } from 'domhandler';
import { Parser } from 'htmlparser2';
import { occurrenceIdOf, type Occurrence } from '../../../storage/index.js';

export const OCCURRENCE_ATTRIBUTE = 'data-m2rag-occurrence';

export interface PageImage {
  /** The k of `<IMAGE_PLACEHOLDER>[k]`; og:image comes after the body's images and has no placeholder. */
  index: number;
  url: string;
  source: 'img' | 'picture' | 'og:image';
  domPath: string;
  attributes: Record<string, string>;
}

export interface PageImageScan {
  images: PageImage[];
  /** `<img>` elements that name no fetchable image, with the reason (counted, never silently lost). */
  skipped: Array<{ domPath: string; reason: string }>;
  /** Images found past the page's caps, removed from the DOM unrecorded (the page's Fetch says how many). */
  beyondCaps: number;
}

/** Most images a page may contribute: occurrences in all, and distinct image URLs among them. */
export interface PageImageCaps {
  maxOccurrences: number;
  maxImages: number;
}

const NO_CAPS: PageImageCaps = { maxOccurrences: Infinity, maxImages: Infinity };

const LAZY_ATTRIBUTES = ['data-src', 'data-lazy-src', 'data-original', 'data-url', 'data-hi-res-src'];
const LAZY_SRCSET_ATTRIBUTES = ['data-srcset', 'data-lazy-srcset'];

interface SrcsetCandidate {
  url: string;
  width?: number;
  density?: number;
}

/** Parses a `srcset` value; URLs may contain commas, so split on ", " and descriptors only. */
export function parseSrcset(srcset: string): SrcsetCandidate[] {
  const candidates: SrcsetCandidate[] = [];
  for (const part of srcset.split(/,\s+|,(?=\S+\s+\d)/)) {
    const [url, descriptor] = part.trim().split(/\s+/);
    if (!url) continue;
    const width = descriptor?.endsWith('w') ? Number.parseFloat(descriptor) : undefined;
    const density = descriptor?.endsWith('x') ? Number.parseFloat(descriptor) : undefined;
    candidates.push({ url: url.replace(/,$/, ''), width, density });
  }
  return candidates;
}

/** The largest candidate: widest `w`, else densest `x`, else the first. */
export function largestSrcsetCandidate(srcset: string): string | undefined {
  const candidates = parseSrcset(srcset);
  if (candidates.length === 0) return undefined;
  const byWidth = candidates.filter((c) => c.width !== undefined).sort((a, b) => b.width! - a.width!);
  if (byWidth.length > 0) return byWidth[0]!.url;
  return [...candidates].sort((a, b) => (b.density ?? 1) - (a.density ?? 1))[0]!.url;
}

/**
 * The position of each tag among its same-name siblings, filled once per parent when first asked:
 * a path costs its depth, not the size of every sibling list it passes (a page of 100k sibling
 * `<img>` would otherwise cost 100k² steps).
 */
class SiblingPositions {
  private readonly positions = new WeakMap<Element, { nth: number; of: number }>();

  of(node: Element): { nth: number; of: number } {
    let known = this.positions.get(node);
    if (known) return known;
    const siblings = (node.parent && 'children' in node.parent ? node.parent.children : [node]) as Element[];
    const byTag = new Map<string, Element[]>();
    for (const sibling of siblings) {
      if (sibling.type !== 'tag') continue;
      const same = byTag.get(sibling.tagName) ?? [];
      same.push(sibling);
      byTag.set(sibling.tagName, same);
    }
    for (const same of byTag.values()) same.forEach((sibling, i) => this.positions.set(sibling, { nth: i + 1, of: same.length }));
    known = this.positions.get(node)!;
    return known;
  }
}

function domPathOf(element: Element, siblings: SiblingPositions): string {
  const parts: string[] = [];
  let node: Element | null = element;
  while (node && node.type === 'tag') {
    const tag = node.tagName.toLowerCase();
    const { nth, of } = siblings.of(node);
    parts.push(of > 1 ? `${tag}:nth-of-type(${nth})` : tag);
    const parent = node.parent as Element | null;
    node = parent && parent.type === 'tag' ? parent : null;
  }
  return parts.reverse().join('>');
}

/** `raw` resolved against `baseUrl`, without its fragment, when it is an http(s) URL. */
export function resolveHttpUrl(raw: string | undefined, baseUrl: string): string | undefined {
  const trimmed = raw?.trim();
  if (!trimmed || trimmed.startsWith('data:')) return undefined;
  try {
    const url = new URL(trimmed, baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    url.hash = '';
    return url.href;
  } catch {
    return undefined;
  }
}

/** Nearest ancestor with the tag name (and the attribute, if named): a plain walk, no selector to compile. */
function ancestor(element: Element, tag: string, attribute?: string): Element | undefined {
  for (let node = element.parent; node && node.type === 'tag'; node = node.parent) {
    const candidate = node as Element;
    if (candidate.name === tag && (attribute === undefined || candidate.attribs[attribute] !== undefined)) return candidate;
  }
  return undefined;
}

function pictureOf(img: Element): Element | undefined {
  const parent = img.parent as Element | null;
  return parent?.type === 'tag' && parent.name === 'picture' ? parent : undefined;
}

/** Which URL an `<img>` names: its `<picture>`'s sources first, then srcset, lazy attributes, src. */
function chooseSource(attribs: Record<string, string>, pictureSrcsets: string[] | undefined): { raw?: string; source: 'img' | 'picture' } {
  for (const srcset of pictureSrcsets ?? []) {
    const best = largestSrcsetCandidate(srcset);
    if (best) return { raw: best, source: 'picture' };
  }
  for (const attribute of ['srcset', ...LAZY_SRCSET_ATTRIBUTES]) {
    const best = largestSrcsetCandidate(attribs[attribute] ?? '');
    if (best && !best.startsWith('data:')) return { raw: best, source: 'img' };
  }
  for (const attribute of LAZY_ATTRIBUTES) {
    const value = attribs[attribute];
    if (value) return { raw: value, source: 'img' };
  }
  return { raw: attribs.src, source: 'img' };
}

function pictureSrcsetsOf(img: Element): string[] | undefined {
  const picture = pictureOf(img);
  if (!picture) return undefined;
  return (picture.children as Element[]).filter((child) => child.type === 'tag' && child.name === 'source').map((source) => source.attribs.srcset ?? '');
}

function attributesOf($: CheerioAPI, img: Element, captions: Map<Element, string>): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const name of ['alt', 'title', 'width', 'height', 'class', 'id', 'loading', 'srcset', 'role', 'aria-hidden']) {
    const value = img.attribs[name];
    if (value !== undefined) attributes[name] = value;
  }
  const figure = ancestor(img, 'figure');
  if (figure) {
    attributes.inFigure = 'true';
    // Once per figure: a gallery figure of many images would otherwise be searched once per image.
    let caption = captions.get(figure);
    if (caption === undefined) {
      caption = $(figure).find('figcaption').first().text().replace(/\s+/g, ' ').trim();
      captions.set(figure, caption);
    }
    if (caption) attributes.figcaption = caption;
  }
  if (pictureOf(img)) attributes.inPicture = 'true';
  const link = ancestor(img, 'a', 'href');
  if (link) attributes.linkHref = link.attribs.href!;
  return attributes;
}

/**
 * Lists the page's images in document order and marks each `<img>` with its occurrence index.
 * Call it on the DOM whose HTML is then stored; the marks are what extraction reads. Past the caps,
 * images are removed from the DOM (nothing later pays for them) and only counted.
 */
/**
 * Finds and marks the page's images. `marked`, when given, receives each marked `<img>` element in
 * occurrence order (so a caller holding the page's text can mark it without serializing the DOM).
 */
export function findPageImages($: CheerioAPI, baseUrl: string, caps: PageImageCaps = NO_CAPS, marked?: Element[]): PageImageScan {
  const images: PageImage[] = [];
  const skipped: PageImageScan['skipped'] = [];
  const siblings = new SiblingPositions();
  const captions = new Map<Element, string>();
  const urls = new Set<string>();
  const pastCaps: Element[] = [];
  $('img').each((_, element) => {
    const { raw, source } = chooseSource(element.attribs, pictureSrcsetsOf(element));
    const url = resolveHttpUrl(raw, baseUrl);
    if (url && (images.length >= caps.maxOccurrences || (!urls.has(url) && urls.size >= caps.maxImages))) {
      pastCaps.push(element);
      return;
    }
    const domPath = domPathOf(element, siblings);
    if (!url) {
      skipped.push({ domPath, reason: raw ? (raw.trim().startsWith('data:') ? 'inline-data-uri' : 'unsupported-url') : 'no-src' });
      return;
    }
    urls.add(url);
    element.attribs[OCCURRENCE_ATTRIBUTE] = String(images.length);
    marked?.push(element);
    images.push({ index: images.length, url, source, domPath, attributes: attributesOf($, element, captions) });
  });
  const ogImage = resolveHttpUrl($('meta[property="og:image"]').attr('content'), baseUrl);
  if (ogImage && !urls.has(ogImage)) {
    images.push({ index: images.length, url: ogImage, source: 'og:image', domPath: 'head>meta[property=og:image]', attributes: {} });
  }
  detach(pastCaps);
  return { images, skipped, beyondCaps: pastCaps.length };
}

/** Removes elements from their parents with one pass over each parent's children (one splice each would be quadratic). */
function detach(elements: Element[]): void {
  const byParent = new Map<ParentNode, Set<AnyNode>>();
  for (const element of elements) {
    if (!element.parent) continue;
    const gone = byParent.get(element.parent) ?? new Set<AnyNode>();
    gone.add(element);
    byParent.set(element.parent, gone);
  }
  for (const [parent, gone] of byParent) {
    const kept = parent.children.filter((child) => !gone.has(child));
    kept.forEach((child, i) => {
      child.prev = kept[i - 1] ?? null;
      child.next = kept[i + 1] ?? null;
    });
    parent.children = kept;
    for (const node of gone) {
      node.parent = null;
      node.prev = null;
      node.next = null;
    }
  }
}

/** The Occurrence record of one page image: where it stood, how it was marked up, which bytes it is. */
export function pageOccurrenceOf(pageId: string, image: PageImage, imageId: string | undefined): Occurrence {
  return {
    id: occurrenceIdOf(pageId, image.index),
    kind: 'page',
    pageId,
    index: image.index,
    url: image.url,
    imageId,
    domPath: image.domPath,
    attributes: image.source === 'og:image' ? image.attributes : { ...image.attributes, source: image.source },
  };
}

/**
 * The same marks as findPageImages, inserted into the HTML text while streaming through it, with no
 * DOM built or serialized: for offline files, whose marked HTML is only parsed once more, by extraction.
 */
export function markImagesInHtml(html: string, baseUrl: string): string {
  const insertAt: number[] = [];
  const open: string[] = [];
  const pictureSrcsets: string[][] = [];
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        const parent = open.at(-1);
        if (name === 'picture') pictureSrcsets.push([]);
        else if (name === 'source' && parent === 'picture') pictureSrcsets.at(-1)!.push(attribs.srcset ?? '');
        else if (name === 'img' && resolveHttpUrl(chooseSource(attribs, parent === 'picture' ? pictureSrcsets.at(-1) : undefined).raw, baseUrl)) {
          insertAt.push(parser.startIndex + '<img'.length);
        }
        open.push(name);
      },
      onclosetag(name) {
        open.pop();
        if (name === 'picture') pictureSrcsets.pop();
      },
    },
    { decodeEntities: true },
  );
  parser.end(html);
  let marked = '';
  let from = 0;
  insertAt.forEach((at, k) => {
    marked += `${html.slice(from, at)} ${OCCURRENCE_ATTRIBUTE}="${k}"`;
    from = at;
  });
  return marked + html.slice(from);
}
