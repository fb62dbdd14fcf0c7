// The `describe` stage: one stored description, with provenance, for every kept image of each query
// (kept = filter.kept and the representative of its dedup cluster). A cluster shared by several
// pages gets one description per materially different context. With a vision model configured the
// model writes it (`vision-model`); otherwise the embedded describer composes it (`context-template`).
// A failed request is stored as a failed description with its reason and counted as a failure; the
// stage goes on, and a query with failures stays unmarked so the next run retries just those.
//
// With a vision model, several queries run at once and share one bound on the model calls. Queries
// that share a page share its descriptions; within a run, the first query (in query order) to need
// one makes it and the others reuse it, so the records do not depend on which query finishes first.
import pLimit, { type LimitFunction } from 'p-limit';
import { UserError } from '../../src/core/errors.js';
import { log } from '../../src/core/feedback.js';
import { hashOf, ModelCache } from '../../src/models/cache.js';
import { failureReason, ModelRequestError } from '../../src/models/errors.js';
import type { ModelServices } from '../../src/models/services.js';
import type { Models, OcrLine } from '../../src/models/types.js';
import { StageCounts, type Stage, type StageContext } from '../../src/core/stage.js';
import { descriptionIdOf, occurrencesOfQuery, type CorpusStore, type Description, type Image, type Occurrence, type Query, type StoreBatch } from '../../storage/index.js';
import { composeDescription, CONTEXT_TEMPLATE_VERSION } from './context-template.js';
import { contextOf, groupByContext, type DescribeContext } from './contexts.js';
import { cleanDescription, VISION_PROMPT_VERSION, visionRequest } from './vision.js';

export const DESCRIBE_STAGE = 'describe';

type Method = 'vision-model' | 'context-template';

/** A description as a query of this run got it: found in the store, made, or reused from an earlier query of the run. */
interface Made {
  description: Description;
  stored: boolean;
  reused: boolean;
}

interface Target {
  image: Image;
  occurrences: Array<{ occurrence: Occurrence; context: DescribeContext }>;
}

export class DescribeStage implements Stage<ModelServices> {
  readonly name = DESCRIBE_STAGE;
  private models?: Models;
  private method: Method = 'context-template';
  private ocrMemo = new Map<string, Promise<OcrLine[]>>();
  /** Bounds the descriptions being made at once, across all the queries in flight. */
  private describing: LimitFunction = pLimit(1);
  /** This run's descriptions by id, as the first query that needed each one made it (or found it stored). */
  private madeThisRun = new Map<string, Promise<Made>>();
  /** Resolves once the query started last has claimed its descriptions, so claims follow query order. */
  private claimTurn: Promise<void> = Promise.resolve();

  async setup(ctx: StageContext<ModelServices>): Promise<void> {
    this.models = await ctx.services.models();
    const wanted = ctx.config.models.describeMethod;
    if (wanted === 'vision-model' && !this.models.vision) {
      throw new UserError('describe: models.describeMethod is vision-model but no vision model is configured (set M2RAG_VISION_URL and M2RAG_VISION_MODEL, or M2RAG_LLM_URL and M2RAG_LLM_MODEL)');
    }
    this.method = wanted === 'context-template' || !this.models.vision ? 'context-template' : 'vision-model';
    this.ocrMemo = new Map();
    this.madeThisRun = new Map();
    this.describing = pLimit(this.method === 'vision-model' ? ctx.config.models.concurrency : 1);
    log.info({ stage: this.name, method: this.method, model: this.modelName() }, 'describing images');
  }

  private promptVersion(): string {
    return this.method === 'vision-model' ? VISION_PROMPT_VERSION : CONTEXT_TEMPLATE_VERSION;
  }

  settingsOf(ctx: StageContext<ModelServices>): Record<string, unknown> {
    const { describeMethod, describeMaxTokens } = ctx.config.models;
    const { contextTokensAbove, contextTokensBelow } = ctx.config.images;
    return { method: this.method, model: this.modelName(), promptVersion: this.promptVersion(), describeMethod, describeMaxTokens, contextTokensAbove, contextTokensBelow };
  }

  private modelName(): string {
    const models = this.models!;
    return this.method === 'vision-model' ? models.vision!.model : `${models.ocr.model}+${models.textEmbedder.model}`;
  }

  /** Model calls wait on the network, so queries overlap; the embedded describer is CPU-bound and runs one query at a time. */
  queryConcurrency(ctx: StageContext<ModelServices>): number {
    return this.method === 'vision-model' ? ctx.config.models.concurrency : 1;
  }

  async teardown(): Promise<void> {
    this.madeThisRun = new Map();
    this.ocrMemo = new Map();
  }

  async runQuery(query: Query, ctx: StageContext<ModelServices>, counts: StageCounts, batch: StoreBatch): Promise<void> {
    // The runner starts queries in order; taking the turn before the first await keeps that order for the claims.
    const turn = this.claimTurn;
    let claimed!: () => void;
    this.claimTurn = new Promise((resolve) => (claimed = resolve));
    const work: Array<Promise<void>> = [];
    try {
      const targets = await this.targetsOf(query, ctx.store, counts);
      await turn;
      for (const target of targets.values()) {
        for (const group of groupByContext(target.occurrences)) work.push(this.describeGroup(target.image, group, ctx, counts, batch));
      }
      counts.add('images-to-describe', targets.size);
    } finally {
      claimed();
    }
    await Promise.all(work);
  }

