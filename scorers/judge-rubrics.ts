// The M2RAG judgments of one answer, as the reference makes them (maziao/M2RAG
// src/evaluator/few_shot_evaluator.py). Fluency and response relevancy: one 0–10 rubric request each
// on the answer's text. Image coherence, helpfulness and reference: one request per cited image to a
// vision judge, carrying the image and the answer's text above and below it. Every rubric score is
// the reply's last integer, normalised as the reference does (clamped to 0–upper, over upper).
// Context precision and faithfulness are the ragas algorithms: a 0/1 verdict per retrieved context,
// averaged as precision at each useful rank; and the answer decomposed into statements, then a 0/1
// verdict per statement against the joined contexts. A judgment the judge could not give is a
// failure with its reason, never a silent value.
import { z } from 'zod';
import { renderPrompt, promptInForce, type PromptTemplate } from '../src/core/prompts.js';
import { failureReason } from '../src/models/errors.js';
import type { ChatContent, ChatModel } from '../src/models/types.js';
import {
  CONTEXT_USEFUL_PROMPT,
  FLUENCY_PROMPT,
  IMAGE_COHERENCE_PROMPT,
  IMAGE_HELPFULNESS_PROMPT,
  IMAGE_MARKER,
  IMAGE_REFERENCE_PROMPT,
  RELEVANCE_PROMPT,
  STATEMENT_VERDICTS_PROMPT,
  STATEMENTS_PROMPT,
} from './judge-prompts.js';
import { contextPrecision, faithfulness, normedScore, RUBRIC_UPPER_BOUND, type ImageMetric, type TextRubricMetric } from './m2rag-metrics.js';

export type Judged = { ok: true; value: number } | { ok: false; reason: string };

const TEXT_PROMPTS: Record<TextRubricMetric, PromptTemplate> = { fluency: FLUENCY_PROMPT, response_relevancy: RELEVANCE_PROMPT };
const IMAGE_PROMPTS: Record<ImageMetric, PromptTemplate> = {
  image_coherence: IMAGE_COHERENCE_PROMPT,
  image_helpfulness: IMAGE_HELPFULNESS_PROMPT,
  image_reference: IMAGE_REFERENCE_PROMPT,
};
const ALL_PROMPTS = [...Object.values(TEXT_PROMPTS), ...Object.values(IMAGE_PROMPTS), CONTEXT_USEFUL_PROMPT, STATEMENTS_PROMPT, STATEMENT_VERDICTS_PROMPT];

/** The versions of the judge prompts in force (defaults or a prompts file's), for provenance. */
export function judgePromptVersion(): string {
  return ALL_PROMPTS.map((p) => promptInForce(p).version).join('+');
}

/**
 * The reference's parse rule: the last run of digits in the reply is the score, normalised to 0–1.
 * A reply without one is a failure (the reference scores it 0; so do our reference-style means).
 */
export function parseJudgeScore(reply: string, upper = RUBRIC_UPPER_BOUND): Judged {
  const digits = reply.match(/\d+/g);
  if (!digits) return { ok: false, reason: `no integer in reply: ${JSON.stringify(reply.slice(0, 80))}` };
  return { ok: true, value: normedScore(Number(digits[digits.length - 1]), upper) };
}

async function ask(model: ChatModel, content: string | ChatContent[], maxTokens: number): Promise<string> {
  return (await model.chat({ messages: [{ role: 'user', content }], maxTokens, temperature: 0 })).text;
}

async function judged(work: () => Promise<Judged>): Promise<Judged> {
  try {
    return await work();
  } catch (error) {
    return { ok: false, reason: failureReason(error) };
  }
}

/** Fluency (on the text) or response relevancy (on the query and the text). */
export function judgeTextRubric(llm: ChatModel, metric: TextRubricMetric, input: { query: string; text: string }): Promise<Judged> {
  return judged(async () => parseJudgeScore(await ask(llm, renderPrompt(TEXT_PROMPTS[metric], input), 256)));
}

