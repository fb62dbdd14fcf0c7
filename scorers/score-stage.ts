// The `score` stage: every chunk and every kept image of a query gets component scores (0–10, with
// provenance), a final score and a keep/drop decision with its reason.
//   text  — LLM configured: the M2RAG relevance rubric; else BM25 + embedding similarity (calibrated).
//   image — vision model configured: the M2RAG helpfulness rubric; else layout score +
//           description/context similarity (+ CLIP similarity when an image embedder is configured).
// A judgment that fails (request error, reply without an integer) is stored as `failed` with its
// reason and counted as a failure, so the query stays unmarked and the next run retries it; a failed
// judgment is never kept and never scored 0.
import type { Stage } from '../src/core/stage.js';
import type { ModelServices } from '../src/models/services.js';
import { EMBEDDED_PROVIDER } from '../src/models/embedded-text.js';
import { failureReason } from '../src/models/errors.js';
import type { Models, ChatModel } from '../src/models/types.js';
import { Bm25Index } from '../src/core/text/bm25.js';
import { takeFirstTokens } from '../src/core/text/tokens.js';
import {
  inputHashOf,
  loadDescriptions,
  loadQueryElements,
  occurrenceContextText,
  scoreIdOf,
  type Chunk,
  type CorpusStore,
  type Description,
  type ImageElement,
  type Query,
  type Score,
} from '../storage/index.js';
import { bm25ToScore, clampScore, CLIP_COSINE, cosineToScore, dot, termCoverage } from './calibration.js';
import { imageHelpfulnessMessages, parseRubricScore, RUBRIC_PROMPT_VERSION, textRelevanceMessages, type Judgment } from './rubrics.js';
import { embeddedImageScore, embeddedTextScore, selectChunks, selectImages, type Candidate } from './selection.js';

export const SCORE_STAGE = 'score';

type Draft = Omit<Score, 'kept' | 'reason'> & { reason?: string };

async function judge(model: ChatModel, messages: Parameters<ChatModel['chat']>[0]['messages']): Promise<{ judgment: Judgment; inputHash: string }> {
  try {
    const reply = await model.chat({ messages, maxTokens: 200, temperature: 0 });
    return { judgment: parseRubricScore(reply.text), inputHash: reply.inputHash };
  } catch (error) {
    return { judgment: { ok: false, reason: failureReason(error) }, inputHash: '' };
  }
}

/** Image processing's layout score is about 0–10 (it can go below 0 for decoration): clamped onto 0–10. */
function layoutOnTen(layout: number | undefined): number | undefined {
  if (layout === undefined || !Number.isFinite(layout)) return undefined;
  return clampScore(layout);
}

export async function scoreChunks(query: Query, chunks: Chunk[], models: Models, at: string): Promise<Draft[]> {
  if (chunks.length === 0) return [];
  if (models.llm) {
    const llm = models.llm;
    return Promise.all(
      chunks.map(async (chunk): Promise<Draft> => {
        const { judgment, inputHash } = await judge(llm, textRelevanceMessages(query.query, takeFirstTokens(chunk.text, 1500)));
        const base = { id: scoreIdOf(query.id, 'chunk', chunk.id), queryId: query.id, elementKind: 'chunk' as const, elementId: chunk.id, method: 'llm-rubric' };
        const provenance = { provider: llm.provider, model: llm.model, promptVersion: RUBRIC_PROMPT_VERSION, inputHash, at };
        return judgment.ok
          ? { ...base, status: 'ok', components: { llm: judgment.score }, finalScore: judgment.score, provenance }
          : { ...base, status: 'failed', reason: judgment.reason, components: {}, provenance };
      }),
    );
  }
  const bm25 = new Bm25Index();
  for (const chunk of chunks) bm25.add(chunk.id, chunk.text);
  const raw = new Map(bm25.search(query.query, chunks.length).map((hit) => [hit.id, hit.score]));
  const bestRaw = Math.max(0, ...raw.values());
  // One call for all the chunks: the embedder batches them by length and spreads the batches over its threads.
  const [queryVector, ...chunkVectors] = await models.textEmbedder.embedTexts([query.query, ...chunks.map((c) => c.text)]);
  return chunks.map((chunk, i): Draft => {
    const lexical = bm25ToScore(raw.get(chunk.id) ?? 0, bestRaw, termCoverage(query.query, chunk.text));
    const semantic = cosineToScore(dot(queryVector!, chunkVectors[i]!));
    return {
      id: scoreIdOf(query.id, 'chunk', chunk.id),
      queryId: query.id,
      elementKind: 'chunk',
      elementId: chunk.id,
      status: 'ok',
      components: { bm25: lexical, embedding: semantic },
      finalScore: embeddedTextScore(lexical, semantic),
      method: 'bm25-embedding',
      provenance: { provider: EMBEDDED_PROVIDER, model: `bm25+${models.textEmbedder.model}`, inputHash: inputHashOf(query.query, chunk.text), at },
    };
  });
}

