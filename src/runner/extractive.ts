// The model-free generator, `extractive`: the query's best sentences from the top chunks, in their
// order, each image placed after the sentence its description matches best. It is labelled
// `method: "extractive"`, since it is not a model-written answer.
import { contentTerms, termCoverage } from '../../scorers/calibration.js';
import { PLACEHOLDER_PATTERN } from '../core/markup/placeholder.js';
import { figureOf, tidy } from './citations.js';
import type { GenerationImage, GenerationInput, GenerationOutput, Strategy } from './generate.js';

interface Sentence {
  text: string;
  /** Position in the retrieved text: chunk rank, then place in the chunk. */
  order: number;
  score: number;
}

/** The prose sentences of a chunk: markup, placeholders, links and list markers removed. */
function sentencesOf(text: string): string[] {
  return text
    .replace(PLACEHOLDER_PATTERN, ' ')
    .replace(/!\[[^\]]*\]\([^)]*\)/g, ' ')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\\?\[\d+\\?\]/g, '')
    .replace(/\\([\[\]*_])/g, '$1')
    .replace(/\*{1,3}([^*\n]+)\*{1,3}/g, '$1')
    .replace(/^\s*(?:#+|[-*+]|\d+\.)\s+/gm, '')
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s.length >= 30 && s.length <= 600 && /[a-z]/i.test(s));
}

/** The distinct sentences covering most of the question, back in retrieval order. */
function bestSentences(input: GenerationInput, maxSentences: number): Sentence[] {
  const candidates: Sentence[] = [];
  const seen = new Set<string>();
  input.chunks.forEach((chunk, c) => {
    sentencesOf(chunk.text).forEach((sentence, s) => {
      const key = sentence.toLowerCase();
      if (seen.has(key)) return;
      seen.add(key);
      // Earlier chunks ranked higher in retrieval: a small bonus keeps their sentences first on ties.
      candidates.push({ text: sentence, order: c * 1000 + s, score: termCoverage(input.question, sentence) + 0.05 / (c + 1) });
    });
  });
  return candidates
    .sort((a, b) => b.score - a.score || a.order - b.order)
    .slice(0, maxSentences)
    .sort((a, b) => a.order - b.order);
}

/** For each sentence (by position), the images (1-based) whose description and context share the most words with it. */
function imagesAfterSentences(sentences: Sentence[], images: GenerationImage[]): Map<number, number[]> {
  const after = new Map<number, number[]>();
  images.forEach((image, i) => {
    const about = contentTerms(`${image.description} ${image.context}`);
    let best = 0;
    let bestScore = -1;
    sentences.forEach((sentence, s) => {
      const terms = contentTerms(sentence.text);
      const score = [...about].filter((t) => terms.has(t)).length;
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    });
    after.set(best, [...(after.get(best) ?? []), i + 1]);
  });
  return after;
}

export function generateExtractive(strategy: Strategy, input: GenerationInput, maxSentences = 6): GenerationOutput {
  const sentences = bestSentences(input, maxSentences);
  const images = strategy === 'text' ? [] : input.images;
  const cited: number[] = [];
  const parts: string[] = [];
  const cite = (k: number): void => {
    cited.push(k);
    parts.push(figureOf(k, cited.length, images[k - 1]!));
  };
  if (sentences.length === 0) {
    // No usable sentence: the images alone, still cited, so nothing retrieved is silently lost.
    images.forEach((_, i) => cite(i + 1));
  } else {
    const after = imagesAfterSentences(sentences, images);
    let paragraph: string[] = [];
    sentences.forEach((sentence, s) => {
      paragraph.push(sentence.text);
      const placed = after.get(s) ?? [];
      if (placed.length === 0) return;
      parts.push(paragraph.join(' '));
      paragraph = [];
      placed.forEach(cite);
    });
    if (paragraph.length > 0) parts.push(paragraph.join(' '));
  }
  return {
    method: 'extractive',
    output: tidy(parts.join('\n\n')),
    cited,
    usage: { promptTokens: 0, completionTokens: 0 },
    inputHash: '',
    counts: { 'sentences-extracted': sentences.length, ...(sentences.length === 0 ? { 'no-usable-sentence': 1 } : {}) },
  };
}
