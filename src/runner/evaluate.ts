// The `eval` stage, the M2RAG evaluation protocol (maziao/M2RAG evaluate.py, few_shot_evaluator.py),
// per query: each stored answer of the query (of one strategy, if asked) gets an EvalResult under a
// stable id per (generation, judges). The text judge (the LLM, else the vision model) gives fluency
// and response relevancy on the answer's text, and the ragas context precision and faithfulness
// against the retrieved contexts; the vision judge gives image coherence, helpfulness and reference
// for each cited image, one request per image and metric, carrying the image and the answer's text
// around it. Image recall is over the input images scored ≥ 8. Without a judge model nothing is
// judged, and the table says so. A judgment that failed is recorded with its reason and counted as a
// failure, so the query is judged again by the next run. The corpus table is pooled from the stored
// results afterwards (summarizeEvaluation), so a resumed eval reports every query.
import { UserError } from '../core/errors.js';
import { log } from '../core/feedback.js';
import type { Stage, StageContext, StageCounts } from '../core/stage.js';
import type { ModelServices } from '../models/services.js';
import type { ChatModel, Models } from '../models/types.js';
import {
  judgeContextPrecision,
  judgeFaithfulness,
  judgeImageRubric,
  judgePromptVersion,
  judgeTextRubric,
  type Judged,
} from '../../scorers/judge-rubrics.js';
import { answerSample, retrievedContexts, type AnswerSample } from '../../scorers/judge-samples.js';
import { IMAGE_CONTEXT_TOKENS, IMAGE_PRECISION_METRICS, IMAGE_SCORE_THRESHOLD, imageRecall, mean, type ImageMetric } from '../../scorers/m2rag-metrics.js';
import { qaMetrics, retrievalFigures, summarizeEvalResults, type EvalSummary, type RetrievalFigures } from '../../scorers/metrics.js';
import {
  bestDescription,
  evalResultIdOf,
  inShard,
  loadDescriptions,
  scoreIdOf,
  stableId,
  WHOLE,
  type CorpusStore,
  type Description,
  type EvalResult,
  type Generation,
  type Query,
  type Shard,
  type StoreBatch,
} from '../../storage/index.js';
import type { QueryLabels } from './labels.js';

export const EVAL_STAGE = 'eval';
/** Part of what an evaluation is made from: results of an earlier protocol are not this one's. */
const EVAL_PROTOCOL = 'm2rag-eval-v2';

export interface EvalOptions {
  /** Only generations of this strategy. */
  strategy?: string;
  /** Gold labels; without them relevant images are those with final score ≥ IMAGE_SCORE_THRESHOLD. */
  labels?: Map<string, QueryLabels>;
}

export interface Judges {
  /** Fluency, relevancy, context precision, faithfulness: the LLM, else the vision model. */
  text?: ChatModel;
  /** The image metrics: only a vision model can see the images. */
  vision?: ChatModel;
}

export function judgesOf(models: Pick<Models, 'llm' | 'vision'>): Judges {
  return { text: models.llm ?? models.vision, vision: models.vision };
}

/**
 * The judges an evaluation is made by, as EvalResult ids name them: `none`, the text judge alone,
 * `<text>+vision` when the same model also judges the images, or `<text>+vision:<vision>`.
 */
export function judgeNameOf(models: Pick<Models, 'llm' | 'vision'>): string {
  const { text, vision } = judgesOf(models);
  const name = (m: ChatModel): string => `${m.provider}:${m.model}`;
  if (!text) return 'none';
  if (!vision) return name(text);
  return name(vision) === name(text) ? `${name(text)}+vision` : `${name(text)}+vision:${name(vision)}`;
}

/** Which judge gave which metrics, read back from a judge name. */
export function judgesNamedBy(judge: string): { text?: string; vision?: string } {
  if (judge === 'none') return {};
  const [text, vision] = judge.split('+vision');
  return { text, vision: vision === undefined ? undefined : vision === '' ? text : vision.slice(1) };
}

interface Prepared {
  judges: Judges;
  judge: string;
  descriptions: Map<string, Description[]>;
  /** Ids of the answers to evaluate, by query. */
  generationIds: Map<string, string[]>;
}

