// `m2rag eval`: the M2RAG metrics per generation (judged by the configured LLM), image recall,
// retrieval metrics (precision/recall/F1 at N pooled, Recall@K per query) and QA metrics. Metrics
// a judge could not give are left out of the means and counted as failed, never scored 0; without
// an LLM the judged metrics are reported as not judged.
import { failureReason } from '../models/errors.js';
import type { ChatMessage, Models, ChatModel } from '../models/types.js';
import {
  contextUsefulMessages,
  JUDGE_PROMPT_VERSION,
  parseYesNoReply,
  rubricJudgeMessages,
  statementSupportedMessages,
  type RubricMetric,
} from '../../scorers/judge-rubrics.js';
import { exactMatch, imageRecall, keywordAccuracy, overallOf, pooledPrfAtN, recallAtK, summarizeMetrics, type MetricSummary } from '../../scorers/metrics.js';
import { parseRubricScore } from '../../scorers/rubrics.js';
import { scoreIdOf } from '../../scorers/score-stage.js';
import { stableId, type CorpusStore, type EvalResult, type Generation } from '../../storage/index.js';
import type { QueryLabels } from './labels.js';

/** Final score at or above which an input image counts as a positive for image recall. */
export const POSITIVE_IMAGE_SCORE = 8;
const MAX_STATEMENTS = 10;

export interface EvalOptions {
  strategy?: string;
  labels?: Map<string, QueryLabels>;
}

export interface EvalReport {
  generations: number;
  judge: string;
  m2rag: Record<string, MetricSummary>;
  retrieval?: { labels: 'labels-file' | 'scores>=8'; n: number; k: number; precision: number; recall: number; f1: number; recallAtK?: number; queries: number };
  qa?: { exactMatch?: number; keywordAccuracy?: number; queries: number };
  failedReasons: Record<string, number>;
}

/** The answer with each figure block replaced by `[IMAGE: description]`, as judges see it. */
function answerForJudge(generation: Generation, descriptions: Map<string, string>): string {
  return generation.output
    .replace(/!\[([^\]]*)\]\(images\/(\d+)\.[A-Za-z0-9]+\)\n\*Figure \d+: [^\n]*\*/g, (_m, caption: string, k: string) => {
      const id = generation.inputs.imageIds[Number(k) - 1];
      return `[IMAGE: ${(id && descriptions.get(id)) || caption}]`;
    })
    .trim();
}

function textOnly(answer: string): string {
  return answer.replace(/!\[[^\]]*\]\([^)]*\)\n\*Figure \d+: [^\n]*\*/g, ' ').trim();
}