  /** One description for a group of alike occurrences; claims it synchronously (before its first await). */
  private async describeGroup(image: Image, group: Target['occurrences'], ctx: StageContext<ModelServices>, counts: StageCounts, batch: StoreBatch): Promise<void> {
    const id = descriptionIdOf(image.id, group[0]!.occurrence.id, this.method, this.modelName());
    if (group.length > 1) counts.add('occurrences-sharing-a-description', group.length - 1);
    const earlier = this.madeThisRun.get(id);
    const making = (async (): Promise<Made> => {
      const made = await earlier;
      if (made?.description.status === 'ok') return { ...made, reused: true };
      // None yet, or a failed earlier attempt, which is made again as it would be once stored.
      return this.describing(() => this.makeUnlessStored(id, image, group, ctx));
    })();
    this.madeThisRun.set(id, making);
    const made = await making;
    // One an earlier query made goes into this query's batch too, so this query is whole even if that one never commits.
    if (made.reused && !made.stored) batch.put('descriptions', made.description);
    if (made.reused || made.stored) {
      counts.add('already-described');
      return;
    }
    batch.put('descriptions', made.description);
    if (made.description.status === 'ok') counts.add(`described:${made.description.method}`);
    else counts.fail(made.description.reason!);
  }

  private async makeUnlessStored(id: string, image: Image, group: Target['occurrences'], ctx: StageContext): Promise<Made> {
    const existing = await ctx.store.get('descriptions', id);
    // A description made by an older prompt or template version is made again.
    if (existing?.status === 'ok' && existing.provenance.promptVersion === this.promptVersion()) return { description: existing, stored: true, reused: false };
    return { description: await this.describe(id, image, group, ctx), stored: false, reused: false };
  }

  /** Kept images of the query, each with the occurrences that show it (or a near-duplicate of it). */
  private async targetsOf(query: Query, store: CorpusStore, counts: StageCounts): Promise<Map<string, Target>> {
    const images = new Map<string, Image | undefined>();
    const imageOf = async (id: string): Promise<Image | undefined> => {
      if (!images.has(id)) images.set(id, await store.get('images', id));
      return images.get(id);
    };
    const targets = new Map<string, Target>();
    // In id order: a context group's first occurrence names its description, so the order must not vary.
    const occurrences = (await occurrencesOfQuery(store, query.id)).sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const occurrence of occurrences) {
      if (!occurrence.imageId) {
        counts.drop('occurrence-without-image');
        continue;
      }
      const image = await imageOf(occurrence.imageId);
      if (!image) {
        counts.drop('image-record-missing');
        continue;
      }
      const representative = image.representativeId && image.representativeId !== image.id ? await imageOf(image.representativeId) : image;
      if (!representative?.filter) {
        counts.drop('image-not-processed');
        continue;
      }
      if (!representative.filter.kept) {
        counts.drop('image-not-kept');
        continue;
      }
      let target = targets.get(representative.id);
      if (!target) targets.set(representative.id, (target = { image: representative, occurrences: [] }));
      target.occurrences.push({ occurrence, context: contextOf(occurrence, query) });
    }
    return targets;
  }

  private async describe(id: string, image: Image, group: Target['occurrences'], ctx: StageContext): Promise<Description> {
    const models = this.models!;
    const { context, occurrence } = group[0]!;
    const provider = this.method === 'vision-model' ? models.vision!.provider : models.ocr.provider;
    const model = this.modelName();
    const promptVersion = this.promptVersion();
    const base = {
      id,
      imageId: image.id,
      occurrenceId: occurrence.id,
      occurrenceIds: group.map((g) => g.occurrence.id),
      method: this.method,
      provenance: { provider, model, promptVersion, inputHash: hashOf({ promptVersion, provider, model, imageId: image.id, context }), at: new Date().toISOString() },
    };
    try {
      if (this.method === 'vision-model') {
        const bytes = await this.imageBytes(image, ctx.store, true);
        const reply = await models.vision!.chat(visionRequest(bytes, context, ctx.config.models.describeMaxTokens));
        return { ...base, status: 'ok', text: cleanDescription(reply.text) };
      }
      const lines = await this.ocrOf(image, ctx.store);
      const composed = await composeDescription(context, lines, models.textEmbedder);
      return { ...base, status: 'ok', text: composed.text, sources: composed.sources };
    } catch (error) {
      return { ...base, status: 'failed', reason: failureReason(error) };
    }
  }

  private async imageBytes(image: Image, store: CorpusStore, preferThumbnail: boolean): Promise<Uint8Array> {
    const bytes = await store.imageBytes(image, { prefer: preferThumbnail ? 'thumbnail' : 'original' });
    if (!bytes) throw new ModelRequestError('invalid-input', 'the image bytes are not in the blob store');
    return bytes;
  }

  /** OCR of the full-size image, once per image per run and cached in the store across runs. */
  private ocrOf(image: Image, store: CorpusStore): Promise<OcrLine[]> {
    let lines = this.ocrMemo.get(image.id);
    if (!lines) {
      lines = (async () => {
        const ocr = this.models!.ocr;
        const cache = new ModelCache(store);
        const key = hashOf({ provider: ocr.provider, model: ocr.model, task: 'ocr', imageId: image.id });
        const hit = await cache.get<OcrLine[]>(key);
        if (hit) return hit;
        try {
          const recognized = await ocr.recognize(await this.imageBytes(image, store, false));
          await cache.put(key, ocr.provider, ocr.model, recognized);
          return recognized;
        } catch (error) {
          // An image OCR cannot read still gets a description from its context.
          log.warn({ imageId: image.id, err: (error as Error).message }, 'OCR failed; describing from context only');
          return [];
        }
      })();
      this.ocrMemo.set(image.id, lines);
    }
    return lines;
  }
}
