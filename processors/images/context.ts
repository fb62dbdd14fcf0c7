// The textual context of one image occurrence, read from the page's markdown (where text
// extraction put `<IMAGE_PLACEHOLDER>[k]` exactly where occurrence k stood): the nearest heading
// above, the text above and below trimmed to token budgets with other placeholders removed, and a
// caption. Pure functions over strings, so they can be tested on real pages without a store.
// A page's markdown is indexed once (placeholder positions, headings by line) and each occurrence
// reads only a window around its placeholder, so a page's occurrences cost its length, not its
// length times its images.
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
/** Raw markdown read beside a placeholder per token of budget: room for the link and placeholder markup readableText removes. */
const RAW_CHARS_PER_TOKEN = 4 * CHARS_PER_TOKEN_BOUND;
/** Raw markdown read after a placeholder for its caption (a caption is at most CAPTION_MAX_WORDS words). */
const CAPTION_WINDOW = 4096;

/** Markdown reduced to readable text: links become their text, images and other placeholders go. */
export function readableText(markdown: string): string {
  return markdown
    .replace(PLACEHOLDER_PATTERN, '')
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]*)\]\((?:[^()\s]|\([^()]*\))*(?:\s+"[^"]*")?\)/g, '$1')
    .replace(/\\([\\`*_{}[\]()#+\-.!|<>])/g, '$1')
    // Runs collapsed before trailing blanks go: `[ \t]+\n` alone backtracks quadratically over a long run.
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/[ \t]\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function headingText(raw: string): string {
  return readableText(raw)
    .replace(/[*_`]+/g, '')
    .trim();
}

/** What line `i` of `lines` says when met scanning upward for a heading: undefined when it is no heading line. */
function headingAt(lines: string[], i: number): { text?: string } | undefined {
  const line = lines[i]!;
  const atx = ATX_HEADING.exec(line);
  if (atx) return { text: headingText(atx[1]!) || undefined };
  if (i > 0 && SETEXT_UNDERLINE.test(line) && lines[i - 1]!.trim() !== '' && !SETEXT_UNDERLINE.test(lines[i - 1]!)) {
    return { text: headingText(lines[i - 1]!) || undefined };
  }
  return undefined;
}

/** The nearest ATX (`## x`) or setext (`x` over `===`/`---`) heading in `before`, scanning upward. */
export function nearestHeadingAbove(before: string): string | undefined {
  const lines = before.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const found = headingAt(lines, i);
    if (found) return found.text;
  }
  return undefined;
}

/** One page's markdown, indexed once for all its occurrences. */
interface MarkdownIndex {
  markdown: string;
  lines: string[];
  lineStarts: number[];
  /** For each line, the heading the upward scan from the end of that line finds (`null`: none). */
  headingThrough: Array<{ text?: string } | null>;
  /** Where each occurrence's first placeholder starts, and whether only blanks and placeholders precede it on its line. */
  placeholders: Map<number, { at: number; aloneOnLine: boolean }>;
}

function lineOf(index: MarkdownIndex, at: number): number {
  let low = 0;
  let high = index.lineStarts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (index.lineStarts[middle]! <= at) low = middle;
    else high = middle - 1;
  }
  return low;
}

function buildIndex(markdown: string): MarkdownIndex {
  const lines = markdown.split('\n');
  const lineStarts: number[] = [];
  const headingThrough: MarkdownIndex['headingThrough'] = [];
  let offset = 0;
  lines.forEach((line, i) => {
    lineStarts.push(offset);
    offset += line.length + 1;
    headingThrough.push(headingAt(lines, i) ?? (i > 0 ? headingThrough[i - 1]! : null));
  });
  const index: MarkdownIndex = { markdown, lines, lineStarts, headingThrough, placeholders: new Map() };
  let previousEnd = 0;
  let previousAlone = true;
  for (const match of markdown.matchAll(PLACEHOLDER_PATTERN)) {
    const at = match.index!;
    const lineStart = lineStarts[lineOf(index, at)]!;
    const gapStart = Math.max(previousEnd, lineStart);
    const blankGap = markdown.slice(gapStart, at).trim() === '';
    const aloneOnLine: boolean = blankGap && (lineStart >= previousEnd || previousAlone);
    const k = Number(match[1]);
    if (!index.placeholders.has(k)) index.placeholders.set(k, { at, aloneOnLine });
    previousEnd = at + match[0].length;
    previousAlone = aloneOnLine;
  }
  return index;
}

