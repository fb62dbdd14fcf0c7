// RagVL's short-answer generation (`run --strategy ragvl-short`): the vision model sees the images the
// reranker kept, then the question with the instruction to answer in a word or a short phrase
// (generate.short-answer), since WebQA and MultimodalQA answers are scored word by word against a
// short gold answer. No text passages and no citations: the answer is the phrase itself.
import { renderPrompt } from '../core/prompts.js';
import type { ChatContent, ChatModel } from '../models/types.js';
import type { CorpusStore } from '../../storage/index.js';
import type { GenerationInput } from './generate.js';
import { SHORT_ANSWER_PROMPT } from './prompts.js';
import { ChatSender, type GenerationOutput } from './sender.js';

export async function generateShortAnswer(vision: ChatModel, store: CorpusStore, input: GenerationInput, maxTokens: number): Promise<GenerationOutput> {
  const sender = new ChatSender(vision, [SHORT_ANSWER_PROMPT]);
  const prompt = renderPrompt(SHORT_ANSWER_PROMPT, { question: input.question });
  const content: ChatContent[] = [];
  for (const { imageId } of input.images) {
    const image = await store.get('images', imageId);
    const bytes = image && (await store.imageBytes(image, { prefer: 'thumbnail' }));
    if (!bytes) throw new Error(`image bytes missing: ${imageId} is not in the blob store`);
    content.push({ type: 'image', image: bytes });
  }
  content.push({ type: 'text', text: prompt });
  const reply = await sender.send(content, maxTokens);
  return sender.output('mllm-short-answer', reply.trim(), [], prompt, {});
}