export async function scoreImages(store: CorpusStore, query: Query, images: ImageElement[], models: Models, at: string): Promise<Draft[]> {
  if (images.length === 0) return [];
  const contexts = images.map((e) => e.occurrences.map(occurrenceContextText).find((t) => t !== '') ?? '');
  const base = (e: ImageElement) => ({ id: scoreIdOf(query.id, 'image', e.image.id), queryId: query.id, elementKind: 'image' as const, elementId: e.image.id });
  if (models.vision) {
    const vision = models.vision;
    return Promise.all(
      images.map(async (element, i): Promise<Draft> => {
        const provenance = { provider: vision.provider, model: vision.model, promptVersion: RUBRIC_PROMPT_VERSION, inputHash: '', at };
        const bytes = await store.imageBytes(element.image, { prefer: 'thumbnail' });
        if (!bytes) return { ...base(element), status: 'failed', reason: 'image bytes missing from the blob store', components: {}, method: 'vision-rubric', provenance };
        const { judgment, inputHash } = await judge(vision, imageHelpfulnessMessages(query.query, bytes, takeFirstTokens(contexts[i]!, 300)));
        const components: Record<string, number> = {};
        const layout = layoutOnTen(element.image.filter?.layoutScore);
        if (layout !== undefined) components.layout = layout;
        return judgment.ok
          ? { ...base(element), status: 'ok', components: { ...components, vision: judgment.score }, finalScore: judgment.score, method: 'vision-rubric', provenance: { ...provenance, inputHash } }
          : { ...base(element), status: 'failed', reason: judgment.reason, components, method: 'vision-rubric', provenance: { ...provenance, inputHash } };
      }),
    );
  }
  const descriptionTexts = images.map((e) => e.description?.text ?? '');
  const [queryVector, ...vectors] = await models.textEmbedder.embedTexts([query.query, ...descriptionTexts, ...contexts]);
  let clip: number[] | undefined;
  if (models.imageEmbedder) {
    const bytes = await Promise.all(images.map((e) => store.imageBytes(e.image, { prefer: 'thumbnail' })));
    const present = bytes.map((b, i) => (b ? i : -1)).filter((i) => i >= 0);
    const [clipQuery] = await models.imageEmbedder.embedTexts([query.query]);
    const imageVectors = await models.imageEmbedder.embedImages(present.map((i) => bytes[i]!));
    clip = images.map(() => NaN);
    present.forEach((i, j) => (clip![i] = cosineToScore(dot(clipQuery!, imageVectors[j]!), CLIP_COSINE)));
  }
  return images.map((element, i): Draft => {
    const components: Record<string, number> = {};
    const layout = layoutOnTen(element.image.filter?.layoutScore);
    if (layout !== undefined) components.layout = layout;
    if (descriptionTexts[i]) components.description = cosineToScore(dot(queryVector!, vectors[i]!));
    if (contexts[i]) components.context = cosineToScore(dot(queryVector!, vectors[images.length + i]!));
    if (clip && Number.isFinite(clip[i])) components.clip = clip[i]!;
    const similarities = ['description', 'context', 'clip'].map((k) => components[k]).filter((v): v is number => v !== undefined);
    const models_ = [models.textEmbedder.model, models.imageEmbedder?.model].filter(Boolean).join('+');
    return {
      ...base(element),
      status: 'ok',
      components,
      finalScore: embeddedImageScore(layout, similarities),
      method: models.imageEmbedder ? 'layout-description-context-clip' : 'layout-description-context',
      provenance: { provider: EMBEDDED_PROVIDER, model: models_, inputHash: inputHashOf(query.query, element.image.id, descriptionTexts[i]!, contexts[i]!), at },
    };
  });
}

