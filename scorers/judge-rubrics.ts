// The M2RAG evaluation prompts. Fluency, relevance, image coherence, helpfulness and reference are
// 0–10 rubrics (reported divided by 10); context precision and faithfulness are built from Yes/No
// verdicts per context passage and per answer statement (0–1).
import type { ChatMessage } from '../src/models/types.js';

export const JUDGE_PROMPT_VERSION = 'm2rag-judge-v1';

const ENDING = 'End your reply with the score as a single integer from 0 to 10.';

export type RubricMetric = 'fluency' | 'relevance' | 'imageCoherence' | 'helpfulness' | 'reference';

const RUBRICS: Record<RubricMetric, string> = {
  fluency: 'Rate the fluency of the answer: grammar, clarity and how well the text reads, from 0 (unreadable) to 10 (excellent).',
  relevance: 'Rate how relevant and complete the answer is for the question, from 0 (off-topic) to 10 (fully answers it).',
  imageCoherence:
    'The answer contains images, shown as [IMAGE: description]. Rate how coherent each image is with the text right around it, from 0 (unrelated to its surroundings) to 10 (illustrates exactly what the text says there).',
  helpfulness:
    'The answer contains images, shown as [IMAGE: description]. Rate how much the images help a reader understand the answer to the question, from 0 (no help, distracting) to 10 (essential and informative).',
  reference:
    'The answer contains images, shown as [IMAGE: description]. Rate how well the text refers to and makes use of the images (mentions them, explains what they show), from 0 (images never referred to) to 10 (every image clearly referred to).',
};

export function rubricJudgeMessages(metric: RubricMetric, question: string, answerWithImages: string): ChatMessage[] {
  return [
    { role: 'system', content: 'You are a strict evaluator of answers to questions.' },
    { role: 'user', content: `${RUBRICS[metric]}\n\nQuestion: ${question}\n\nAnswer:\n"""\n${answerWithImages}\n"""\n\n${ENDING}` },
  ];
}

export function contextUsefulMessages(question: string, answer: string, passage: string): ChatMessage[] {
  return [
    {
      role: 'user',
      content: `Question: ${question}\n\nAnswer: ${answer}\n\nPassage:\n"""\n${passage}\n"""\n\nWas this passage useful in arriving at the answer? Reply "Yes" or "No".`,
    },
  ];
}

export function statementSupportedMessages(context: string, statement: string): ChatMessage[] {
  return [
    {
      role: 'user',
      content: `Context:\n"""\n${context}\n"""\n\nStatement: ${statement}\n\nCan the statement be inferred from the context? Reply "Yes" or "No".`,
    },
  ];
}

/** The verdict of a Yes/No reply: its first yes or no word; undefined when it has neither. */
export function parseYesNoReply(reply: string): boolean | undefined {
  const match = reply.match(/\b(yes|no)\b/i);
  return match ? match[1]!.toLowerCase() === 'yes' : undefined;
}
