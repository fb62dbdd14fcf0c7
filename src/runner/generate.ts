// Multi-modal answer generation.
//   single — one prompt with the pages and numbered image references; the model cites images as
//            `![short caption](images/k.ext)`; post-processing drops out-of-range and repeated
//            citations and renders figure blocks.
//   multi  — M2RAG's multi-stage: (1) a text-only answer; (2) per image, the answer line to insert
//            it before, or none; (3) the text around each inserted image refined to refer to it.
//   text   — the text-only baseline.
// Without an LLM, `extractive`: the query's best sentences from the top chunks, each image placed
// after the sentence its description matches best. It is labelled `method: "extractive"`.
import type { ChatMessage, ChatModel } from '../models/types.js';
import { contentTerms, termCoverage } from '../../scorers/calibration.js';
import { parseRubricScore } from '../../scorers/rubrics.js';
import { figureBlock, postProcessAnswer, tidy, type ImageRef } from './citations.js';
import { PLACEHOLDER_PATTERN, withoutPlaceholders } from '../core/markup/placeholder.js';

export type Strategy = 'single' | 'multi' | 'text';
export const GENERATION_PROMPT_VERSION = 'm2rag-generate-v1';

export interface GenerationImage extends ImageRef {
  description: string;
  context: string;
}

export interface GenerationInput {
  question: string;
  chunks: Array<{ id: string; text: string }>;
  images: GenerationImage[];
}

export interface GenerationOutput {
  method: 'llm-single-stage' | 'llm-multi-stage' | 'llm-text-only' | 'extractive';
  output: string;
  /** 1-based indexes into input.images, in order of appearance. */
  cited: number[];
  prompt?: string;
  usage: { promptTokens: number; completionTokens: number };
  inputHash: string;
  counts: Record<string, number>;
}

function contextBlock(input: GenerationInput): string {
  return input.chunks.map((c, i) => `[${i + 1}] ${withoutPlaceholders(c.text).trim()}`).join('\n\n');
}

function imageList(images: GenerationImage[]): string {
  return images.map((img, i) => `Image ${i + 1} (images/${i + 1}.${img.ext}): ${img.description || img.context || 'no description'}`).join('\n');
}

export function singleStagePrompt(input: GenerationInput): string {
  return [
    'Answer the question using the web page passages and the images below. Write a clear, well-organized markdown answer.',
    'Where an image helps the reader, insert it on its own line as ![short caption](images/k.ext), with k the image number from the list.',
    'Use each image at most once, only images from the list, and only where it fits the text next to it.',
    '',
    `Question: ${input.question}`,
    '',
    `Passages:\n${contextBlock(input)}`,
    '',
    `Images:\n${input.images.length ? imageList(input.images) : '(none)'}`,
  ].join('\n');
}

function textOnlyPrompt(input: GenerationInput): string {
  return [
    'Answer the question using the web page passages below. Write a clear, well-organized markdown answer of a few paragraphs.',
    '',
    `Question: ${input.question}`,
    '',
    `Passages:\n${contextBlock(input)}`,
  ].join('\n');
}

class Usage {
  promptTokens = 0;
  completionTokens = 0;
  hashes: string[] = [];

  async ask(llm: ChatModel, prompt: string, maxTokens: number): Promise<string> {
    const messages: ChatMessage[] = [{ role: 'user', content: prompt }];
    const reply = await llm.chat({ messages, maxTokens, temperature: 0 });
    this.promptTokens += reply.usage?.promptTokens ?? 0;
    this.completionTokens += reply.usage?.completionTokens ?? 0;
    this.hashes.push(reply.inputHash);
    return reply.text;
  }
}

export async function generateWithLlm(llm: ChatModel, strategy: Strategy, input: GenerationInput, maxTokens: number): Promise<GenerationOutput> {
  const usage = new Usage();
  const done = (method: GenerationOutput['method'], output: string, cited: number[], prompt: string, counts: Record<string, number>): GenerationOutput => ({
    method,
    output,
    cited,
    prompt,
    usage: { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens },
    inputHash: usage.hashes.join(','),
    counts,
  });
  if (strategy === 'text') {
    const prompt = textOnlyPrompt(input);
    const answer = await usage.ask(llm, prompt, maxTokens);
    // A text-only answer carries no images, even if the model wrote some.
    const stripped = postProcessAnswer(answer, []);
    return done('llm-text-only', stripped.text, [], prompt, { 'citations-removed': stripped.outOfRange + stripped.repeated });
  }
  if (strategy === 'single') {
    const prompt = singleStagePrompt(input);
    const answer = await usage.ask(llm, prompt, maxTokens);
    const processed = postProcessAnswer(answer, input.images);
    return done('llm-single-stage', processed.text, processed.cited, prompt, {
      'citations-out-of-range': processed.outOfRange,
      'citations-repeated': processed.repeated,
    });
  }
  return multiStage(llm, input, maxTokens, usage, done);
}

