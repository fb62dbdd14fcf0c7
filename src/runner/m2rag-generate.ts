// M2RAG generation as the reference does it (src/summarizer/multi_modal/end_to_end.py), over the
// input of m2rag-input.ts:
//   single — one LLM prompt: the pages with each kept image as `![detailed caption](images/k.ext)`
//            where its placeholder stood, the auxiliary images, then `# Generated Document`.
//   mllm   — the same to a vision model, the images themselves interleaved: `![`, the image, `](images/k.ext)`.
//   multi  — (1) a text answer from the same pages; (2) per image, a caption line and the index of
//            the answer line it goes before, or -1; (3) for each placed image, the lines from it to
//            the next placed image refined to refer to it.
// Replies are unwrapped from a ```markdown fence; citations are parsed with the reference's rule.
import { renderPrompt, type PromptTemplate } from '../core/prompts.js';
import type { ChatContent, ChatModel } from '../models/types.js';
import type { CorpusStore } from '../../storage/index.js';
import { figureBlock, handleOutputImages, tidy, unwrapMarkdown, withoutImagesAndLinks } from './citations.js';
import { IMAGE_SLOT, type InputImage, type M2ragInput } from './m2rag-input.js';
import { MLLM_PROMPT, MULTI_STAGE_1_PROMPT, MULTI_STAGE_2_PROMPT, MULTI_STAGE_3_PROMPT, SINGLE_STAGE_PROMPT } from './prompts.js';
import { ChatSender, type GenerationOutput } from './sender.js';

const pseudoUrl = (k: number, image: InputImage): string => `images/${k}.${image.ext}`;

/** One prompt part: text, or an image (as its caption for an LLM, itself for a vision model). */
type Part = { text: string } | { image: InputImage; k: number };

/** The reference's message layout: header, `## Webpage i` blocks, `# Auxiliary Images`, `# Generated Document`. */
function messageParts(header: string, input: M2ragInput): Part[] {
  const parts: Part[] = [{ text: header }];
  let k = 0;
  input.pages.forEach((page, i) => {
    const splits = page.content.split(IMAGE_SLOT);
    if (page.images.length === 0) {
      parts.push({ text: `## Webpage ${i}\n\`\`\`markdown\n${splits.join('')}\n\`\`\`\n` });
      return;
    }
    let chunk = `## Webpage ${i}\n\`\`\`markdown\n`;
    page.images.forEach((image, j) => {
      parts.push({ text: chunk + splits[j] }, { image, k: k++ });
      chunk = '';
    });
    parts.push({ text: splits[page.images.length] + '\n```\n' });
  });
  if (input.auxImages.length > 0) {
    parts.push({ text: '# Auxiliary Images\n' });
    for (const image of input.auxImages) parts.push({ image, k: k++ });
  }
  parts.push({ text: '# Generated Document' });
  return parts;
}

/** For an LLM: one text, each image as `![detailed caption](images/k.ext)` on its own line. */
function asText(parts: Part[]): string {
  return parts.map((p) => ('text' in p ? p.text : `\n![${p.image.caption}](${pseudoUrl(p.k, p.image)})\n`)).join('');
}

/** For a vision model: text and images interleaved, each image between `![` and `](images/k.ext)`. */
async function asInterleaved(store: CorpusStore, parts: Part[]): Promise<ChatContent[]> {
  const content: ChatContent[] = [];
  for (const part of parts) {
    if ('text' in part) {
      content.push({ type: 'text', text: part.text });
      continue;
    }
    const bytes = await store.imageBytes(part.image.image, { prefer: 'thumbnail' });
    if (!bytes) throw new Error(`image bytes missing: ${part.image.imageId} is not in the blob store`);
    content.push({ type: 'text', text: '\n![' }, { type: 'image', image: bytes }, { type: 'text', text: `](${pseudoUrl(part.k, part.image)})\n` });
  }
  return content;
}

function header(template: PromptTemplate, input: M2ragInput): string {
  return renderPrompt(template, { question: input.question });
}

/** The vision prompt as text: `<image>` (LLaMA-Factory's image token) where the model sees each image. */
function withImageTokens(parts: Part[]): string {
  return parts.map((p) => ('text' in p ? p.text : `\n![<image>](${pseudoUrl(p.k, p.image)})\n`)).join('');
}

/**
 * The single-stage prompts over an input, as the reference's training set rebuilds them for any
 * summarizer (scripts/export_training_set.py): the LLM prompt with captions, the vision prompt with
 * `<image>` tokens, and the images in token order.
 */
export function singleStagePrompts(input: M2ragInput): { llm: string; mllm: string; imageIds: string[] } {
  return {
    llm: asText(messageParts(header(SINGLE_STAGE_PROMPT, input), input)),
    mllm: withImageTokens(messageParts(header(MLLM_PROMPT, input), input)),
    imageIds: input.images.map((i) => i.imageId),
  };
}