export function createScoreStage(): Stage<ModelServices> {
  let models: Models | undefined;
  let descriptions = new Map<string, Description[]>();
  /** The stored score ids of each query this run works on: those its elements no longer have are deleted. */
  let storedScores = new Map<string, string[]>();
  return {
    name: SCORE_STAGE,
    async setup(ctx) {
      models = await ctx.services.models();
      descriptions = await loadDescriptions(ctx.store);
      storedScores = new Map();
      for await (const score of ctx.store.iterate('scores')) {
        if (!ctx.working?.has(score.queryId)) continue;
        const ids = storedScores.get(score.queryId) ?? [];
        ids.push(score.id);
        storedScores.set(score.queryId, ids);
      }
    },
    // A query's scores rest only on its own elements and the descriptions loaded at setup, so model
    // replies of several queries may be awaited at once; the embedded scorer's work is CPU, one query at a time.
    queryConcurrency: (ctx) => (models?.llm || models?.vision ? ctx.config.models.concurrency : 1),
    settingsOf(ctx) {
      const named = (m?: { provider: string; model: string }) => (m ? `${m.provider}:${m.model}` : null);
      return { score: ctx.config.score, llm: named(models?.llm), vision: named(models?.vision), textEmbedder: named(models?.textEmbedder), imageEmbedder: named(models?.imageEmbedder) };
    },
    async runQuery(query, ctx, counts, batch) {
      const add = (key: string, n = 1): void => counts.add(key, n);
      // Scores of elements the query no longer has (set aside since, or gone) would outlive them.
      for (const id of storedScores.get(query.id) ?? []) batch.del('scores', id);
      const elements = await loadQueryElements(ctx.store, query, descriptions);
      for (const [reason, n] of Object.entries(elements.setAside)) add(`set-aside:${reason}`, n);
      if (elements.chunks.length === 0 && elements.images.length === 0) {
        add('queries-without-elements');
        return;
      }
      if (elements.images.length === 0) add('queries-without-kept-images');
      const at = new Date().toISOString();
      // At once, so the image texts' batches keep the embedder's threads busy while the chunks' last ones run.
      const [chunkDrafts, imageDrafts] = await Promise.all([scoreChunks(query, elements.chunks, models!, at), scoreImages(ctx.store, query, elements.images, models!, at)]);
      const pageOfChunk = new Map(elements.chunks.map((c) => [c.id, c.pageId]));
      const pageOfImage = new Map(elements.images.map((e) => [e.image.id, e.pageId]));
      const toCandidate = (pageOf: Map<string, string | undefined>) => (d: Draft): Candidate => ({
        id: d.elementId,
        pageId: pageOf.get(d.elementId),
        finalScore: d.status === 'ok' ? d.finalScore : undefined,
      });
      const decisions = new Map([
        ...selectChunks(chunkDrafts.map(toCandidate(pageOfChunk)), ctx.config.score),
        ...selectImages(imageDrafts.map(toCandidate(pageOfImage)), ctx.config.score),
      ]);
      for (const draft of [...chunkDrafts, ...imageDrafts]) {
        const decision = decisions.get(draft.elementId)!;
        const kind = draft.elementKind;
        add(`${kind}s-scored`);
        if (draft.status === 'failed') counts.fail(`${kind}-judgment: ${draft.reason}`);
        if (decision.kept) add(`${kind}s-kept`);
        else add(`dropped:${kind}-${decision.reason}`);
        batch.put('scores', { ...draft, kept: decision.kept, reason: draft.reason ?? decision.reason });
      }
    },
    async teardown() {
      models = undefined;
    },
  };
}
