// The `eval` stage, per query: each stored answer of the query (of one strategy, if asked) gets an
// EvalResult under a stable id per (generation, judge): the M2RAG metrics (judged by the configured
// LLM; without one the judged metrics are left out), image recall, its retrieval figures and QA
// metrics against the labels. A judgment the judge could not give is recorded with its reason and
// counted as a failure, so the query is judged again by the next run. The corpus table is pooled
// from the stored results afterwards (summarizeEvaluation), so a resumed eval reports every query.
import { UserError } from '../core/errors.js';
import type { Stage, StageContext, StageCounts } from '../core/stage.js';
import type { ModelServices } from '../models/services.js';
import type { Models } from '../models/types.js';
import { answerText, judgeAnswer, JUDGE_PROMPT_VERSION, type AnswerJudgment, type JudgeInput } from '../../scorers/judge-rubrics.js';
import { imageRecall, overallOf, qaMetrics, retrievalFigures, summarizeEvalResults, type EvalSummary, type RetrievalFigures } from '../../scorers/metrics.js';
import {
  bestDescription,
  evalResultIdOf,
  inShard,
  loadDescriptions,
  scoreIdOf,
  stableId,
  WHOLE,
  type CorpusStore,
  type EvalResult,
  type Generation,
  type Query,
  type Shard,
} from '../../storage/index.js';
import type { QueryLabels } from './labels.js';

export const EVAL_STAGE = 'eval';
/** Final score at or above which an image counts as relevant (image recall positives, retrieval without labels). */
export const POSITIVE_IMAGE_SCORE = 8;

export interface EvalOptions {
  /** Only generations of this strategy. */
  strategy?: string;
  /** Gold labels; without them relevant images are those with final score ≥ POSITIVE_IMAGE_SCORE. */
  labels?: Map<string, QueryLabels>;
}

/** The judge an evaluation is made by, as EvalResult ids name it. */
export function judgeNameOf(models: Pick<Models, 'llm'>): string {
  return models.llm ? `${models.llm.provider}:${models.llm.model}` : 'none';
}

interface Prepared {
  models: Models;
  judge: string;
  /** Each image's best description, as the judge reads the answer's images. */
  descriptions: Map<string, string>;
  /** Ids of the answers to evaluate, by query. */
  generationIds: Map<string, string[]>;
}

export class EvalStage implements Stage<ModelServices> {
  readonly name = EVAL_STAGE;
  private prepared?: Prepared;

  constructor(private readonly options: EvalOptions = {}) {}

  async setup(ctx: StageContext<ModelServices>): Promise<void> {
    const generationIds = await answerIdsByQuery(ctx.store, this.options.strategy);
    if (generationIds.size === 0) {
      const which = this.options.strategy ? ` of strategy ${this.options.strategy}` : '';
      throw new UserError(`store ${ctx.store.dir} has no generations${which}: run \`m2rag run\` first`);
    }
    const models = await ctx.services.models();
    const descriptions = new Map([...(await loadDescriptions(ctx.store))].map(([imageId, list]): [string, string] => [imageId, bestDescription(list, [])!.text!]));
    this.prepared = { models, judge: judgeNameOf(models), descriptions, generationIds };
  }

  async runQuery(query: Query, ctx: StageContext<ModelServices>, counts: StageCounts): Promise<void> {
    const ids = this.prepared!.generationIds.get(query.id) ?? [];
    if (ids.length === 0) {
      counts.add('queries-without-generations');
      return;
    }
    const batch = ctx.store.batch();
    for (const generation of (await ctx.store.getMany('generations', ids)).filter((g) => g !== undefined)) {
      const result = await this.evaluate(ctx.store, generation, query);
      batch.put('evalResults', result);
      counts.add('generations-evaluated');
      for (const [metric, reason] of Object.entries(result.reasons ?? {})) counts.fail(`judgment-${metric}: ${reason}`);
    }
    await batch.write();
  }

  async teardown(): Promise<void> {
    this.prepared = undefined;
  }