async function multiStage(
  llm: ChatModel,
  input: GenerationInput,
  maxTokens: number,
  usage: Usage,
  done: (method: GenerationOutput['method'], output: string, cited: number[], prompt: string, counts: Record<string, number>) => GenerationOutput,
): Promise<GenerationOutput> {
  const counts: Record<string, number> = { 'images-placed': 0, 'images-not-placed': 0, 'placement-failed': 0, 'refine-failed': 0 };
  const prompt = textOnlyPrompt(input);
  const draft = postProcessAnswer(await usage.ask(llm, prompt, maxTokens), []).text;
  const lines = draft.split(/\n{2,}/).map((l) => l.trim()).filter(Boolean);
  const numbered = lines.map((l, i) => `${i + 1}: ${l}`).join('\n');
  // Stage 2: each image picks the line it goes before (0 = nowhere).
  const placements = await Promise.all(
    input.images.map(async (image, i) => {
      try {
        const reply = await usage.ask(
          llm,
          `Here is an answer to the question "${input.question}", one numbered paragraph a line:\n${numbered}\n\n` +
            `Image: ${image.description || image.context}\n` +
            `Before which paragraph should this image be inserted so it illustrates the text next to it? Reply with the paragraph number, or 0 if the image does not fit anywhere.`,
          16,
        );
        const judgment = parseRubricScore(reply, 0, Number.MAX_SAFE_INTEGER);
        if (!judgment.ok) {
          counts['placement-failed']!++;
          return { index: i + 1, before: 0 };
        }
        return { index: i + 1, before: judgment.score <= lines.length ? judgment.score : 0 };
      } catch {
        counts['placement-failed']!++;
        return { index: i + 1, before: 0 };
      }
    }),
  );
  // Stage 3: the paragraph each image goes before is refined to refer to it.
  const refined = [...lines];
  const imagesBefore = new Map<number, number[]>();
  for (const p of placements) {
    if (p.before === 0) {
      counts['images-not-placed']!++;
      continue;
    }
    counts['images-placed']!++;
    imagesBefore.set(p.before, [...(imagesBefore.get(p.before) ?? []), p.index]);
  }
  await Promise.all(
    [...imagesBefore].map(async ([before, indexes]) => {
      const described = indexes.map((k) => input.images[k - 1]!.description || input.images[k - 1]!.context).join('; ');
      try {
        const text = await usage.ask(
          llm,
          `Rewrite this paragraph so that it refers to the image shown just before it (${described}). Keep its facts and length; reply with the paragraph only.\n\n${lines[before - 1]}`,
          maxTokens,
        );
        if (text.trim()) refined[before - 1] = text.trim();
      } catch {
        // The unrefined paragraph stays; the failure is counted.
        counts['refine-failed']!++;
      }
    }),
  );
  const cited: number[] = [];
  const parts: string[] = [];
  refined.forEach((paragraph, i) => {
    for (const k of imagesBefore.get(i + 1) ?? []) {
      cited.push(k);
      const image = input.images[k - 1]!;
      parts.push(figureBlock(k, cited.length, image, shortCaption(image.description || image.context)));
    }
    parts.push(paragraph);
  });
  return done('llm-multi-stage', tidy(parts.join('\n\n')), cited, prompt, counts);
}

export function shortCaption(text: string, words = 12): string {
  const firstSentence = text.split(/(?<=[.!?])\s/)[0] ?? text;
  const list = firstSentence.replace(/\s+/g, ' ').trim().split(' ');
  return list.length > words ? list.slice(0, words).join(' ') + '…' : list.join(' ');
}

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

/** The model-free generator: best sentences of the top chunks in order, images after the sentence they match best. */
export function generateExtractive(strategy: Strategy, input: GenerationInput, maxSentences = 6): GenerationOutput {
  const candidates: Array<{ text: string; order: number; score: number }> = [];
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
  const chosen = [...candidates].sort((a, b) => b.score - a.score || a.order - b.order).slice(0, maxSentences).sort((a, b) => a.order - b.order);
  const images = strategy === 'text' ? [] : input.images;
  const after = new Map<number, number[]>();
  images.forEach((image, i) => {
    const about = `${image.description} ${image.context}`;
    let best = 0;
    let bestScore = -1;
    chosen.forEach((sentence, s) => {
      const terms = contentTerms(sentence.text);
      const score = [...contentTerms(about)].filter((t) => terms.has(t)).length;
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    });
    after.set(best, [...(after.get(best) ?? []), i + 1]);
  });
  const cited: number[] = [];
  const parts: string[] = [];
  let paragraph: string[] = [];
  chosen.forEach((sentence, s) => {
    paragraph.push(sentence.text);
    const images = after.get(s) ?? [];
    if (images.length === 0) return;
    parts.push(paragraph.join(' '));
    paragraph = [];
    for (const k of images) {
      cited.push(k);
      const image = input.images[k - 1]!;
      parts.push(figureBlock(k, cited.length, image, shortCaption(image.description || image.context)));
    }
  });
  if (paragraph.length > 0) parts.push(paragraph.join(' '));
  if (chosen.length === 0) {
    // No usable sentence: the images alone, still cited, so nothing retrieved is silently lost.
    images.forEach((image, i) => {
      cited.push(i + 1);
      parts.push(figureBlock(i + 1, cited.length, image, shortCaption(image.description || image.context)));
    });
  }
  return {
    method: 'extractive',
    output: tidy(parts.join('\n\n')),
    cited,
    usage: { promptTokens: 0, completionTokens: 0 },
    inputHash: '',
    counts: { 'sentences-extracted': chosen.length, ...(chosen.length === 0 ? { 'no-usable-sentence': 1 } : {}) },
  };
}
