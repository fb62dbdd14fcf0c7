// The `run` stage, per query: retrieve (top K images, top chunks) → rerank (top N over the
// threshold) → generate → store a Generation with its inputs, output, usage, latency and the
// retrieval/rerank details. The retrieval index over the whole corpus is built once, in setup.
// Bad input is counted, never fatal: a query without images is answered from text. A failed
// generation is stored with its reason (unless an earlier answer exists, which it never replaces)
// and counted as a failure, so the query stays unmarked and the next run retries it.
import type { Config } from '../core/config.js';
import { UserError } from '../core/errors.js';
import { log } from '../core/feedback.js';
import type { Stage, StageContext, StageCounts } from '../core/stage.js';
import { failureReason } from '../models/errors.js';
import type { ModelServices } from '../models/services.js';
import type { Models } from '../models/types.js';
import { adaptiveThreshold } from '../../scorers/threshold.js';
import { generationIdOf, loadDescriptions, stableId, type CorpusStore, type Generation, type Query } from '../../storage/index.js';
import { generateExtractive } from './extractive.js';
import { GENERATION_PROMPT_VERSION, generateWithLlm, generationMethodOf, type GenerationInput, type GenerationOutput, type Strategy } from './generate.js';
import type { QueryLabels } from './labels.js';
import { rerank, type RerankResult } from './rerank.js';
import { buildRetrievalCorpus, retrieve, type RetrievalCorpus, type Retrieved } from './retrieve.js';

export const RUN_STAGE = 'run';

export interface RunOptions {
  strategy: Strategy;
  /** Labelled dev set: when given, the rerank threshold is computed from it (RagVL's adaptive threshold). */
  devLabels?: Map<string, QueryLabels>;
}

export interface QueryRunReport {
  queryId: string;
  question: string;
  generationId: string;
  method: string;
  rerankMethod: string;
  retrieved: number;
  keptAfterRerank: number;
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

/** What the whole run worked with: the retrieval corpus and the rerank threshold. */
export interface RunSettings {
  threshold: { value: number; source: 'config' | 'dev-set'; method: string };
  corpus: { images: number; chunks: number; imageIndex: string; chunkIndex: string; imageMethod: string };
}

interface Prepared {
  models: Models;
  corpus: RetrievalCorpus;
  threshold: number;
}

/** What retrieval and reranking found for a query: the generator's input, and how it was chosen. */
interface Found {
  input: GenerationInput;
  retrieved: Retrieved;
  reranked: RerankResult;
}

type Attempt = { ok: true; output: GenerationOutput; ms: number } | { ok: false; reason: string; ms: number };

export class RunStage implements Stage<ModelServices> {
  readonly name = RUN_STAGE;
  /** One report per query this run worked on, in order. */
  reports: QueryRunReport[] = [];
  settings?: RunSettings;
  private prepared?: Prepared;

  constructor(private readonly options: RunOptions) {}

  async setup(ctx: StageContext<ModelServices>): Promise<void> {
    const { store, config } = ctx;
    this.reports = [];
    if ((await store.count('queries')) === 0) throw new UserError(`store ${store.dir} has no queries: run \`m2rag build --queries <file>\` first`);
    const models = await ctx.services.models();
    const corpus = await buildRetrievalCorpus(store, models, config, await loadDescriptions(store));
    if (corpus.chunks.size === 0 && corpus.images.size === 0) {
      throw new UserError(`store ${store.dir} has no chunks or kept images: run \`m2rag build\` (crawl, process) first`);
    }
    for (const [reason, n] of Object.entries(corpus.setAside)) ctx.counts.add(`images-set-aside:${reason}`, n);
    let threshold = models.vision ? config.run.threshold : config.run.fallbackThreshold;
    if (this.options.devLabels) threshold = await thresholdFromDevSet(store, corpus, models, config, this.options.devLabels);
    this.prepared = { models, corpus, threshold };
    this.settings = {
      threshold: { value: threshold, source: this.options.devLabels ? 'dev-set' : 'config', method: models.vision ? 'ragvl-yes-no' : 'embedding-description-match' },
      corpus: { images: corpus.images.size, chunks: corpus.chunks.size, imageIndex: corpus.imageIndex.kind, chunkIndex: corpus.chunkIndex.kind, imageMethod: corpus.imageMethod },
    };
  }