function statementsOf(answer: string): string[] {
  return textOnly(answer)
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.replace(/^[#*\-\s]+/, '').trim())
    .filter((s) => s.length >= 20)
    .slice(0, MAX_STATEMENTS);
}

async function ask(llm: ChatModel, messages: ChatMessage[], maxTokens: number): Promise<string> {
  return (await llm.chat({ messages, maxTokens, temperature: 0 })).text;
}

async function judgeGeneration(
  llm: ChatModel,
  generation: Generation,
  question: string,
  chunkTexts: string[],
  descriptions: Map<string, string>,
  metrics: Record<string, number>,
  failed: Record<string, number>,
  reasons: Record<string, number>,
): Promise<void> {
  const fail = (metric: string, reason: string): void => {
    failed[metric] = (failed[metric] ?? 0) + 1;
    const key = `${metric}: ${reason.split(':')[0]}`;
    reasons[key] = (reasons[key] ?? 0) + 1;
  };
  const answer = answerForJudge(generation, descriptions);
  const rubricMetrics: RubricMetric[] = ['fluency', 'relevance'];
  if (generation.citedImageIds.length > 0) rubricMetrics.push('imageCoherence', 'helpfulness', 'reference');
  await Promise.all(
    rubricMetrics.map(async (metric) => {
      try {
        const verdict = parseRubricScore(await ask(llm, rubricJudgeMessages(metric, question, answer), 200));
        if (verdict.ok) metrics[metric] = verdict.score / 10;
        else fail(metric, verdict.reason);
      } catch (error) {
        fail(metric, failureReason(error));
      }
    }),
  );
  // Context precision (RAGAS-style average precision over the passages, in retrieval order).
  const useful = await Promise.all(
    chunkTexts.map(async (passage) => {
      try {
        return parseYesNoReply(await ask(llm, contextUsefulMessages(question, textOnly(generation.output), passage), 5));
      } catch {
        return undefined;
      }
    }),
  );
  if (chunkTexts.length > 0) {
    if (useful.some((v) => v === undefined)) fail('contextPrecision', 'no Yes/No verdict');
    else {
      let hits = 0;
      let sum = 0;
      useful.forEach((v, i) => {
        if (v) sum += ++hits / (i + 1);
      });
      metrics.contextPrecision = hits === 0 ? 0 : sum / hits;
    }
  }
  // Faithfulness: the share of the answer's statements the passages support.
  const statements = statementsOf(generation.output);
  const context = chunkTexts.join('\n\n');
  const supported = await Promise.all(
    statements.map(async (statement) => {
      try {
        return parseYesNoReply(await ask(llm, statementSupportedMessages(context, statement), 5));
      } catch {
        return undefined;
      }
    }),
  );
  const verdicts = supported.filter((v): v is boolean => v !== undefined);
  if (statements.length > 0 && verdicts.length === 0) fail('faithfulness', 'no Yes/No verdict');
  else if (verdicts.length > 0) {
    if (verdicts.length < statements.length) fail('faithfulness', 'some statements without a verdict');
    metrics.faithfulness = verdicts.filter(Boolean).length / verdicts.length;
  }
}

export async function evaluateGenerations(store: CorpusStore, models: Pick<Models, 'llm'>, options: EvalOptions): Promise<EvalReport> {
  const generations: Generation[] = [];
  for await (const g of store.iterate('generations')) if (!options.strategy || g.strategy === options.strategy) generations.push(g);
  const descriptions = new Map<string, string>();
  for await (const d of store.iterate('descriptions')) if (d.status === 'ok' && d.text && (!descriptions.has(d.imageId) || d.method === 'vision-model')) descriptions.set(d.imageId, d.text);

  const judge = models.llm ? `${models.llm.provider}:${models.llm.model}` : 'none';
  const results: EvalResult[] = [];
  const reasons: Record<string, number> = {};
  const retrievalCases: Array<{ retrieved: string[]; relevant: string[]; candidates: string[] }> = [];
  const labelSource: 'labels-file' | 'scores>=8' = options.labels ? 'labels-file' : 'scores>=8';
  const qa: { em: number[]; kw: number[] } = { em: [], kw: [] };
  for (const generation of generations) {
    const query = await store.get('queries', generation.queryId);
    const question = query?.query ?? '';
    const metrics: Record<string, number> = {};
    const failed: Record<string, number> = {};
    const scores = await store.getMany('scores', generation.inputs.imageIds.map((id) => scoreIdOf(generation.queryId, 'image', id)));
    const positives = generation.inputs.imageIds.filter((_, i) => (scores[i]?.finalScore ?? -1) >= POSITIVE_IMAGE_SCORE);
    metrics.imageRecall = imageRecall(generation.citedImageIds, positives);
    if (models.llm) {
      const chunks = await store.getMany('chunks', generation.inputs.chunkIds);
      await judgeGeneration(models.llm, generation, question, chunks.map((c) => c?.text ?? '').filter(Boolean), descriptions, metrics, failed, reasons);
    }
    const overall = overallOf(metrics);
    if (overall !== undefined) metrics.overall = overall;

    const label = options.labels?.get(generation.queryId);
    if (label?.answer !== undefined) {
      metrics.exactMatch = exactMatch(textOnly(generation.output), label.answer);
      qa.em.push(metrics.exactMatch);
    }
    const kw = label?.keywords ? keywordAccuracy(textOnly(generation.output), label.keywords) : undefined;
    if (kw !== undefined) {
      metrics.keywordAccuracy = kw;
      qa.kw.push(kw);
    }
    if (generation.retrieval) {
      const candidates = generation.retrieval.candidates.map((c) => c.imageId);
      let relevant: string[] | undefined;
      if (options.labels) relevant = label?.relevantImageIds;
      else {
        const candidateScores = await store.getMany('scores', candidates.map((id) => scoreIdOf(generation.queryId, 'image', id)));
        relevant = candidates.filter((_, i) => (candidateScores[i]?.finalScore ?? -1) >= POSITIVE_IMAGE_SCORE);
      }
      if (relevant) retrievalCases.push({ retrieved: generation.inputs.imageIds, relevant, candidates });
    }
    results.push({
      id: 'e' + stableId(generation.id, judge),
      queryId: generation.queryId,
      generationId: generation.id,
      metrics,
      failed,
      method: models.llm ? 'llm-judge' : 'no-judge',
      provenance: {
        provider: models.llm?.provider ?? 'embedded',
        model: models.llm?.model ?? 'none',
        promptVersion: models.llm ? JUDGE_PROMPT_VERSION : undefined,
        inputHash: stableId(generation.id, generation.output),
        at: new Date().toISOString(),
      },
    });
  }
  const batch = store.batch();
  for (const r of results) batch.put('evalResults', r);
  await batch.write();

  const report: EvalReport = { generations: generations.length, judge, m2rag: summarizeMetrics(results.map((r) => ({ metrics: pick(r.metrics), failed: r.failed }))), failedReasons: reasons };
  if (retrievalCases.length > 0) {
    const n = Math.max(1, ...retrievalCases.map((c) => c.retrieved.length));
    const k = Math.max(1, ...retrievalCases.map((c) => c.candidates.length));
    const prf = pooledPrfAtN(retrievalCases, n);
    const recalls = retrievalCases.map((c) => recallAtK(c.candidates, c.relevant, k)).filter((v): v is number => v !== undefined);
    report.retrieval = {
      labels: labelSource,
      n,
      k,
      ...prf,
      recallAtK: recalls.length ? recalls.reduce((a, b) => a + b, 0) / recalls.length : undefined,
      queries: retrievalCases.length,
    };
  }
  if (qa.em.length + qa.kw.length > 0) {
    const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined);
    report.qa = { exactMatch: mean(qa.em), keywordAccuracy: mean(qa.kw), queries: Math.max(qa.em.length, qa.kw.length) };
  }
  return report;
}

const M2RAG_KEYS = new Set(['fluency', 'relevance', 'contextPrecision', 'faithfulness', 'imageCoherence', 'helpfulness', 'reference', 'imageRecall', 'overall']);

function pick(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([k]) => M2RAG_KEYS.has(k)));
}

