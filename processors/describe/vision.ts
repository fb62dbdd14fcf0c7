// The vision-model describer (the M2RAG recipe): the model sees the image with the text above and
// below its occurrence, or the search query for an auxiliary image, and writes one grounded line.
import type { ChatRequest } from '../../src/models/types.js';
import { ModelRequestError } from '../../src/models/errors.js';
import type { DescribeContext } from './contexts.js';

export const VISION_PROMPT_VERSION = 'describe-v1';

const SYSTEM = [
  'You write image descriptions for a multimodal retrieval dataset.',
  'Write one detailed, factual line about what the image shows.',
  'Use the surrounding text only where it clearly refers to this image (to name people, places, events, dates);',
  'never state anything that is neither visible in the image nor supported by the text.',
  'Reply with the description only.',
].join(' ');

function field(label: string, value: string | undefined): string[] {
  return value ? [`${label}: ${value}`] : [];
}

export function visionPrompt(context: DescribeContext): string {
  const lines: string[] = [];
  if (context.kind === 'auxiliary') {
    lines.push(`This image was returned by an image search for: "${context.query}".`);
    lines.push(...field('Search result title', context.title), ...field('Search result snippet', context.snippet));
  } else {
    lines.push(...field('Page section', context.heading), ...field('Image alt text', context.alt), ...field('Image caption', context.figcaption), ...field('Image title', context.title));
    if (context.above) lines.push('', 'Text above the image on the page:', context.above);
    if (context.below) lines.push('', 'Text below the image on the page:', context.below);
  }
  lines.push('', 'Describe the image in one line.');
  return lines.join('\n').trim();
}

export function visionRequest(image: Uint8Array, context: DescribeContext, maxTokens: number): ChatRequest {
  return {
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: [{ type: 'image', image }, { type: 'text', text: visionPrompt(context) }] },
    ],
    maxTokens,
    temperature: 0,
  };
}

/** One line: whitespace collapsed, a leading label and wrapping quotes removed. */
export function cleanDescription(reply: string): string {
  const line = reply
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^(image )?description\s*:\s*/i, '')
    .replace(/^["“](.*)["”]$/, '$1')
    .trim();
  if (line === '') throw new ModelRequestError('malformed', 'the model wrote an empty description');
  return line;
}
