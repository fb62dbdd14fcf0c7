// The textual context of one image occurrence, read from the page's markdown (where text
// extraction put `<IMAGE_PLACEHOLDER>[k]` exactly where occurrence k stood): the nearest heading
// above, the text above and below trimmed to token budgets with other placeholders removed, and a
// caption. Pure functions over strings, so they can be tested on real pages without a store.
import type { Occurrence, OccurrenceContext } from '../../storage/index.js';
import { takeFirstTokens, takeLastTokens } from '../../src/core/text/tokens.js';
import { PLACEHOLDER_PATTERN, placeholderOf } from '../../src/core/markup/placeholder.js';

export interface ContextBudget {
  tokensAbove: number;
  tokensBelow: number;
}

export interface MarkdownContext {
  /** Whether `<IMAGE_PLACEHOLDER>[k]` is in the markdown at all. */
  found: boolean;
  heading?: string;
  above?: string;
  below?: string;
  /** The short line standing right under the image, when the image is a block of its own. */
  adjacentCaption?: string;
}

const ATX_HEADING = /^ {0,3}#{1,6}\s+(.+?)(?:\s+#+)?\s*$/;
const SETEXT_UNDERLINE = /^ {0,3}(?:=+|-+)\s*$/;
const NOT_A_CAPTION = /^\s*(?:#|\||>|[-*+]\s|\d+[.)]\s|```)/;
const CAPTION_MAX_WORDS = 25;
/** Characters per token is rarely above 6; slicing first keeps tokenizing a long page cheap. */
const CHARS_PER_TOKEN_BOUND = 16;

/** Markdown reduced to readable text: links become their text, images and other placeholders go. */
export function readableText(markdown: string): string {
  return markdown
    .replace(PLACEHOLDER_PATTERN, '')
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]*)\]\((?:[^()\s]|\([^()]*\))*(?:\s+"[^"]*")?\)/g, '$1')
    .replace(/\\([\\`*_{}[\]()#+\-.!|<>])/g, '$1')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function headingText(raw: string): string {
  return readableText(raw)
    .replace(/[*_`]+/g, '')
    .trim();
}

/** The nearest ATX (`## x`) or setext (`x` over `===`/`---`) heading in `before`, scanning upward. */
export function nearestHeadingAbove(before: string): string | undefined {
  const lines = before.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    const atx = ATX_HEADING.exec(line);
    if (atx) return headingText(atx[1]!) || undefined;
    if (i > 0 && SETEXT_UNDERLINE.test(line) && lines[i - 1]!.trim() !== '' && !SETEXT_UNDERLINE.test(lines[i - 1]!)) {
      return headingText(lines[i - 1]!) || undefined;
    }
  }
  return undefined;
}

function lastTokens(text: string, budget: number): string {
  const sliced = text.length > budget * CHARS_PER_TOKEN_BOUND ? text.slice(-budget * CHARS_PER_TOKEN_BOUND).replace(/^\S*\s/, '') : text;
  return takeLastTokens(sliced, budget).trim();
}

function firstTokens(text: string, budget: number): string {
  const sliced = text.length > budget * CHARS_PER_TOKEN_BOUND ? text.slice(0, budget * CHARS_PER_TOKEN_BOUND).replace(/\s\S*$/, '') : text;
  return takeFirstTokens(sliced, budget).trim();
}

function adjacentCaptionOf(lineBefore: string, after: string): string | undefined {
  // An image inside a sentence has no caption of its own.
  if (lineBefore.replace(PLACEHOLDER_PATTERN, '').trim() !== '') return undefined;
  const restOfLine = after.split('\n', 1)[0]!.replace(PLACEHOLDER_PATTERN, '').trim();
  let candidate = restOfLine;
  if (candidate === '') {
    const nextBlock = after.replace(/^[^\n]*\n/, '').replace(/^\s*\n/, '').split(/\n\s*\n/, 1)[0] ?? '';
    candidate = nextBlock.replace(PLACEHOLDER_PATTERN, '').trim();
  }
  if (candidate === '' || NOT_A_CAPTION.test(candidate) || candidate.includes('\n')) return undefined;
  const text = readableText(candidate).replace(/\s+/g, ' ');
  const words = text.split(/\s+/).filter(Boolean);
  return words.length > 0 && words.length <= CAPTION_MAX_WORDS ? text : undefined;
}

/** Context of occurrence `k` in a page's markdown (with `<IMAGE_PLACEHOLDER>[k]` markers). */
export function extractMarkdownContext(markdown: string, k: number, budget: ContextBudget): MarkdownContext {
  const marker = placeholderOf(k);
  const at = markdown.indexOf(marker);
  if (at < 0) return { found: false };
  const before = markdown.slice(0, at);
  const after = markdown.slice(at + marker.length);
  const heading = nearestHeadingAbove(before);
  const above = lastTokens(readableText(before), budget.tokensAbove);
  const below = firstTokens(readableText(after), budget.tokensBelow);
  const adjacentCaption = adjacentCaptionOf(before.slice(before.lastIndexOf('\n') + 1), after);
  return {
    found: true,
    ...(heading ? { heading } : {}),
    ...(above ? { above } : {}),
    ...(below ? { below } : {}),
    ...(adjacentCaption ? { adjacentCaption } : {}),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.replace(/\s+/g, ' ').trim();
  return trimmed ? trimmed : undefined;
}

export interface OccurrenceContextInput {
  occurrence: Occurrence;
  /** The page's markdown; undefined when text extraction produced none. */
  markdown?: string;
  /** The chunk whose occurrenceIds list this occurrence. */
  chunkId?: string;
  budget: ContextBudget;
}

/**
 * The full context of one occurrence. Page images take the markdown context around their
 * placeholder; og:image (no placeholder) takes the page's opening text; auxiliary images from image
 * search take the search result's title and snippet (the snippet as the text below).
 */
export function buildOccurrenceContext({ occurrence, markdown, chunkId, budget }: OccurrenceContextInput): OccurrenceContext {
  const { attributes } = occurrence;
  const context: OccurrenceContext = {};
  const alt = nonEmpty(attributes.alt);
  const title = nonEmpty(attributes.title);
  if (alt) context.alt = alt;
  if (title) context.title = title;
  if (occurrence.kind === 'auxiliary') {
    const snippet = nonEmpty(attributes.snippet);
    if (snippet) context.below = firstTokens(snippet, budget.tokensBelow);
    return context;
  }
  const figcaption = nonEmpty(attributes.figcaption);
  if (figcaption) {
    context.figcaption = figcaption;
    context.captionSource = 'figcaption';
  }
  if (chunkId) context.chunkId = chunkId;
  if (markdown === undefined) return context;
  if (occurrence.domPath?.startsWith('head>')) {
    const lead = firstTokens(readableText(markdown), budget.tokensBelow);
    if (lead) context.below = lead;
    return context;
  }
  const found = extractMarkdownContext(markdown, occurrence.index, budget);
  context.inMainContent = found.found;
  if (found.heading) context.heading = found.heading;
  if (found.above) context.above = found.above;
  if (found.below) context.below = found.below;
  if (!context.figcaption && found.adjacentCaption) {
    context.figcaption = found.adjacentCaption;
    context.captionSource = 'adjacent-text';
  }
  return context;
}