/** The index of the markdown last asked about: a page's occurrences come one after another. */
let lastIndex: MarkdownIndex | undefined;

function indexOf(markdown: string): MarkdownIndex {
  if (lastIndex?.markdown !== markdown) lastIndex = buildIndex(markdown);
  return lastIndex;
}

/** The heading the upward scan from `at` finds: the partial line before `at` first, then the indexed lines above. */
function headingBefore(index: MarkdownIndex, at: number): string | undefined {
  const line = lineOf(index, at);
  const partial = [...(line > 0 ? [index.lines[line - 1]!] : []), index.markdown.slice(index.lineStarts[line]!, at)];
  const own = headingAt(partial, partial.length - 1);
  if (own) return own.text;
  return line > 0 ? (index.headingThrough[line - 1]?.text ?? undefined) : undefined;
}

function lastTokens(text: string, budget: number): string {
  const sliced = text.length > budget * CHARS_PER_TOKEN_BOUND ? text.slice(-budget * CHARS_PER_TOKEN_BOUND).replace(/^\S*\s/, '') : text;
  return takeLastTokens(sliced, budget).trim();
}

function firstTokens(text: string, budget: number): string {
  const sliced = text.length > budget * CHARS_PER_TOKEN_BOUND ? text.slice(0, budget * CHARS_PER_TOKEN_BOUND).replace(/\s\S*$/, '') : text;
  return takeFirstTokens(sliced, budget).trim();
}

function adjacentCaptionOf(aloneOnLine: boolean, after: string): string | undefined {
  // An image inside a sentence has no caption of its own.
  if (!aloneOnLine) return undefined;
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

/** Up to `chars` of raw markdown before `at`, starting at a whitespace so no markup is cut in half. */
function rawBefore(markdown: string, at: number, chars: number): string {
  if (at <= chars) return markdown.slice(0, at);
  return markdown.slice(at - chars, at).replace(/^\S*/, '');
}

/** Up to `chars` of raw markdown from `from`, ending at a whitespace so no markup is cut in half. */
function rawAfter(markdown: string, from: number, chars: number): string {
  if (markdown.length - from <= chars) return markdown.slice(from);
  const window = markdown.slice(from, from + chars);
  // By hand: an unanchored /\S*$/ rescans the last word from each of its characters.
  let end = window.length;
  while (end > 0 && !/\s/.test(window[end - 1]!)) end--;
  return window.slice(0, end);
}

/** Context of occurrence `k` in a page's markdown (with `<IMAGE_PLACEHOLDER>[k]` markers). */
export function extractMarkdownContext(markdown: string, k: number, budget: ContextBudget): MarkdownContext {
  const index = indexOf(markdown);
  const placeholder = index.placeholders.get(k);
  if (!placeholder) return { found: false };
  const { at, aloneOnLine } = placeholder;
  const from = at + placeholderOf(k).length;
  const heading = headingBefore(index, at);
  const above = lastTokens(readableText(rawBefore(markdown, at, budget.tokensAbove * RAW_CHARS_PER_TOKEN)), budget.tokensAbove);
  const after = rawAfter(markdown, from, Math.max(budget.tokensBelow * RAW_CHARS_PER_TOKEN, CAPTION_WINDOW));
  const below = firstTokens(readableText(after), budget.tokensBelow);
  const adjacentCaption = adjacentCaptionOf(aloneOnLine, after);
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
    const lead = firstTokens(readableText(rawAfter(markdown, 0, budget.tokensBelow * RAW_CHARS_PER_TOKEN)), budget.tokensBelow);
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
