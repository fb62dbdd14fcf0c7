// The M2RAG evaluation of one answer by an LLM judge. Fluency, relevance, image coherence,
// helpfulness and reference are 0–10 rubrics (reported divided by 10; the image ones only for answers
// that cite images); context precision and faithfulness are built from Yes/No verdicts per context
// passage and per answer statement (0–1). A judgment the judge could not give is a failure with its
// reason, never a 0.
import { failureReason } from '../src/models/errors.js';
import type { ChatMessage, ChatModel } from '../src/models/types.js';
import { contextPrecision, faithfulness } from './metrics.js';
import { parseRubricScore } from './rubrics.js';

export const JUDGE_PROMPT_VERSION = 'm2rag-judge-v1';

const ENDING = 'End your reply with the score as a single integer from 0 to 10.';
/** Judging every sentence of a long answer costs a request each; the first ten show its faithfulness. */
const MAX_STATEMENTS = 10;

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

const FIGURE_BLOCK = /!\[([^\]]*)\]\(images\/(\d+)\.[A-Za-z0-9]+\)\n\*Figure \d+: [^\n]*\*/g;

/**
 * The answer as judges see it: each figure block replaced by `[IMAGE: description]`, from the
 * description of the input image it shows (`imageDescriptions[k - 1]`), else its caption.
 */
export function answerForJudge(answer: string, imageDescriptions: Array<string | undefined>): string {
  return answer.replace(FIGURE_BLOCK, (_m, caption: string, k: string) => `[IMAGE: ${imageDescriptions[Number(k) - 1] || caption}]`).trim();
}

/** The answer's text without its figure blocks (and without any other captioned image a model wrote). */
export function answerText(answer: string): string {
  return answer.replace(/!\[[^\]]*\]\([^)]*\)\n\*Figure \d+: [^\n]*\*/g, ' ').trim();
}

/** The answer's statements (sentences and lines of 20 characters or more), at most MAX_STATEMENTS. */
export function statementsOf(answer: string): string[] {
  return answerText(answer)
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.replace(/^[#*\-\s]+/, '').trim())
    .filter((s) => s.length >= 20)
    .slice(0, MAX_STATEMENTS);
}

export interface JudgeInput {
  question: string;
  /** The generated answer, with its figure blocks. */
  answer: string;
  /** Descriptions of the answer's input images, in prompt order (image k is at k − 1). */
  imageDescriptions: Array<string | undefined>;
  citesImages: boolean;
  /** The context passages the answer was generated from, in retrieval order. */
  passages: string[];
}

export interface AnswerJudgment {
  metrics: Record<string, number>;
  /** Why each metric the judge could not give has no value. */
  failures: Record<string, string>;
}

/** All judged M2RAG metrics of one answer. */
export async function judgeAnswer(llm: ChatModel, input: JudgeInput): Promise<AnswerJudgment> {
  const judgment: AnswerJudgment = { metrics: {}, failures: {} };
  const parts = await Promise.all([judgeRubrics(llm, input), judgeContextPrecision(llm, input), judgeFaithfulness(llm, input)]);
  for (const part of parts) {
    Object.assign(judgment.metrics, part.metrics);
    Object.assign(judgment.failures, part.failures);
  }
  return judgment;
}

async function ask(llm: ChatModel, messages: ChatMessage[], maxTokens: number): Promise<string> {
  return (await llm.chat({ messages, maxTokens, temperature: 0 })).text;
}

/** A Yes/No verdict, undefined when the reply has none or the request failed. */
async function askYesNo(llm: ChatModel, messages: ChatMessage[]): Promise<boolean | undefined> {
  try {
    return parseYesNoReply(await ask(llm, messages, 5));
  } catch {
    return undefined;
  }
}

async function judgeRubrics(llm: ChatModel, input: JudgeInput): Promise<AnswerJudgment> {
  const judgment: AnswerJudgment = { metrics: {}, failures: {} };
  const answer = answerForJudge(input.answer, input.imageDescriptions);
  const metrics: RubricMetric[] = input.citesImages ? ['fluency', 'relevance', 'imageCoherence', 'helpfulness', 'reference'] : ['fluency', 'relevance'];
  await Promise.all(
    metrics.map(async (metric) => {
      try {
        const verdict = parseRubricScore(await ask(llm, rubricJudgeMessages(metric, input.question, answer), 200));
        if (verdict.ok) judgment.metrics[metric] = verdict.score / 10;
        else judgment.failures[metric] = verdict.reason;
      } catch (error) {
        judgment.failures[metric] = failureReason(error);
      }
    }),
  );
  return judgment;
}

/** Context precision needs a verdict on every passage: the rank of each useful one counts. */
async function judgeContextPrecision(llm: ChatModel, input: JudgeInput): Promise<AnswerJudgment> {
  if (input.passages.length === 0) return { metrics: {}, failures: {} };
  const answer = answerText(input.answer);
  const useful = await Promise.all(input.passages.map((passage) => askYesNo(llm, contextUsefulMessages(input.question, answer, passage))));
  if (useful.some((v) => v === undefined)) return { metrics: {}, failures: { contextPrecision: 'no Yes/No verdict' } };
  return { metrics: { contextPrecision: contextPrecision(useful as boolean[]) }, failures: {} };
}

/** Faithfulness over the statements that got a verdict; missing verdicts are a failure even when some came back. */
async function judgeFaithfulness(llm: ChatModel, input: JudgeInput): Promise<AnswerJudgment> {
  const statements = statementsOf(input.answer);
  const context = input.passages.join('\n\n');
  const supported = await Promise.all(statements.map((statement) => askYesNo(llm, statementSupportedMessages(context, statement))));
  const verdicts = supported.filter((v): v is boolean => v !== undefined);
  const value = faithfulness(verdicts);
  const judgment: AnswerJudgment = { metrics: value === undefined ? {} : { faithfulness: value }, failures: {} };
  if (statements.length > 0 && verdicts.length === 0) judgment.failures.faithfulness = 'no Yes/No verdict';
  else if (verdicts.length < statements.length) judgment.failures.faithfulness = 'some statements without a verdict';
  return judgment;
}