/** One answer's evaluation as it is built: per-answer values, per-image values, and failures with reasons. */
interface Draft {
  metrics: Record<string, number>;
  failed: Record<string, number>;
  reasons: Record<string, string>;
  images: NonNullable<EvalResult['images']>;
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
    this.prepared = { judges: judgesOf(models), judge: judgeNameOf(models), descriptions: await loadDescriptions(ctx.store), generationIds };
  }

  async runQuery(query: Query, ctx: StageContext<ModelServices>, counts: StageCounts, batch: StoreBatch): Promise<void> {
    const ids = this.prepared!.generationIds.get(query.id) ?? [];
    if (ids.length === 0) {
      counts.add('queries-without-generations');
      return;
    }
    for (const generation of (await ctx.store.getMany('generations', ids)).filter((g) => g !== undefined)) {
      const result = await this.evaluate(ctx.store, generation, query, counts);
      batch.put('evalResults', result);
      counts.add('generations-evaluated');
    }
  }

  async teardown(): Promise<void> {
    this.prepared = undefined;
  }

  settingsOf(): Record<string, unknown> {
    return {
      judge: this.prepared?.judge,
      protocol: EVAL_PROTOCOL,
      prompts: judgePromptVersion(),
      imageScoreThreshold: IMAGE_SCORE_THRESHOLD,
      imageContextTokens: IMAGE_CONTEXT_TOKENS,
      strategy: this.options.strategy,
    };
  }

  private async evaluate(store: CorpusStore, generation: Generation, query: Query, counts: StageCounts): Promise<EvalResult> {
    const { judges, judge } = this.prepared!;
    const sample = answerSample(generation.output, generation.inputs.imageIds, generation.citedImageIds);
    const draft: Draft = { metrics: {}, failed: {}, reasons: {}, images: [] };
    const positives = await relevantAmong(store, generation.queryId, inputPoolOf(generation));
    draft.metrics.image_recall = imageRecall(generation.citedImageIds, positives);
    const judgments = (judges.text ? 4 : 0) + (judges.vision ? IMAGE_PRECISION_METRICS.length * (sample.images.length + sample.unplaced.length) : 0);
    const progress = new JudgedProgress(generation, counts, judgments);
    if (judges.text) await this.judgeText(store, judges.text, generation, query, sample, draft, progress);
    if (judges.vision) await this.judgeImages(store, judges.vision, sample, draft, progress);
    Object.assign(draft.metrics, qaMetrics(sample.text, this.options.labels?.get(generation.queryId) ?? {}));
    return {
      id: evalResultIdOf(generation.id, judge),
      queryId: generation.queryId,
      generationId: generation.id,
      metrics: draft.metrics,
      failed: draft.failed,
      reasons: draft.reasons,
      images: judges.vision ? draft.images : undefined,
      positiveImages: positives.length,
      retrieval: await this.retrievalOf(store, generation),
      method: judges.text ? (judges.vision ? 'm2rag-judge' : 'm2rag-judge-text-only') : 'no-judge',
      provenance: {
        provider: judges.text?.provider ?? 'embedded',
        model: judge,
        promptVersion: judges.text ? judgePromptVersion() : undefined,
        inputHash: answerHashOf(generation),
        at: new Date().toISOString(),
      },
    };
  }

  private async judgeText(store: CorpusStore, llm: ChatModel, generation: Generation, query: Query, sample: AnswerSample, draft: Draft, progress: JudgedProgress): Promise<void> {
    const chunks = (await store.getMany('chunks', generation.inputs.chunkIds)).filter((c) => c !== undefined);
    const contexts = retrievedContexts(chunks, generation.citedImageIds.map((id) => bestDescription(this.prepared!.descriptions.get(id), [])?.text));
    const ragas = { question: query.query, answer: sample.text, contexts };
    const judgments: Array<[string, Promise<Judged>]> = [
      ['fluency', judgeTextRubric(llm, 'fluency', { query: query.query, text: sample.text })],
      ['response_relevancy', judgeTextRubric(llm, 'response_relevancy', { query: query.query, text: sample.text })],
      ['context_precision', judgeContextPrecision(llm, ragas)],
      ['faithfulness', judgeFaithfulness(llm, ragas)],
    ];
    for (const [metric, pending] of judgments) {
      const verdict = await pending;
      progress.judged(metric, verdict);
      if (verdict.ok) draft.metrics[metric] = verdict.value;
      else {
        draft.failed[metric] = 1;
        draft.reasons[metric] = verdict.reason;
      }
    }
  }

  /** One request per cited image and metric; a cited image the answer does not show fails its three judgments. */
  private async judgeImages(store: CorpusStore, vision: ChatModel, sample: AnswerSample, draft: Draft, progress: JudgedProgress): Promise<void> {
    const records = await store.getMany('images', sample.images.map((i) => i.imageId));
    const judged = await Promise.all(
      sample.images.map(async (placed, i) => {
        const image = records[i];
        const bytes = image ? await store.imageBytes(image, { prefer: 'thumbnail' }) : undefined;
        const verdicts = await Promise.all(
          IMAGE_PRECISION_METRICS.map((metric) =>
            bytes ? judgeImageRubric(vision, metric, bytes, placed) : Promise.resolve<Judged>({ ok: false, reason: 'image bytes not stored' }),
          ),
        );
        return { imageId: placed.imageId, verdicts };
      }),
    );
    const unplaced: Judged = { ok: false, reason: 'cited image not shown in the answer' };
    for (const imageId of sample.unplaced) judged.push({ imageId, verdicts: IMAGE_PRECISION_METRICS.map(() => unplaced) });
    for (const { imageId, verdicts } of judged) {
      const entry: Draft['images'][number] = { imageId, metrics: {} };
      verdicts.forEach((verdict, m) => {
        const metric = IMAGE_PRECISION_METRICS[m]!;
        progress.judged(metric, verdict, imageId);
        if (verdict.ok) entry.metrics[metric] = verdict.value;
        else {
          entry.reasons = { ...entry.reasons, [metric]: verdict.reason };
          draft.failed[metric] = (draft.failed[metric] ?? 0) + 1;
        }
      });
      draft.images.push(entry);
    }
    for (const metric of IMAGE_PRECISION_METRICS) {
      const value = mean(draft.images.flatMap((i) => (i.metrics[metric] === undefined ? [] : [i.metrics[metric]!])));
      if (value !== undefined) draft.metrics[metric as ImageMetric] = value;
    }
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

/** Progress per judged item (a log line each), and each failed judgment counted with its reason. */
class JudgedProgress {
  private done = 0;

  constructor(
    private readonly generation: Generation,
    private readonly counts: StageCounts,
    private readonly total: number,
  ) {}

  judged(metric: string, verdict: Judged, imageId?: string): void {
    this.done++;
    const where = { stage: EVAL_STAGE, queryId: this.generation.queryId, generationId: this.generation.id, metric, imageId, judged: this.done, of: this.total };
    if (verdict.ok) log.info({ ...where, value: verdict.value }, 'judged');
    else {
      log.warn({ ...where, reason: verdict.reason }, 'judgment failed');
      this.counts.fail(`judgment-${metric}: ${verdict.reason}`);
    }
    this.counts.add(`judged:${metric}`);
  }
}

/** The images the answer was made from: its input images, and for RagVL the retrieval candidates too. */
function inputPoolOf(generation: Generation): string[] {
  return [...new Set([...generation.inputs.imageIds, ...(generation.retrieval?.candidates.map((c) => c.imageId) ?? [])])];
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

/** The images among `imageIds` whose final score for the query is at least IMAGE_SCORE_THRESHOLD. */
async function relevantAmong(store: CorpusStore, queryId: string, imageIds: string[]): Promise<string[]> {
  const scores = await store.getMany('scores', imageIds.map((id) => scoreIdOf(queryId, 'image', id)));
  return imageIds.filter((_, i) => (scores[i]?.finalScore ?? -1) >= IMAGE_SCORE_THRESHOLD);
}

/** What an evaluation was made from: a result of an earlier answer, or of an earlier protocol, under the same id is not this one's. */
function answerHashOf(generation: Generation): string {
  return stableId(EVAL_PROTOCOL, generation.id, generation.output);
}

export interface EvalReport extends EvalSummary {
  /** Answers evaluated by these judges. */
  generations: number;
  judge: string;
  /** Which judge gave which metrics (absent: not configured). */
  judges: { text?: string; vision?: string };
  /** Answers without an evaluation of their current output by these judges. */
  notEvaluated: number;
}

/** The corpus-level table of the stored evaluations of the shard's answers by one set of judges. */
export async function summarizeEvaluation(store: CorpusStore, options: { judge: string; strategy?: string; shard?: Shard }): Promise<EvalReport> {
  const results: EvalResult[] = [];
  let notEvaluated = 0;
  for await (const g of store.iterate('generations')) {
    if (g.status === 'failed' || (options.strategy && g.strategy !== options.strategy) || !inShard(g.queryId, options.shard ?? WHOLE)) continue;
    const result = await store.get('evalResults', evalResultIdOf(g.id, options.judge));
    if (result && result.provenance.inputHash === answerHashOf(g)) results.push(result);
    else notEvaluated++;
  }
  return { generations: results.length, judge: options.judge, judges: judgesNamedBy(options.judge), notEvaluated, ...summarizeEvalResults(results) };
}