const JUDGED = ['fluency', 'relevance', 'contextPrecision', 'faithfulness', 'imageCoherence', 'helpfulness', 'reference'];

/** The metrics table `m2rag eval` prints. */
export function formatEvalReport(report: EvalReport): string {
  const lines: string[] = [];
  lines.push(`generations evaluated: ${report.generations}   judge: ${report.judge}`);
  lines.push('');
  lines.push(`${'metric'.padEnd(18)}${'mean'.padStart(8)}${'n'.padStart(6)}${'failed'.padStart(8)}`);
  for (const name of [...JUDGED, 'imageRecall', 'overall']) {
    const s = report.m2rag[name];
    if (!s || s.n + s.failed === 0) {
      const why = report.judge === 'none' && JUDGED.includes(name) ? 'not judged (no LLM configured)' : 'not applicable';
      lines.push(`${name.padEnd(18)}${'—'.padStart(8)}   ${why}`);
      continue;
    }
    lines.push(`${name.padEnd(18)}${(s.mean === undefined ? '—' : s.mean.toFixed(3)).padStart(8)}${String(s.n).padStart(6)}${String(s.failed).padStart(8)}`);
  }
  if (report.retrieval) {
    const r = report.retrieval;
    lines.push('');
    lines.push(`retrieval (relevant = ${r.labels === 'labels-file' ? 'labels file' : 'images with final score ≥ 8'}; ${r.queries} queries)`);
    lines.push(`  P@${r.n} ${r.precision.toFixed(3)}   R@${r.n} ${r.recall.toFixed(3)}   F1@${r.n} ${r.f1.toFixed(3)}   Recall@${r.k} ${r.recallAtK === undefined ? '— (no query has relevant images)' : r.recallAtK.toFixed(3)}`);
  }
  if (report.qa) {
    lines.push('');
    lines.push(`QA (${report.qa.queries} labelled queries)`);
    lines.push(`  exact match ${report.qa.exactMatch?.toFixed(3) ?? '—'}   keyword accuracy ${report.qa.keywordAccuracy?.toFixed(3) ?? '—'}`);
  }
  const reasons = Object.entries(report.failedReasons).sort(([a], [b]) => a.localeCompare(b));
  if (reasons.length) {
    lines.push('');
    lines.push('failed judgments');
    for (const [reason, n] of reasons) lines.push(`  ${reason}: ${n}`);
  }
  return lines.join('\n') + '\n';
}
