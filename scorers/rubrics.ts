// The M2RAG 0–10 rubrics (text relevance, image helpfulness) as prompts, and the robust parsing of
// a judge's reply: the last integer in the reply, clamped to 0–10. A reply without an integer is a
// failed judgment with its reason, never a silent 0.
import type { ChatContent, ChatMessage } from '../src/models/types.js';

export const RUBRIC_PROMPT_VERSION = 'm2rag-rubric-v1';

const SCALE = [
  '0: completely irrelevant',
  '1-3: minimal relevance (mentions the topic in passing)',
  '4-6: moderate relevance (partly answers or gives useful background)',
  '7-9: high relevance (answers most of the question)',
  '10: perfectly relevant (fully answers the question)',
].join('\n');

export function textRelevanceMessages(query: string, chunk: string): ChatMessage[] {
  return [
    {
      role: 'system',
      content: 'You rate how relevant a piece of web page text is to a user query, on an integer scale from 0 to 10.',
    },
    {
      role: 'user',
      content:
        `Scale:\n${SCALE}\n\nQuery: ${query}\n\nText:\n"""\n${chunk}\n"""\n\n` +
        'Think briefly if you need to, then end your reply with the score as a single integer from 0 to 10.',
    },
  ];
}

const IMAGE_SCALE = [
  '0: unrelated to the query or purely decorative (logos, icons, ads)',
  '1-3: loosely related, adds little',
  '4-6: related and somewhat helpful to an answer',
  '7-9: clearly helpful, shows what the answer is about',
  '10: essential to a good answer',
].join('\n');

export function imageHelpfulnessMessages(query: string, image: Uint8Array, context: string): ChatMessage[] {
  const content: ChatContent[] = [
    { type: 'image', image },
    {
      type: 'text',
      text:
        `How helpful is this image for answering the query, on an integer scale from 0 to 10?\n${IMAGE_SCALE}\n\n` +
        `Query: ${query}\n` +
        (context ? `Text around the image on its page:\n"""\n${context}\n"""\n` : '') +
        'End your reply with the score as a single integer from 0 to 10.',
    },
  ];
  return [{ role: 'user', content }];
}

export type Judgment = { ok: true; score: number } | { ok: false; reason: string };

/**
 * The last integer in a judge's reply, clamped to 0–10. Judges often restate the scale
 * ("on a scale of 0 to 10 ... Score: 7"), so the last number is the verdict.
 */
export function parseRubricScore(reply: string): Judgment {
  const matches = reply.match(/-?\d+(?:\.\d+)?/g);
  if (!matches || matches.length === 0) {
    return { ok: false, reason: `no integer in reply: ${JSON.stringify(reply.slice(0, 80))}` };
  }
  const value = Math.round(Number(matches[matches.length - 1]));
  return { ok: true, score: Math.min(10, Math.max(0, value)) };
}
