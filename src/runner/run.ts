// The `run` stage, per query, by strategy (its done marker is `run:<strategy>`, so a new strategy
// is never skipped for another's answer):
//   single, multi, mllm — M2RAG generation over the query's own pages, splits and images the score
//     stage kept, within the reference's caps (m2rag-input.ts);
//   ragvl, ragvl-short, text — retrieve (top K images, top chunks) → rerank (top N over the threshold) → generate
//     (ragvl-short: the vision model answers in a word or phrase over the kept images), over kept elements only: the query's own (`run.pool: query`) or every query's (`corpus`).
// Without the model a strategy needs, the labelled extractive generator answers, with a notice.
// Bad input is counted, never fatal. A failed generation is stored with its reason (unless an
// earlier answer exists, which it never replaces) and counted as a failure, so the query stays
// unmarked and the next run retries it.
import type { Config } from '../core/config.js';
import { UserError } from '../core/errors.js';
import { log } from '../core/feedback.js';
import type { Stage, StageContext, StageCounts } from '../core/stage.js';
import { variantStageName } from '../core/stages.js';
import { failureReason } from '../models/errors.js';
import type { ModelServices } from '../models/services.js';
import type { ChatModel, Models } from '../models/types.js';
import { adaptiveThreshold } from '../../scorers/threshold.js';
import { generationIdOf, loadDescriptions, stableId, type CorpusStore, type Description, type Generation, type Query, type StoreBatch } from '../../storage/index.js';
import { generateExtractive } from './extractive.js';
import { generateRagvl, generateTextOnly, type GenerationInput, type GenerationOutput, type Strategy } from './generate.js';
import type { QueryLabels } from './labels.js';
import { IMAGE_SLOT, loadM2ragInput, type M2ragInput } from './m2rag-input.js';
import { generateMllm, generateMultiStage, generateSingleStage, singleStagePrompts } from './m2rag-generate.js';
import { datasetCaptionsOf, rerank, type RerankResult } from './rerank.js';
import { generateShortAnswer } from './short-answer.js';
import { buildRetrievalCorpus, keptElementsByQuery, retrieve, type KeptElements, type RetrievalCorpus, type Retrieved } from './retrieve.js';

export const RUN_STAGE = 'run';
const M2RAG_STRATEGIES: ReadonlySet<Strategy> = new Set(['single', 'multi', 'mllm']);

export interface RunOptions {
  strategy: Strategy;
  /** Labelled dev set: when given, the rerank threshold is computed from it (RagVL's adaptive threshold). */
  devLabels?: Map<string, QueryLabels>;
  /** Where the rerank threshold came from when no dev set computes it: `--threshold`, or the config (file or default). */
  thresholdSource?: 'flag' | 'config';
}

export interface QueryRunReport {
  queryId: string;
  question: string;
  generationId: string;
  method: string;
  rerankMethod?: string;
  /** Input images: retrieved candidates (ragvl, text) or the query's kept images (M2RAG). */
  retrieved: number;
  keptAfterRerank: number;
  chunks: number;
  cited: number;
  retrieveMs: number;
  rerankMs: number;
  generateMs: number;
  rerankRequests: number;
  rerankFailed: number;
  /** The answer stored for the query (empty when generation failed). */
  answer: string;
  error?: string;
}

/** What the whole run worked with: the strategy, its fallback, and for ragvl the corpus and threshold. */
export interface RunSettings {
  strategy: Strategy;
  /** Set when the strategy's model is not configured and the extractive generator answers instead. */
  fallback?: string;
  pool?: Config['run']['pool'];
  threshold?: { value: number; source: 'flag' | 'config' | 'dev-set'; method: string };
  corpus?: { images: number; chunks: number; imageIndex: string; chunkIndex: string; imageMethod: string };
}

interface Prepared {
  models: Models;
  descriptions: Map<string, Description[]>;
  /** The model the strategy generates with; undefined: extractive fallback. */
  generator?: ChatModel;
  retrieval?: { corpus: RetrievalCorpus; kept: Map<string, KeptElements>; threshold: number; datasetCaptions?: ReadonlyMap<string, string> };
}

/** What a query's generation worked from: its input, and for ragvl how it was chosen. */
interface Found {
  passages: GenerationInput;
  m2rag?: M2ragInput;
  retrieved?: Retrieved;
  reranked?: RerankResult;
}

type Attempt = { ok: true; output: GenerationOutput; ms: number } | { ok: false; reason: string; ms: number };

