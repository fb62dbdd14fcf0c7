// Finds the images a page uses, in document order, and marks each `<img>` with its occurrence index
// (`data-m2rag-occurrence="k"`). The crawler stores the marked HTML, so text extraction later puts
// `<IMAGE_PLACEHOLDER>[k]` exactly where occurrence k stood, with no second guess at which image is which.
import type { CheerioAPI } from 'cheerio';
import type { Element } from 'domhandler';
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
}

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

function domPathOf(element: Element): string {
  const parts: string[] = [];
  let node: Element | null = element;
  while (node && node.type === 'tag') {
    const tag = node.tagName.toLowerCase();
    const parent = node.parent as Element | null;
    const siblings = parent && 'children' in parent ? (parent.children as Element[]).filter((c) => c.type === 'tag' && c.tagName === node!.tagName) : [];
    parts.unshift(siblings.length > 1 ? `${tag}:nth-of-type(${siblings.indexOf(node) + 1})` : tag);
    node = parent && parent.type === 'tag' ? parent : null;
  }
  return parts.join('>');
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

function attributesOf($: CheerioAPI, img: Element): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const name of ['alt', 'title', 'width', 'height', 'class', 'id', 'loading', 'srcset', 'role', 'aria-hidden']) {
    const value = img.attribs[name];
    if (value !== undefined) attributes[name] = value;
  }
  const figure = ancestor(img, 'figure');
  if (figure) {
    attributes.inFigure = 'true';
    const caption = $(figure).find('figcaption').first().text().replace(/\s+/g, ' ').trim();
    if (caption) attributes.figcaption = caption;
  }
  if (pictureOf(img)) attributes.inPicture = 'true';
  const link = ancestor(img, 'a', 'href');
  if (link) attributes.linkHref = link.attribs.href!;
  return attributes;
}

/**
 * Lists the page's images in document order and marks each `<img>` with its occurrence index.
 * Call it on the DOM whose HTML is then stored; the marks are what extraction reads.
 */
export function findPageImages($: CheerioAPI, baseUrl: string): PageImageScan {
  const images: PageImage[] = [];
  const skipped: PageImageScan['skipped'] = [];
  $('img').each((_, element) => {
    const domPath = domPathOf(element);
    const { raw, source } = chooseSource(element.attribs, pictureSrcsetsOf(element));
    const url = resolveHttpUrl(raw, baseUrl);
    if (!url) {
      skipped.push({ domPath, reason: raw ? (raw.trim().startsWith('data:') ? 'inline-data-uri' : 'unsupported-url') : 'no-src' });
      return;
    }
    element.attribs[OCCURRENCE_ATTRIBUTE] = String(images.length);
    images.push({ index: images.length, url, source, domPath, attributes: attributesOf($, element) });
  });
  const ogImage = resolveHttpUrl($('meta[property="og:image"]').attr('content'), baseUrl);
  if (ogImage && !images.some((image) => image.url === ogImage)) {
    images.push({ index: images.length, url: ogImage, source: 'og:image', domPath: 'head>meta[property=og:image]', attributes: {} });
  }
  return { images, skipped };
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
