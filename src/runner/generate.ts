// Multi-modal answer generation with an LLM.
//   single — one prompt with the pages and numbered image references; the model cites images as
//            `![short caption](images/k.ext)`; post-processing drops out-of-range and repeated
//            citations and renders figure blocks.
//   multi  — M2RAG's multi-stage: (1) a text-only answer; (2) per image, the answer paragraph to
//            insert it before, or none; (3) each paragraph with images before it refined to refer to them.
//   text   — the text-only baseline.
// Without an LLM the runner uses the model-free generator in extractive.ts.
import type { ChatMessage, ChatModel } from '../models/types.js';
import { figureOf, postProcessAnswer, tidy, type ImageRef } from './citations.js';
import { withoutPlaceholders } from '../core/markup/placeholder.js';

export type Strategy = 'single' | 'multi' | 'text';
export type GenerationMethod = 'llm-single-stage' | 'llm-multi-stage' | 'llm-text-only' | 'extractive';
export const GENERATION_PROMPT_VERSION = 'm2rag-generate-v1';

const LLM_METHODS: Record<Strategy, GenerationMethod> = { single: 'llm-single-stage', multi: 'llm-multi-stage', text: 'llm-text-only' };

/** The method a strategy is generated with: its LLM method, or `extractive` without an LLM. */
export function generationMethodOf(strategy: Strategy, withLlm: boolean): GenerationMethod {
  return withLlm ? LLM_METHODS[strategy] : 'extractive';
}

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
  method: GenerationMethod;
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

function placementPrompt(question: string, paragraphs: string[], image: GenerationImage): string {
  return (
    `Here is an answer to the question "${question}", one numbered paragraph a line:\n${paragraphs.map((l, i) => `${i + 1}: ${l}`).join('\n')}\n\n` +
    `Image: ${image.description || image.context}\n` +
    'Before which paragraph should this image be inserted so it illustrates the text next to it? Reply with the paragraph number, or 0 if the image does not fit anywhere.'
  );
}

function refinePrompt(paragraph: string, images: GenerationImage[]): string {
  const described = images.map((image) => image.description || image.context).join('; ');
  return `Rewrite this paragraph so that it refers to the image shown just before it (${described}). Keep its facts and length; reply with the paragraph only.\n\n${paragraph}`;
}

/**
 * The paragraph number of a placement reply: its first number, which must be a whole number from 0
 * (nowhere); one past the last paragraph places the image nowhere. Undefined when the reply holds
 * no such number (none, negative, or a fraction).
 */
export function parseParagraphNumber(reply: string, paragraphs: number): number | undefined {
  const first = reply.match(/-?\d+(?:\.\d+)?/)?.[0];
  if (first === undefined || !/^\d+$/.test(first)) return undefined;
  const n = Number(first);
  return n <= paragraphs ? n : 0;
}

/** Sends one-message prompts to the LLM and keeps what they cost, for the Generation record. */
class PromptSender {
  private promptTokens = 0;
  private completionTokens = 0;
  private readonly hashes: string[] = [];

  constructor(private readonly llm: ChatModel) {}

  async send(prompt: string, maxTokens: number): Promise<string> {
    const messages: ChatMessage[] = [{ role: 'user', content: prompt }];
    const reply = await this.llm.chat({ messages, maxTokens, temperature: 0 });
    this.promptTokens += reply.usage?.promptTokens ?? 0;
    this.completionTokens += reply.usage?.completionTokens ?? 0;
    this.hashes.push(reply.inputHash);
    return reply.text;
  }

  output(method: GenerationMethod, output: string, cited: number[], prompt: string, counts: Record<string, number>): GenerationOutput {
    return {
      method,
      output,
      cited,
      prompt,
      usage: { promptTokens: this.promptTokens, completionTokens: this.completionTokens },
      inputHash: this.hashes.join(','),
      counts,
    };
  }
}