function citedAnswer(sender: ChatSender, method: GenerationOutput['method'], reply: string, input: M2ragInput, prompt: string): GenerationOutput {
  const processed = handleOutputImages(unwrapMarkdown(reply), input.images);
  return sender.output(method, processed.text, processed.cited, prompt, { 'citations-out-of-range': processed.outOfRange, 'citations-repeated': processed.repeated });
}

export async function generateSingleStage(llm: ChatModel, input: M2ragInput, maxTokens: number): Promise<GenerationOutput> {
  const sender = new ChatSender(llm, [SINGLE_STAGE_PROMPT]);
  const prompt = asText(messageParts(header(SINGLE_STAGE_PROMPT, input), input));
  return citedAnswer(sender, 'llm-single-stage', await sender.send(prompt, maxTokens), input, prompt);
}

export async function generateMllm(vision: ChatModel, store: CorpusStore, input: M2ragInput, maxTokens: number): Promise<GenerationOutput> {
  const sender = new ChatSender(vision, [MLLM_PROMPT]);
  const parts = messageParts(header(MLLM_PROMPT, input), input);
  const reply = await sender.send(await asInterleaved(store, parts), maxTokens);
  return citedAnswer(sender, 'mllm-single-stage', reply, input, withImageTokens(parts));
}

/**
 * The reference's `parse_image_selection_result`: the caption is every line but the last; the line
 * index is the last number on the last line, -1 when there is none or it is out of range. A negative
 * number counts as -1 (the reference's `\d+` would read "-1" as line 1, against its own prompt).
 */
export function parseImageSelection(reply: string, maxIndex: number): { line: number; caption: string } {
  const lines = reply.split('\n');
  const numbers = [...lines[lines.length - 1]!.matchAll(/-?\d+/g)].map((m) => Number(m[0]));
  const last = numbers[numbers.length - 1];
  const caption = lines.slice(0, -1).join(' ').trim();
  return { line: last === undefined || last < 0 || last > maxIndex ? -1 : last, caption };
}

type MultiCounts = Record<'images-placed' | 'images-not-placed' | 'placement-failed' | 'refine-failed', number>;

export async function generateMultiStage(llm: ChatModel, input: M2ragInput, maxTokens: number): Promise<GenerationOutput> {
  const sender = new ChatSender(llm, [MULTI_STAGE_1_PROMPT, MULTI_STAGE_2_PROMPT, MULTI_STAGE_3_PROMPT]);
  const counts: MultiCounts = { 'images-placed': 0, 'images-not-placed': 0, 'placement-failed': 0, 'refine-failed': 0 };
  const prompt = asText(messageParts(header(MULTI_STAGE_1_PROMPT, input), input));
  const summary = unwrapMarkdown(await sender.send(prompt, maxTokens));
  const lines = summary.split('\n');
  const summaryLines = lines.map((line, i) => `[${i}] ${line}\n`).join('');

  const selections = await Promise.all(
    input.images.map(async (image, k) => {
      try {
        const reply = await sender.send(renderPrompt(MULTI_STAGE_2_PROMPT, { question: input.question, summaryLines, caption: `${image.caption}\n` }), maxTokens);
        return { k, ...parseImageSelection(unwrapMarkdown(reply), lines.length - 1) };
      } catch {
        counts['placement-failed']++;
        return { k, line: -1, caption: '' };
      }
    }),
  );
  const placed = selections.filter((s) => s.line !== -1).sort((a, b) => a.line - b.line);
  counts['images-placed'] = placed.length;
  counts['images-not-placed'] = input.images.length - placed.length;
  if (placed.length === 0) return sender.output('llm-multi-stage', tidy(summary), [], prompt, counts);

  const refined = await Promise.all(
    placed.map(async (selection, i) => {
      const piece = lines.slice(selection.line, placed[i + 1]?.line).join('\n');
      const image = input.images[selection.k]!;
      try {
        const reply = await sender.send(renderPrompt(MULTI_STAGE_3_PROMPT, { question: input.question, summaryPiece: piece, caption: `${image.caption}\n` }), maxTokens);
        return withoutImagesAndLinks(unwrapMarkdown(reply));
      } catch {
        counts['refine-failed']++;
        return piece;
      }
    }),
  );
  let answer = lines.slice(0, placed[0]!.line).join('\n');
  placed.forEach((selection, i) => {
    const image = input.images[selection.k]!;
    answer += figureBlock(selection.k + 1, i + 1, image, selection.caption || image.caption) + refined[i];
  });
  return sender.output('llm-multi-stage', tidy(answer), placed.map((s) => s.k + 1), prompt, counts);
}