export class RunStage implements Stage<ModelServices> {
  readonly name: string;
  /** One report per query this run worked on, in order. */
  reports: QueryRunReport[] = [];
  settings?: RunSettings;
  private prepared?: Prepared;

  constructor(private readonly options: RunOptions) {
    this.name = variantStageName(RUN_STAGE, options.strategy);
  }

  async setup(ctx: StageContext<ModelServices>): Promise<void> {
    const { store, config } = ctx;
    const { strategy } = this.options;
    this.reports = [];
    if ((await store.count('queries')) === 0) throw new UserError(`store ${store.dir} has no queries: run \`m2rag build --queries <file>\` first`);
    const models = await ctx.services.models();
    const descriptions = await loadDescriptions(store);
    const wantsVision = strategy === 'mllm' || strategy === 'ragvl-short';
    const generator = wantsVision ? models.vision : models.llm;
    this.settings = { strategy };
    if (!generator) {
      this.settings.fallback = `no ${wantsVision ? 'vision model (models.visionUrl)' : 'LLM (models.llmUrl)'} configured: answers are extractive (model-free), not ${strategy} generation`;
      log.warn({ strategy }, this.settings.fallback);
    }
    this.prepared = { models, descriptions, generator };
    if (M2RAG_STRATEGIES.has(strategy)) return;

    const kept = await keptElementsByQuery(store);
    const corpus = await buildRetrievalCorpus(store, models, config, descriptions, kept);
    if (corpus.chunks.size === 0 && corpus.images.size === 0) {
      throw new UserError(`store ${store.dir} has no kept chunks or images: run \`m2rag build\` (crawl, process, describe, score) first`);
    }
    for (const [reason, n] of Object.entries(corpus.setAside)) ctx.counts.add(`images-set-aside:${reason}`, n);
    const datasetCaptions = config.run.caption === 'dataset' ? datasetCaptionsOf(descriptions) : undefined;
    if (datasetCaptions?.size === 0) throw new UserError(`store ${store.dir} has no dataset captions for --caption dataset: import a benchmark with \`m2rag import --format webqa|mmqa\` first`);
    let threshold = models.vision ? config.run.threshold : config.run.fallbackThreshold;
    if (this.options.devLabels) threshold = await thresholdFromDevSet(store, corpus, models, config, this.options.devLabels, datasetCaptions);
    this.prepared.retrieval = { corpus, kept, threshold, datasetCaptions };
    this.settings = {
      ...this.settings,
      pool: config.run.pool,
      threshold: { value: threshold, source: this.options.devLabels ? 'dev-set' : (this.options.thresholdSource ?? 'config'), method: models.vision ? 'ragvl-yes-no' : 'embedding-description-match' },
      corpus: { images: corpus.images.size, chunks: corpus.chunks.size, imageIndex: corpus.imageIndex.kind, chunkIndex: corpus.chunkIndex.kind, imageMethod: corpus.imageMethod },
    };
  }

  async runQuery(query: Query, ctx: StageContext<ModelServices>, counts: StageCounts, batch: StoreBatch): Promise<void> {
    const prepared = this.prepared!;
    const found = M2RAG_STRATEGIES.has(this.options.strategy) ? await m2ragInputs(query, ctx, prepared) : await findInputs(query, ctx.config, ctx.store, prepared);
    countInputs(found, counts);
    const attempt = await generate(ctx.store, prepared.generator, this.options.strategy, found, ctx.config.run.maxAnswerTokens);
    const generation = generationOf(query, this.options.strategy, found, attempt, prepared);
    const stored = await storeGeneration(ctx.store, batch, generation);
    if (attempt.ok) {
      for (const [key, n] of Object.entries(attempt.output.counts)) if (n > 0) counts.add(key, n);
      counts.add('generations');
      if (!prepared.generator) counts.add('generations-extractive-fallback');
      if (generation.citedImageIds.length > 0) counts.add('generations-citing-images');
    } else {
      counts.fail(`generation: ${attempt.reason}`);
      if (!stored) counts.add('earlier-generation-kept');
    }
    this.reports.push(reportOf(query, found, attempt, generation));
  }

  async teardown(): Promise<void> {
    this.prepared = undefined;
  }
}

function rerankOptions(config: Config, threshold: number, corpus: RetrievalCorpus, datasetCaptions: ReadonlyMap<string, string> | undefined) {
  return { topN: config.run.topN, threshold, fallbackThreshold: threshold, mode: 'concurrent' as const, imageMethod: corpus.imageMethod, caption: config.run.caption, datasetCaptions };
}

