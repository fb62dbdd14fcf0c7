// Answer generation, by strategy:
//   single, multi, mllm — M2RAG generation over the query's own kept input (m2rag-generate.ts).
//   ragvl — RagVL's generator over retrieved passages and reranked images, cited as images/k.ext
//           (1-based): post-processing drops out-of-range and repeated citations, renders figure blocks.
//   text  — the text-only baseline over the same passages.
// Without the model a strategy needs, the runner uses the model-free generator in extractive.ts.
import { renderPrompt } from '../core/prompts.js';
import type { RunStrategy } from '../core/stages.js';
import type { ChatModel } from '../models/types.js';
import { postProcessAnswer, type ImageRef } from './citations.js';
import { withoutPlaceholders } from '../core/markup/placeholder.js';
import { RAGVL_PROMPT, TEXT_PROMPT } from './prompts.js';
import { ChatSender, type GenerationOutput } from './sender.js';

export type Strategy = RunStrategy;
export type { GenerationMethod, GenerationOutput } from './sender.js';

export interface GenerationImage extends ImageRef {
  description: string;
  context: string;
}

/** Passages and images, for `ragvl`, `text` and the extractive fallback. */
export interface GenerationInput {
  question: string;
  chunks: Array<{ id: string; text: string }>;
  images: GenerationImage[];
}

function passages(input: GenerationInput): string {
  return input.chunks.map((c, i) => `[${i + 1}] ${withoutPlaceholders(c.text).trim()}`).join('\n\n');
}

function imageList(images: GenerationImage[]): string {
  if (images.length === 0) return '(none)';
  return images.map((img, i) => `Image ${i + 1} (images/${i + 1}.${img.ext}): ${img.description || img.context || 'no description'}`).join('\n');
}

export async function generateRagvl(llm: ChatModel, input: GenerationInput, maxTokens: number): Promise<GenerationOutput> {
  const sender = new ChatSender(llm, [RAGVL_PROMPT]);
  const prompt = renderPrompt(RAGVL_PROMPT, { question: input.question, passages: passages(input), images: imageList(input.images) });
  const processed = postProcessAnswer(await sender.send(prompt, maxTokens), input.images);
  return sender.output('llm-ragvl', processed.text, processed.cited, prompt, { 'citations-out-of-range': processed.outOfRange, 'citations-repeated': processed.repeated });
}

export async function generateTextOnly(llm: ChatModel, input: GenerationInput, maxTokens: number): Promise<GenerationOutput> {
  const sender = new ChatSender(llm, [TEXT_PROMPT]);
  const prompt = renderPrompt(TEXT_PROMPT, { question: input.question, passages: passages(input) });
  // A text-only answer carries no images, even if the model wrote some.
  const stripped = postProcessAnswer(await sender.send(prompt, maxTokens), []);
  return sender.output('llm-text-only', stripped.text, [], prompt, { 'citations-removed': stripped.outOfRange + stripped.repeated });
}
