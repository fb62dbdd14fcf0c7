// The downstream pipeline per query: retrieve (top K images, top chunks) → rerank (top N over the
// threshold) → generate → store a Generation with its inputs, output, usage, latency and the
// retrieval/rerank details. Bad input is counted, never fatal: a query without images is answered
// from text, a failed generation is counted with its reason.
import type { Config } from '../core/config.js';
import { UserError } from '../core/errors.js';
import { log } from '../core/feedback.js';
import { failureReason } from '../models/errors.js';
import type { Models } from '../models/types.js';
import { adaptiveThreshold } from '../../scorers/threshold.js';
import { loadDescriptions } from '../../storage/export/query-elements.js';
import { stableId, WHOLE, type CorpusStore, type Generation, type Query, type Shard } from '../../storage/index.js';
import { GENERATION_PROMPT_VERSION, generateExtractive, generateWithLlm, type GenerationInput, type GenerationOutput, type Strategy } from './generate.js';
import type { QueryLabels } from './labels.js';
import { rerank, type RerankResult } from './rerank.js';
import { buildRetrievalCorpus, retrieve, type RetrievalCorpus } from './retrieve.js';

export interface RunOptions {
  strategy: Strategy;
  shard?: Shard;
  /** Labelled dev set: when given, the rerank threshold is computed from it (RagVL's adaptive threshold). */
  devLabels?: Map<string, QueryLabels>;
}

export interface QueryRunReport {
  queryId: string;
  question: string;
  generationId?: string;
  method?: string;
  rerankMethod: string;
  retrieved: number;
  keptAfterRerank: number;
  cited: number;
  retrieveMs: number;
  rerankMs: number;
  generateMs: number;
  rerankRequests: number;
  rerankFailed: number;
  error?: string;
}

export interface RunReport {
  queries: QueryRunReport[];
  threshold: { value: number; source: 'config' | 'dev-set'; method: string };
  counts: Record<string, number>;
  corpus: { images: number; chunks: number; imageIndex: string; chunkIndex: string; imageMethod: string };
}

export function generationIdOf(queryId: string, strategy: string, method: string): string {
  return 'g' + stableId(queryId, strategy, method);
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

export async function runQueries(store: CorpusStore, config: Config, models: Models, options: RunOptions): Promise<RunReport> {
  const queries: Query[] = [];
  for await (const q of store.iterate('queries', { shard: options.shard ?? WHOLE })) queries.push(q);
  if ((await store.count('queries')) === 0) throw new UserError(`store ${store.dir} has no queries: run \`m2rag build --queries <file>\` first`);
  const corpus = await buildRetrievalCorpus(store, models, config, await loadDescriptions(store));
  if (corpus.chunks.size === 0 && corpus.images.size === 0) {
    throw new UserError(`store ${store.dir} has no chunks or kept images: run \`m2rag build\` (crawl, process) first`);
  }
  const counts: Record<string, number> = {};
  const add = (key: string, n = 1): void => void (counts[key] = (counts[key] ?? 0) + n);
  for (const [reason, n] of Object.entries(corpus.setAside)) add(`images-set-aside:${reason}`, n);

  const rerankMethod = models.vision ? 'ragvl-yes-no' : 'embedding-description-match';
  let threshold = models.vision ? config.run.threshold : config.run.fallbackThreshold;
  let source: RunReport['threshold']['source'] = 'config';
  if (options.devLabels) {
    threshold = await thresholdFromDevSet(store, corpus, models, config, options.devLabels);
    source = 'dev-set';
  }

  const reports: QueryRunReport[] = [];
  for (const query of queries) {
    const retrieved = await retrieve(corpus, models, query.query, { topK: config.run.topK, chunks: config.run.contextChunks });
    const reranked: RerankResult = await rerank(models, store, query.query, retrieved.images, corpus.images, rerankOptions(config, threshold, corpus));
    add('rerank-requests', reranked.requests);
    add('rerank-failed', reranked.failed);
    if (retrieved.images.length === 0) add('queries-without-images-retrieved');
    else if (reranked.kept.length === 0) add('queries-without-images-after-rerank');
    const input: GenerationInput = {
      question: query.query,
      chunks: retrieved.chunks.map((hit) => ({ id: hit.id, text: corpus.chunks.get(hit.id)!.text })),
      images: reranked.kept.map((id) => corpus.images.get(id)!),
    };
    const report: QueryRunReport = {
      queryId: query.id,
      question: query.query,
      rerankMethod: reranked.method,
      retrieved: retrieved.images.length,
      keptAfterRerank: reranked.kept.length,
      cited: 0,
      retrieveMs: retrieved.latencyMs,
      rerankMs: reranked.latencyMs,
      generateMs: 0,
      rerankRequests: reranked.requests,
      rerankFailed: reranked.failed,
    };
    const started = performance.now();
    let generated: GenerationOutput;
    try {
      generated = models.llm
        ? await generateWithLlm(models.llm, options.strategy, input, config.run.maxAnswerTokens)
        : generateExtractive(options.strategy, input);
    } catch (error) {
      report.error = failureReason(error);
      add('generation-failed');
      log.warn({ queryId: query.id, reason: report.error }, 'generation failed');
      reports.push(report);
      continue;
    }
    report.generateMs = performance.now() - started;
    const citedImageIds = generated.cited.map((k) => input.images[k - 1]!.imageId);
    const generation: Generation = {
      id: generationIdOf(query.id, options.strategy, generated.method),
      queryId: query.id,
      strategy: options.strategy,
      method: generated.method,
      inputs: { chunkIds: input.chunks.map((c) => c.id), imageIds: input.images.map((i) => i.imageId), prompt: generated.prompt },
      output: generated.output,
      citedImageIds,
      usage: generated.usage,
      latencyMs: report.retrieveMs + report.rerankMs + report.generateMs,
      provenance: {
        provider: models.llm?.provider ?? 'embedded',
        model: models.llm?.model ?? 'extractive',
        promptVersion: models.llm ? GENERATION_PROMPT_VERSION : undefined,
        inputHash: generated.inputHash || stableId(query.query, ...input.chunks.map((c) => c.id), ...input.images.map((i) => i.imageId)),
        at: new Date().toISOString(),
      },
      retrieval: {
        imageMethod: corpus.imageMethod,
        rerankMethod: reranked.method,
        threshold,
        candidates: reranked.candidates,
        retrieveMs: report.retrieveMs,
        rerankMs: report.rerankMs,
        rerankRequests: reranked.requests,
      },
      counts: generated.counts,
    };
    await store.put('generations', generation);
    for (const [key, n] of Object.entries(generated.counts)) if (n > 0) add(key, n);
    add('generations');
    if (citedImageIds.length > 0) add('generations-citing-images');
    Object.assign(report, { generationId: generation.id, method: generated.method, cited: citedImageIds.length });
    reports.push(report);
  }
  return {
    queries: reports,
    threshold: { value: threshold, source, method: rerankMethod },
    counts,
    corpus: { images: corpus.images.size, chunks: corpus.chunks.size, imageIndex: corpus.imageIndex.kind, chunkIndex: corpus.chunkIndex.kind, imageMethod: corpus.imageMethod },
  };
}
