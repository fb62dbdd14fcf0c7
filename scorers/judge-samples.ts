// What the M2RAG judges read of one answer, built as the reference's prepare_evaluate_sample does:
// the answer's text with its images taken out (the response the text metrics judge), and for each
// cited image the answer's text above and below it, cut to 256 tokens each (max_context_tokens 512,
// halved), the text above keeping its end and the text below its start. Text metrics' retrieved
// contexts are the text of each input page, then the description of each cited image.
import { takeFirstTokens, takeLastTokens } from '../src/core/text/tokens.js';
import { IMAGE_CONTEXT_TOKENS } from './m2rag-metrics.js';

/** An image in an answer: `![caption](images/k.ext)`, with the figure line our post-processing writes under it. */
const IMAGE_MARK = /!\[[^\]]*\]\(\s*(?:\.\/)?images\/(\d+)(?:\.[A-Za-z0-9]+)?\s*\)(?:\n\*Figure \d+:[^\n]*\*)?/g;

export interface ImageSample {
  imageId: string;
  above: string;
  below: string;
}

export interface AnswerSample {
  /** The answer without its images. */
  text: string;
  /** Each cited image placed in the answer, in answer order, with the text around it. */
  images: ImageSample[];
  /** Cited images the answer does not show (they cannot be judged in place). */
  unplaced: string[];
}

const tidy = (text: string): string => text.replace(/\n{3,}/g, '\n\n').trim();

/**
 * Splits an answer at its cited images. `images/k` names input image k (1-based, `inputImageIds[k - 1]`);
 * a mark of an image that is not cited, or cited again, is taken out with the text left joined, as the
 * reference ignores redundant placeholders.
 */
export function answerSample(answer: string, inputImageIds: string[], citedImageIds: string[], tokens = IMAGE_CONTEXT_TOKENS): AnswerSample {
  const cited = new Set(citedImageIds);
  const pieces: string[] = [];
  const placed: string[] = [];
  let last = 0;
  let current = '';
  for (const match of answer.matchAll(IMAGE_MARK)) {
    current += answer.slice(last, match.index);
    last = match.index + match[0].length;
    const imageId = inputImageIds[Number(match[1]) - 1];
    if (imageId === undefined || !cited.has(imageId) || placed.includes(imageId)) continue;
    pieces.push(current);
    placed.push(imageId);
    current = '';
  }
  pieces.push(current + answer.slice(last));
  const images = placed.map((imageId, i) => ({
    imageId,
    above: takeLastTokens(tidy(pieces.slice(0, i + 1).join('')), tokens),
    below: takeFirstTokens(tidy(pieces.slice(i + 1).join('')), tokens),
  }));
  return { text: tidy(pieces.join('')), images, unplaced: citedImageIds.filter((id) => !placed.includes(id)) };
}

/** The retrieved contexts of ragas' metrics: each page's input text (chunks joined in input order), then each cited image's description. */
export function retrievedContexts(chunks: Array<{ pageId: string; text: string }>, citedDescriptions: Array<string | undefined>): string[] {
  const byPage = new Map<string, string[]>();
  for (const chunk of chunks) byPage.set(chunk.pageId, [...(byPage.get(chunk.pageId) ?? []), chunk.text]);
  return [...[...byPage.values()].map((texts) => texts.join('\n')), ...citedDescriptions.filter((d): d is string => Boolean(d))];
}
