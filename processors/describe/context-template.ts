// The embedded, model-free describer (`method: "context-template"`): it composes a description from
// what the page says about the image (alt, title, figcaption, nearest heading), the text OCR reads in
// it, and the context sentences most related to those (by embedding similarity). It never claims to
// have seen the image: every part is quoted from a named source.
import type { OcrLine, TextEmbedder } from '../../src/models/types.js';
import { ocrText } from '../../src/models/ocr-text-embedder.js';
import type { DescribeContext } from './contexts.js';
import { PLACEHOLDER_PATTERN } from '../../src/core/markup/placeholder.js';

export const CONTEXT_TEMPLATE_VERSION = 'context-template-v3';

const MAX_SENTENCES = 2;
/** Cosine similarity a context sentence needs to the image's own text to be quoted. */
const MIN_SENTENCE_SIMILARITY = 0.25;
const MAX_SENTENCE_CHARS = 300;
const MAX_CANDIDATE_SENTENCES = 40;

export interface TemplateDescription {
  text: string;
  /** The parts used, in order: figcaption, alt, title, file-name, snippet, heading, ocr, context. */
  sources: string[];
}

/** Abbreviations and initials a sentence does not end at ("B.B. King", "No. 1", "Mr. Charles"). */
const NOT_AN_END = /(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|No|Nos|vs|Vol|pp|ca|approx|U\.S|Inc|Ltd|Co|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec))\.$/;

function plainText(markdown: string): string {
  return markdown
    .replace(PLACEHOLDER_PATTERN, ' ')
    .replace(/!\[[^\]]*\]\([^)]*\)/g, ' ')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[\d+\]/g, '')
    .replace(/[*`]+|(?<![\p{L}\p{N}])_+|_+(?![\p{L}\p{N}])/gu, '')
    .replace(/[|>]+/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .trim();
}

function splitSentences(paragraph: string): string[] {
  const pieces = paragraph.split(/(?<=[.!?]["”’)]?)\s+(?=["“(]?[A-Z0-9])/);
  const sentences: string[] = [];
  for (const piece of pieces) {
    const previous = sentences[sentences.length - 1];
    if (previous !== undefined && NOT_AN_END.test(previous)) sentences[sentences.length - 1] = `${previous} ${piece}`;
    else sentences.push(piece);
  }
  return sentences.map((s) => s.trim()).filter(Boolean);
}

/**
 * Plain sentences of markdown context (placeholders, links, emphasis, citation marks removed), one
 * list per paragraph or line, so a caption line never merges into the prose around it. `cut:
 * 'start'` drops the partial sentence where the text above was cut (a cut end has no full stop).
 */
export function contextSentences(markdown: string, cut: 'start' | 'none' = 'none'): string[] {
  const sentences = plainText(markdown)
    .split(/\n+/)
    .filter((line) => !/^#/.test(line.trim()))
    .flatMap((line) => splitSentences(line.trim()));
  if (cut === 'start' && sentences.length > 0 && !/^["“(]?[A-Z0-9]/.test(sentences[0]!)) sentences.shift();
  // Prose only: lines without a full stop are captions of other images, list items or infobox fields.
  return sentences
    .filter((s) => s.length >= 20 && /\p{L}{3}/u.test(s) && /[.!?]["”’)]?$/.test(s))
    .map((s) => (s.length > MAX_SENTENCE_CHARS ? s.slice(0, MAX_SENTENCE_CHARS).trimEnd() + '…' : s));
}

function normalizedWords(text: string): string {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).join(' ');
}

/** A sentence that only repeats a label (the caption standing as its own line, say) adds nothing. */
function repeatsLabel(sentence: string, labels: string[]): boolean {
  const s = normalizedWords(sentence);
  return labels.some((label) => {
    const l = normalizedWords(label);
    return l.length > 0 && (l.includes(s) || (l.length >= 20 && s.includes(l)));
  });
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}

/** Labels that say the same thing only once (a caption that contains the alt text keeps the caption). */
function distinct(values: Array<[source: string, text: string | undefined]>): Array<[string, string]> {
  const kept: Array<[string, string]> = [];
  for (const [source, text] of values) {
    if (!text) continue;
    const lower = text.toLowerCase();
    if (kept.some(([, k]) => k.toLowerCase().includes(lower))) continue;
    for (let i = kept.length - 1; i >= 0; i--) if (lower.includes(kept[i]![1].toLowerCase())) kept.splice(i, 1);
    kept.push([source, text]);
  }
  return kept;
}

function sentence(text: string): string {
  return /[.!?…"”]$/.test(text) ? text : text + '.';
}

export async function composeDescription(context: DescribeContext, ocrLines: OcrLine[], embedder: TextEmbedder): Promise<TemplateDescription> {
  const sources: string[] = [];
  const parts: string[] = [];
  const labels = distinct([
    ['figcaption', context.figcaption],
    ['alt', context.alt],
    ['title', context.title],
  ]);
  if (labels.length > 0) {
    parts.push(sentence(labels.map(([, text]) => text).join(' — ')));
    sources.push(...labels.map(([source]) => source));
  } else if (context.fileName) {
    parts.push(`Image file "${context.fileName}".`);
    sources.push('file-name');
  }
  // An auxiliary image's search phrase is our own text, not evidence about the image: echoed into the
  // description, it made every such image look relevant to its query to the scorer and the reranker.
  // The search result's snippet is the site's text about the image, so it stays.
  if (context.kind === 'auxiliary' && context.snippet) {
    parts.push(sentence(`Search snippet: ${context.snippet}`));
    sources.push('snippet');
  }
  if (context.heading) {
    parts.push(`In the section "${context.heading}".`);
    sources.push('heading');
  }
  const recognized = ocrText(ocrLines);
  if (recognized) {
    parts.push(`Text in the image: "${recognized}".`);
    sources.push('ocr');
  }

  const labelTexts = labels.map(([, text]) => text);
  const above = contextSentences(context.above ?? '', 'start').filter((s) => !repeatsLabel(s, labelTexts));
  const below = contextSentences(context.below ?? '').filter((s) => !repeatsLabel(s, labelTexts));
  // Nearest sentences first, so the candidate cap drops the far ones.
  const candidates = [...above.slice(-MAX_CANDIDATE_SENTENCES / 2), ...below.slice(0, MAX_CANDIDATE_SENTENCES / 2)];
  if (candidates.length > 0) {
    const anchorParts = [context.figcaption, context.alt, context.title, context.heading, recognized, context.snippet].filter(Boolean);
    const hasAnchor = anchorParts.length > 0;
    const anchor = hasAnchor ? anchorParts.join('. ') : (context.fileName ?? '');
    const [anchorVector, ...vectors] = await embedder.embedTexts([anchor, ...candidates]);
    const ranked = candidates
      .map((text, i) => ({ text, i, similarity: cosine(anchorVector!, vectors[i]!) }))
      .filter((c) => !hasAnchor || c.similarity >= MIN_SENTENCE_SIMILARITY)
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, MAX_SENTENCES)
      .sort((a, b) => a.i - b.i);
    if (ranked.length > 0) {
      parts.push(`Context: ${ranked.map((c) => sentence(c.text)).join(' ')}`);
      sources.push('context');
    }
  }
  return { text: parts.join(' '), sources };
}