  private async evaluate(store: CorpusStore, generation: Generation, query: Query): Promise<EvalResult> {
    const { models, judge } = this.prepared!;
    const metrics: Record<string, number> = {};
    metrics.imageRecall = imageRecall(generation.citedImageIds, await relevantAmong(store, generation.queryId, generation.inputs.imageIds));
    const judged: AnswerJudgment = models.llm ? await judgeAnswer(models.llm, await this.judgeInputOf(store, generation, query)) : { metrics: {}, failures: {} };
    Object.assign(metrics, judged.metrics);
    const overall = overallOf(metrics);
    if (overall !== undefined) metrics.overall = overall;
    Object.assign(metrics, qaMetrics(answerText(generation.output), this.options.labels?.get(generation.queryId) ?? {}));
    return {
      id: evalResultIdOf(generation.id, judge),
      queryId: generation.queryId,
      generationId: generation.id,
      metrics,
      failed: Object.fromEntries(Object.keys(judged.failures).map((metric) => [metric, 1])),
      reasons: judged.failures,
      retrieval: await this.retrievalOf(store, generation),
      method: models.llm ? 'llm-judge' : 'no-judge',
      provenance: {
        provider: models.llm?.provider ?? 'embedded',
        model: models.llm?.model ?? 'none',
        promptVersion: models.llm ? JUDGE_PROMPT_VERSION : undefined,
        inputHash: answerHashOf(generation),
        at: new Date().toISOString(),
      },
    };
  }

  private async judgeInputOf(store: CorpusStore, generation: Generation, query: Query): Promise<JudgeInput> {
    const chunks = await store.getMany('chunks', generation.inputs.chunkIds);
    return {
      question: query.query,
      answer: generation.output,
      imageDescriptions: generation.inputs.imageIds.map((id) => this.prepared!.descriptions.get(id)),
      citesImages: generation.citedImageIds.length > 0,
      passages: chunks.map((c) => c?.text ?? '').filter(Boolean),
    };
  }

  /** The generation's retrieval against the labels' relevant images, or the candidates scored ≥ 8; undefined when the labels name none for the query. */
  private async retrievalOf(store: CorpusStore, generation: Generation): Promise<RetrievalFigures | undefined> {
    if (!generation.retrieval) return undefined;
    const candidates = generation.retrieval.candidates.map((c) => c.imageId);
    const labels = this.options.labels;
    const relevant = labels ? labels.get(generation.queryId)?.relevantImageIds : await relevantAmong(store, generation.queryId, candidates);
    if (!relevant) return undefined;
    return retrievalFigures(labels ? 'labels-file' : 'scores>=8', generation.inputs.imageIds, candidates, relevant);
  }
}

/** The answers (generations that did not fail) of each query, optionally of one strategy. */
async function answerIdsByQuery(store: CorpusStore, strategy: string | undefined): Promise<Map<string, string[]>> {
  const byQuery = new Map<string, string[]>();
  for await (const g of store.iterate('generations')) {
    if (g.status === 'failed' || (strategy && g.strategy !== strategy)) continue;
    byQuery.set(g.queryId, [...(byQuery.get(g.queryId) ?? []), g.id]);
  }
  return byQuery;
}

/** The images among `imageIds` whose final score for the query is at least POSITIVE_IMAGE_SCORE. */
async function relevantAmong(store: CorpusStore, queryId: string, imageIds: string[]): Promise<string[]> {
  const scores = await store.getMany('scores', imageIds.map((id) => scoreIdOf(queryId, 'image', id)));
  return imageIds.filter((_, i) => (scores[i]?.finalScore ?? -1) >= POSITIVE_IMAGE_SCORE);
}

/** What an evaluation was made from: a result of an earlier answer under the same id is not this answer's. */
function answerHashOf(generation: Generation): string {
  return stableId(generation.id, generation.output);
}

export interface EvalReport extends EvalSummary {
  /** Answers evaluated by this judge. */
  generations: number;
  judge: string;
  /** Answers without an evaluation of their current output by this judge. */
  notEvaluated: number;
}

/** The corpus-level table of the stored evaluations of the shard's answers by one judge. */
export async function summarizeEvaluation(store: CorpusStore, options: { judge: string; strategy?: string; shard?: Shard }): Promise<EvalReport> {
  const results: EvalResult[] = [];
  let notEvaluated = 0;
  for await (const g of store.iterate('generations')) {
    if (g.status === 'failed' || (options.strategy && g.strategy !== options.strategy) || !inShard(g.queryId, options.shard ?? WHOLE)) continue;
    const result = await store.get('evalResults', evalResultIdOf(g.id, options.judge));
    if (result && result.provenance.inputHash === answerHashOf(g)) results.push(result);
    else notEvaluated++;
  }
  return { generations: results.length, judge: options.judge, notEvaluated, ...summarizeEvalResults(results) };
}