export async function generateWithLlm(llm: ChatModel, strategy: Strategy, input: GenerationInput, maxTokens: number): Promise<GenerationOutput> {
  const sender = new PromptSender(llm);
  if (strategy === 'text') {
    const prompt = textOnlyPrompt(input);
    // A text-only answer carries no images, even if the model wrote some.
    const stripped = postProcessAnswer(await sender.send(prompt, maxTokens), []);
    return sender.output(LLM_METHODS.text, stripped.text, [], prompt, { 'citations-removed': stripped.outOfRange + stripped.repeated });
  }
  if (strategy === 'single') {
    const prompt = singleStagePrompt(input);
    const processed = postProcessAnswer(await sender.send(prompt, maxTokens), input.images);
    return sender.output(LLM_METHODS.single, processed.text, processed.cited, prompt, {
      'citations-out-of-range': processed.outOfRange,
      'citations-repeated': processed.repeated,
    });
  }
  return multiStage(sender, input, maxTokens);
}

type MultiStageCounts = Record<'images-placed' | 'images-not-placed' | 'placement-failed' | 'refine-failed', number>;

async function multiStage(sender: PromptSender, input: GenerationInput, maxTokens: number): Promise<GenerationOutput> {
  const counts: MultiStageCounts = { 'images-placed': 0, 'images-not-placed': 0, 'placement-failed': 0, 'refine-failed': 0 };
  const prompt = textOnlyPrompt(input);
  const draft = postProcessAnswer(await sender.send(prompt, maxTokens), []).text;
  const paragraphs = draft.split(/\n{2,}/).map((l) => l.trim()).filter(Boolean);
  const imagesBefore = await placeImages(sender, input, paragraphs, counts);
  const refined = await refineParagraphs(sender, input, paragraphs, imagesBefore, maxTokens, counts);
  const cited: number[] = [];
  const parts: string[] = [];
  refined.forEach((paragraph, i) => {
    for (const k of imagesBefore.get(i + 1) ?? []) {
      cited.push(k);
      parts.push(figureOf(k, cited.length, input.images[k - 1]!));
    }
    parts.push(paragraph);
  });
  return sender.output(LLM_METHODS.multi, tidy(parts.join('\n\n')), cited, prompt, counts);
}

/** Stage 2: each image picks the paragraph it goes before. Returns paragraph number → image numbers, in image order. */
async function placeImages(sender: PromptSender, input: GenerationInput, paragraphs: string[], counts: MultiStageCounts): Promise<Map<number, number[]>> {
  const placements = await Promise.all(
    input.images.map(async (image) => {
      try {
        const before = parseParagraphNumber(await sender.send(placementPrompt(input.question, paragraphs, image), 16), paragraphs.length);
        if (before === undefined) counts['placement-failed']++;
        return before ?? 0;
      } catch {
        counts['placement-failed']++;
        return 0;
      }
    }),
  );
  const imagesBefore = new Map<number, number[]>();
  placements.forEach((before, i) => {
    if (before === 0) {
      counts['images-not-placed']++;
      return;
    }
    counts['images-placed']++;
    imagesBefore.set(before, [...(imagesBefore.get(before) ?? []), i + 1]);
  });
  return imagesBefore;
}

/** Stage 3: each paragraph with images before it is rewritten to refer to them; on failure it stays as it was. */
async function refineParagraphs(
  sender: PromptSender,
  input: GenerationInput,
  paragraphs: string[],
  imagesBefore: Map<number, number[]>,
  maxTokens: number,
  counts: MultiStageCounts,
): Promise<string[]> {
  const refined = [...paragraphs];
  await Promise.all(
    [...imagesBefore].map(async ([before, indexes]) => {
      try {
        const text = await sender.send(refinePrompt(paragraphs[before - 1]!, indexes.map((k) => input.images[k - 1]!)), maxTokens);
        if (text.trim()) refined[before - 1] = text.trim();
      } catch {
        counts['refine-failed']++;
      }
    }),
  );
  return refined;
}
