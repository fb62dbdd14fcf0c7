// Main-content extraction: Readability over a linkedom DOM stripped of page chrome and link lists
// first (faster, and fewer menus mistaken for content), its result pruned of the boilerplate it keeps,
// with a text-density fallback chosen per page when Readability finds nothing or far less text than
// the page's dominant content region (lists, galleries, docs). The result names the extractor used.
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { densestRegion } from './density.js';
import { elementToMarkdown, elementToText } from './markdown.js';
import { placeholdersIn } from '../../src/core/markup/placeholder.js';
import { pruneBoilerplate, pruneChrome } from './prune.js';

export type ExtractorName = 'readability+prune' | 'density';

export interface ExtractedContent {
  title?: string;
  byline?: string;
  lang?: string;
  publishedTime?: string;
  /** Main content as markdown with `<IMAGE_PLACEHOLDER>[k]` where occurrence k stood. */
  markdown: string;
  /** Plain text of the main content (no placeholders). */
  text: string;
  extractor: ExtractorName;
  /** Occurrence indexes of the placeholders in `markdown`, in order. */
  occurrences: number[];
}

/** Readability keeps less than this many characters: it probably missed the page's content. */
const SHORT_ARTICLE_CHARS = 500;
/** …and the density region has this many times more text: use the region instead. */
const FALLBACK_GAIN = 2;

function parseDocument(html: string): Document {
  return parseHTML(html).document as unknown as Document;
}

function clean(value: string | null | undefined): string | undefined {
  const text = value?.replace(/\s+/g, ' ').trim();
  return text ? text : undefined;
}

interface Candidate {
  element: Element;
  text: string;
}

function readabilityCandidate(html: string): { candidate?: Candidate; meta: Partial<ExtractedContent> } {
  const document = parseDocument(html);
  const lang = clean(document.documentElement?.getAttribute('lang'));
  pruneChrome(document.body ?? document.documentElement);
  let article: ReturnType<Readability<Element>['parse']> = null;
  try {
    article = new Readability<Element>(document, { keepClasses: true, serializer: (node) => node as Element }).parse();
  } catch {
    article = null;
  }
  const meta: Partial<ExtractedContent> = {
    title: clean(article?.title) ?? clean(document.title),
    byline: clean(article?.byline),
    lang: clean(article?.lang) ?? lang,
    publishedTime: clean(article?.publishedTime),
  };
  if (!article?.content) return { meta };
  pruneBoilerplate(article.content, meta.byline);
  return { candidate: { element: article.content, text: elementToText(article.content) }, meta };
}

function densityCandidate(html: string): Candidate | undefined {
  const region = densestRegion(parseDocument(html));
  if (!region) return undefined;
  pruneBoilerplate(region);
  return { element: region, text: elementToText(region) };
}

/** Extracts the main content of an HTML page (marked by findPageImages for placeholders). */
export function extractMainContent(html: string): ExtractedContent {
  const { candidate: readable, meta } = readabilityCandidate(html);
  let chosen: Candidate | undefined = readable;
  let extractor: ExtractorName = 'readability+prune';
  if (!readable || readable.text.length < SHORT_ARTICLE_CHARS) {
    const dense = densityCandidate(html);
    if (dense && dense.text.length >= FALLBACK_GAIN * (readable?.text.length ?? 0) && dense.text.length > 0) {
      chosen = dense;
      extractor = 'density';
    }
  }
  const markdown = chosen ? elementToMarkdown(chosen.element) : '';
  return { ...meta, markdown, text: chosen?.text ?? '', extractor, occurrences: placeholdersIn(markdown) };
}