  async runQuery(query: Query, ctx: StageContext<ModelServices>, counts: StageCounts): Promise<void> {
    const prepared = this.prepared!;
    const found = await findInputs(query, ctx.config, ctx.store, prepared);
    countRetrieval(found, counts);
    const attempt = await generate(prepared.models, this.options.strategy, found.input, ctx.config.run.maxAnswerTokens);
    const generation = generationOf(query, this.options.strategy, found, attempt, prepared);
    const stored = await storeGeneration(ctx.store, generation);
    if (attempt.ok) {
      for (const [key, n] of Object.entries(attempt.output.counts)) if (n > 0) counts.add(key, n);
      counts.add('generations');
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

function rerankOptions(config: Config, threshold: number, corpus: RetrievalCorpus) {
  return { topN: config.run.topN, threshold, fallbackThreshold: threshold, mode: 'concurrent' as const, imageMethod: corpus.imageMethod };
}

/** RagVL's adaptive threshold: rerank the dev queries' candidates, then find where correct and incorrect relevances cross. */
async function thresholdFromDevSet(store: CorpusStore, corpus: RetrievalCorpus, models: Models, config: Config, labels: Map<string, QueryLabels>): Promise<number> {
  const samples: Array<{ score: number; correct: boolean }> = [];
  for (const [queryId, label] of [...labels].sort(([a], [b]) => a.localeCompare(b))) {
    const query = await store.get('queries', queryId);
    if (!query || !label.relevantImageIds) continue;
    const relevant = new Set(label.relevantImageIds);
    const hits = await retrieve(corpus, models, query.query, { topK: config.run.topK, chunks: 1 });
    const result = await rerank(models, store, query.query, hits.images, corpus.images, rerankOptions(config, 0, corpus));
    for (const c of result.candidates) if (c.status === 'ok') samples.push({ score: c.relevance!, correct: relevant.has(c.imageId) });
  }
  const computed = adaptiveThreshold(samples);
  if (!computed.ok) throw new UserError(`dev set: cannot compute a threshold: ${computed.reason}`);
  log.info({ threshold: computed.threshold, correct: computed.correct, incorrect: computed.incorrect }, 'adaptive rerank threshold from the dev set');
  return computed.threshold;
}

async function findInputs(query: Query, config: Config, store: CorpusStore, { models, corpus, threshold }: Prepared): Promise<Found> {
  const retrieved = await retrieve(corpus, models, query.query, { topK: config.run.topK, chunks: config.run.contextChunks });
  const reranked = await rerank(models, store, query.query, retrieved.images, corpus.images, rerankOptions(config, threshold, corpus));
  const input: GenerationInput = {
    question: query.query,
    chunks: retrieved.chunks.map((hit) => ({ id: hit.id, text: corpus.chunks.get(hit.id)!.text })),
    images: reranked.kept.map((id) => corpus.images.get(id)!),
  };
  return { input, retrieved, reranked };
}

function countRetrieval({ retrieved, reranked }: Found, counts: StageCounts): void {
  counts.add('rerank-requests', reranked.requests);
  counts.add('rerank-failed', reranked.failed);
  if (retrieved.images.length === 0) counts.add('queries-without-images-retrieved');
  else if (reranked.kept.length === 0) counts.add('queries-without-images-after-rerank');
}

async function generate(models: Models, strategy: Strategy, input: GenerationInput, maxTokens: number): Promise<Attempt> {
  const started = performance.now();
  try {
    const output = models.llm ? await generateWithLlm(models.llm, strategy, input, maxTokens) : generateExtractive(strategy, input);
    return { ok: true, output, ms: performance.now() - started };
  } catch (error) {
    return { ok: false, reason: failureReason(error), ms: performance.now() - started };
  }
}

function generationOf(query: Query, strategy: Strategy, { input, retrieved, reranked }: Found, attempt: Attempt, { models, corpus, threshold }: Prepared): Generation {
  const output = attempt.ok ? attempt.output : undefined;
  const method = output?.method ?? generationMethodOf(strategy, models.llm !== undefined);
  const chunkIds = input.chunks.map((c) => c.id);
  const imageIds = input.images.map((i) => i.imageId);
  return {
    id: generationIdOf(query.id, strategy, method),
    queryId: query.id,
    strategy,
    method,
    ...(attempt.ok ? { status: 'ok' as const } : { status: 'failed' as const, reason: attempt.reason }),
    inputs: { chunkIds, imageIds, prompt: output?.prompt },
    output: output?.output ?? '',
    citedImageIds: (output?.cited ?? []).map((k) => input.images[k - 1]!.imageId),
    usage: output?.usage,
    latencyMs: retrieved.latencyMs + reranked.latencyMs + attempt.ms,
    provenance: {
      provider: models.llm?.provider ?? 'embedded',
      model: models.llm?.model ?? 'extractive',
      promptVersion: models.llm ? GENERATION_PROMPT_VERSION : undefined,
      inputHash: output?.inputHash || stableId(query.query, ...chunkIds, ...imageIds),
      at: new Date().toISOString(),
    },
    retrieval: {
      imageMethod: corpus.imageMethod,
      rerankMethod: reranked.method,
      threshold,
      candidates: reranked.candidates,
      retrieveMs: retrieved.latencyMs,
      rerankMs: reranked.latencyMs,
      rerankRequests: reranked.requests,
    },
    counts: output?.counts,
  };
}

/** Stores the generation, except a failed one where an answer already is: a failed retry never replaces an answer. */
async function storeGeneration(store: CorpusStore, generation: Generation): Promise<boolean> {
  if (generation.status === 'failed') {
    const earlier = await store.get('generations', generation.id);
    if (earlier && earlier.status !== 'failed') return false;
  }
  await store.put('generations', generation);
  return true;
}

function reportOf(query: Query, { retrieved, reranked }: Found, attempt: Attempt, generation: Generation): QueryRunReport {
  return {
    queryId: query.id,
    question: query.query,
    generationId: generation.id,
    method: generation.method,
    rerankMethod: reranked.method,
    retrieved: retrieved.images.length,
    keptAfterRerank: reranked.kept.length,
    cited: generation.citedImageIds.length,
    retrieveMs: retrieved.latencyMs,
    rerankMs: reranked.latencyMs,
    generateMs: attempt.ms,
    rerankRequests: reranked.requests,
    rerankFailed: reranked.failed,
    answer: generation.output,
    ...(attempt.ok ? {} : { error: attempt.reason }),
  };
}