/** RagVL's adaptive threshold: rerank the dev queries' candidates, then find where correct and incorrect relevances cross. */
async function thresholdFromDevSet(
  store: CorpusStore,
  corpus: RetrievalCorpus,
  models: Models,
  config: Config,
  labels: Map<string, QueryLabels>,
  datasetCaptions: ReadonlyMap<string, string> | undefined,
): Promise<number> {
  const samples: Array<{ score: number; correct: boolean }> = [];
  for (const [queryId, label] of [...labels].sort(([a], [b]) => a.localeCompare(b))) {
    const query = await store.get('queries', queryId);
    if (!query || !label.relevantImageIds) continue;
    const relevant = new Set(label.relevantImageIds);
    const hits = await retrieve(corpus, models, query.query, { topK: config.run.topK, chunks: 1 });
    const result = await rerank(models, store, query.query, hits.images, corpus.images, rerankOptions(config, 0, corpus, datasetCaptions));
    for (const c of result.candidates) if (c.status === 'ok') samples.push({ score: c.relevance!, correct: relevant.has(c.imageId) });
  }
  const computed = adaptiveThreshold(samples);
  if (!computed.ok) throw new UserError(`dev set: cannot compute a threshold: ${computed.reason}`);
  log.info({ threshold: computed.threshold, correct: computed.correct, incorrect: computed.incorrect }, 'adaptive rerank threshold from the dev set');
  return computed.threshold;
}

/**
 * The M2RAG input, and the same splits and images as passages for the extractive fallback. The
 * fallback gets the images apart, so the slots go from its text (one inside a sentence would stay in the answer).
 */
async function m2ragInputs(query: Query, ctx: StageContext<ModelServices>, prepared: Prepared): Promise<Found> {
  const m2rag = await loadM2ragInput(ctx.store, query, prepared.descriptions, ctx.config.run);
  const passages: GenerationInput = {
    question: query.query,
    chunks: m2rag.pages.map((page) => ({ id: page.pageId, text: page.content.split(IMAGE_SLOT).join(' ') })),
    images: m2rag.images.map((image) => ({ imageId: image.imageId, ext: image.ext, description: image.caption, context: '' })),
  };
  return { passages, m2rag };
}

/** RagVL's retrieve → rerank over kept elements: the query's own pool, or every query's. */
async function findInputs(query: Query, config: Config, store: CorpusStore, prepared: Prepared): Promise<Found> {
  const { corpus, kept, threshold, datasetCaptions } = prepared.retrieval!;
  const pool = config.run.pool === 'query' ? (kept.get(query.id) ?? { chunkIds: new Set<string>(), imageIds: new Set<string>() }) : undefined;
  const retrieved = await retrieve(corpus, prepared.models, query.query, { topK: config.run.topK, chunks: config.run.contextChunks, pool });
  const reranked = await rerank(prepared.models, store, query.query, retrieved.images, corpus.images, rerankOptions(config, threshold, corpus, datasetCaptions));
  const passages: GenerationInput = {
    question: query.query,
    chunks: retrieved.chunks.map((hit) => ({ id: hit.id, text: corpus.chunks.get(hit.id)!.text })),
    images: reranked.kept.map((id) => corpus.images.get(id)!),
  };
  return { passages, retrieved, reranked };
}

function countInputs({ m2rag, retrieved, reranked }: Found, counts: StageCounts): void {
  if (m2rag) {
    for (const [reason, n] of Object.entries(m2rag.setAside)) counts.add(`input-set-aside:${reason}`, n);
    if (m2rag.chunkIds.length === 0) counts.add('queries-without-kept-splits');
    if (m2rag.images.length === 0) counts.add('queries-without-input-images');
    return;
  }
  counts.add('rerank-requests', reranked!.requests);
  counts.add('rerank-failed', reranked!.failed);
  if (retrieved!.images.length === 0) counts.add('queries-without-images-retrieved');
  else if (reranked!.kept.length === 0) counts.add('queries-without-images-after-rerank');
}