/** The content of an image-metric request: the rendered prompt split at the image marker, the image between. */
export function imageJudgeContent(metric: ImageMetric, image: Uint8Array, context: { above: string; below: string }): ChatContent[] {
  const [before, ...after] = renderPrompt(IMAGE_PROMPTS[metric], { context_above: context.above, context_below: context.below }).split(IMAGE_MARKER);
  // A prompts file without the marker still gets the image: first, as a vision model reads it best.
  if (after.length === 0) return [{ type: 'image', image }, { type: 'text', text: before! }];
  return [{ type: 'text', text: before! }, { type: 'image', image }, { type: 'text', text: after.join(IMAGE_MARKER) }];
}

/** One image metric of one cited image, by the vision judge. */
export function judgeImageRubric(vision: ChatModel, metric: ImageMetric, image: Uint8Array, context: { above: string; below: string }): Promise<Judged> {
  return judged(async () => parseJudgeScore(await ask(vision, imageJudgeContent(metric, image, context), 256)));
}

const ContextVerdict = z.object({ verdict: z.union([z.literal(0), z.literal(1)]) });
const Statements = z.object({ statements: z.array(z.string()) });
const StatementVerdicts = z.object({ statements: z.array(z.object({ verdict: z.union([z.literal(0), z.literal(1)]) })) });

/** The JSON object of a reply (models often wrap it in prose or a code fence), checked against its shape. */
export function parseJsonReply<T>(reply: string, shape: z.ZodType<T>): { ok: true; value: T } | { ok: false; reason: string } {
  const start = reply.indexOf('{');
  const end = reply.lastIndexOf('}');
  if (start < 0 || end < start) return { ok: false, reason: `no JSON object in reply: ${JSON.stringify(reply.slice(0, 80))}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.slice(start, end + 1));
  } catch {
    return { ok: false, reason: `reply is not valid JSON: ${JSON.stringify(reply.slice(start, start + 80))}` };
  }
  const checked = shape.safeParse(parsed);
  return checked.success ? { ok: true, value: checked.data } : { ok: false, reason: `reply JSON has the wrong shape: ${checked.error.issues[0]?.message ?? 'invalid'}` };
}

export interface RagasInput {
  question: string;
  /** The answer's text, images removed. */
  answer: string;
  /** The retrieved contexts in order: each input page's text, then each cited image's description. */
  contexts: string[];
}

/** ragas context precision without reference: a verdict per context; every verdict is needed, since ranks count. */
export function judgeContextPrecision(llm: ChatModel, input: RagasInput): Promise<Judged> {
  return judged(async () => {
    if (input.contexts.length === 0) return { ok: false, reason: 'no retrieved context' };
    const verdicts = await Promise.all(
      input.contexts.map(async (context) => parseJsonReply(await ask(llm, renderPrompt(CONTEXT_USEFUL_PROMPT, { question: input.question, context, answer: input.answer }), 512), ContextVerdict)),
    );
    const failed = verdicts.find((v) => !v.ok);
    if (failed && !failed.ok) return { ok: false, reason: failed.reason };
    return { ok: true, value: contextPrecision(verdicts.map((v) => v.ok && v.value.verdict === 1)) };
  });
}

/** ragas faithfulness: statements from the answer, then one verdict per statement against the joined contexts. */
export function judgeFaithfulness(llm: ChatModel, input: RagasInput): Promise<Judged> {
  return judged(async () => {
    const decomposed = parseJsonReply(await ask(llm, renderPrompt(STATEMENTS_PROMPT, { question: input.question, answer: input.answer }), 1024), Statements);
    if (!decomposed.ok) return decomposed;
    const statements = decomposed.value.statements.map((s) => s.trim()).filter(Boolean);
    if (statements.length === 0) return { ok: false, reason: 'no statements in the answer' };
    const listed = statements.map((s, i) => `${i + 1}. ${s}`).join('\n');
    const reply = await ask(llm, renderPrompt(STATEMENT_VERDICTS_PROMPT, { context: input.contexts.join('\n'), statements: listed }), 2048);
    const verdicts = parseJsonReply(reply, StatementVerdicts);
    if (!verdicts.ok) return verdicts;
    if (verdicts.value.statements.length !== statements.length) {
      return { ok: false, reason: `verdicts for ${verdicts.value.statements.length} of ${statements.length} statements` };
    }
    return { ok: true, value: faithfulness(verdicts.value.statements.map((s) => s.verdict === 1))! };
  });
}