async function generate(store: CorpusStore, model: ChatModel | undefined, strategy: Strategy, found: Found, maxTokens: number): Promise<Attempt> {
  const started = performance.now();
  try {
    let output: GenerationOutput;
    if (!model) output = generateExtractive(strategy, found.passages);
    else if (strategy === 'single') output = await generateSingleStage(model, found.m2rag!, maxTokens);
    else if (strategy === 'multi') output = await generateMultiStage(model, found.m2rag!, maxTokens);
    else if (strategy === 'mllm') output = await generateMllm(model, store, found.m2rag!, maxTokens);
    else if (strategy === 'ragvl') output = await generateRagvl(model, found.passages, maxTokens);
    else if (strategy === 'ragvl-short') output = await generateShortAnswer(model, store, found.passages, maxTokens);
    else output = await generateTextOnly(model, found.passages, maxTokens);
    return { ok: true, output, ms: performance.now() - started };
  } catch (error) {
    return { ok: false, reason: failureReason(error), ms: performance.now() - started };
  }
}

const PLANNED_METHOD: Record<Strategy, GenerationOutput['method']> = {
  single: 'llm-single-stage',
  multi: 'llm-multi-stage',
  mllm: 'mllm-single-stage',
  ragvl: 'llm-ragvl',
  'ragvl-short': 'mllm-short-answer',
  text: 'llm-text-only',
};

/** Methods whose answer came from one of the single-stage prompts (the others still record them, unsent, for the training set). */
const SENDS_SINGLE_STAGE = new Set<GenerationOutput['method']>(['llm-single-stage', 'mllm-single-stage']);

function generationOf(query: Query, strategy: Strategy, found: Found, attempt: Attempt, prepared: Prepared): Generation {
  const output = attempt.ok ? attempt.output : undefined;
  const model = prepared.generator;
  const method = output?.method ?? (model ? PLANNED_METHOD[strategy] : 'extractive');
  const chunkIds = found.m2rag?.chunkIds ?? found.passages.chunks.map((c) => c.id);
  const imageIds = found.passages.images.map((i) => i.imageId);
  const { retrieved, reranked } = found;
  return {
    id: generationIdOf(query.id, strategy, method),
    queryId: query.id,
    strategy,
    method,
    ...(attempt.ok ? { status: 'ok' as const } : { status: 'failed' as const, reason: attempt.reason }),
    inputs: { chunkIds, imageIds, prompt: output?.prompt },
    output: output?.output ?? '',
    citedImageIds: (output?.cited ?? []).map((k) => imageIds[k - 1]!),
    usage: output?.usage,
    latencyMs: (retrieved?.latencyMs ?? 0) + (reranked?.latencyMs ?? 0) + attempt.ms,
    provenance: {
      provider: model?.provider ?? 'embedded',
      model: model?.model ?? 'extractive',
      promptVersion: output?.promptVersion,
      inputHash: output?.inputHash || stableId(query.query, ...chunkIds, ...imageIds),
      at: new Date().toISOString(),
    },
    ...(retrieved && reranked
      ? {
          retrieval: {
            imageMethod: prepared.retrieval!.corpus.imageMethod,
            rerankMethod: reranked.method,
            threshold: prepared.retrieval!.threshold,
            candidates: reranked.candidates,
            retrieveMs: retrieved.latencyMs,
            rerankMs: reranked.latencyMs,
            rerankRequests: reranked.requests,
          },
        }
      : {}),
    counts: output?.counts,
    ...(found.m2rag ? { singleStagePrompt: { ...singleStagePrompts(found.m2rag), sent: SENDS_SINGLE_STAGE.has(method) } } : {}),
  };
}

/** Stores the generation, except a failed one where an answer already is: a failed retry never replaces an answer. */
async function storeGeneration(store: CorpusStore, batch: StoreBatch, generation: Generation): Promise<boolean> {
  if (generation.status === 'failed') {
    const earlier = await store.get('generations', generation.id);
    if (earlier && earlier.status !== 'failed') return false;
  }
  batch.put('generations', generation);
  return true;
}

function reportOf(query: Query, found: Found, attempt: Attempt, generation: Generation): QueryRunReport {
  const { retrieved, reranked } = found;
  return {
    queryId: query.id,
    question: query.query,
    generationId: generation.id,
    method: generation.method,
    rerankMethod: reranked?.method,
    retrieved: retrieved?.images.length ?? found.passages.images.length,
    keptAfterRerank: reranked?.kept.length ?? found.passages.images.length,
    chunks: generation.inputs.chunkIds.length,
    cited: generation.citedImageIds.length,
    retrieveMs: retrieved?.latencyMs ?? 0,
    rerankMs: reranked?.latencyMs ?? 0,
    generateMs: attempt.ms,
    rerankRequests: reranked?.requests ?? 0,
    rerankFailed: reranked?.failed ?? 0,
    answer: generation.output,
    ...(attempt.ok ? {} : { error: attempt.reason }),
  };
}
