// The `process-text` stage: for each query's pages, extract the main content to markdown with image
// placeholders, chunk it, and mark exact and near-duplicate pages and chunks against everything
// already kept in the store (fingerprints are stored on the records and loaded at setup, so dedup
// is incremental across runs). Dedup is first-come in query order, so what setup loads must be a
// settled input: only the pages of queries this run does not (re)do. Pages of the queries it works
// on are left out (a killed run may have stored some of them) and are processed again, in order,
// exactly as an uninterrupted run would; a page a settled query already processed is not redone.
import type { Config } from '../../src/core/config.js';
import { StageCounts, type Stage, type StageContext } from '../../src/core/stage.js';
import { countTokens } from '../../src/core/text/tokens.js';
import { chunkIdOf, occurrenceIdOf, type Chunk, type CorpusStore, type Page, type Query, type StoreBatch } from '../../storage/index.js';
import { chunkMarkdown } from './chunk.js';
import { DedupIndex, type Fingerprint } from './dedup-index.js';
import type { ExtractedContent } from './extract.js';
import { ExtractionPool } from './extract-pool.js';
import { placeholdersIn } from '../../src/core/markup/placeholder.js';
import { decodeSignature, encodeSignature, exactHash, minhashSignature, normalizedParagraphs, type MinHashParams } from './minhash.js';

function minhashParams(config: Config): MinHashParams {
  return { bands: config.text.minhashBands, rows: config.text.minhashRows, shingleWords: config.text.shingleWords };
}

function hostOf(page: Page): string {
  try {
    return new URL(page.finalUrl).host;
  } catch {
    return '';
  }
}

function storedFingerprint(record: { textHash?: string; minhash?: string }): Fingerprint | undefined {
  if (!record.textHash || !record.minhash) return undefined;
  return { textHash: record.textHash, signature: decodeSignature(record.minhash) };
}

export const PROCESS_TEXT_STAGE = 'process-text';

export class ProcessTextStage implements Stage {
  readonly name = PROCESS_TEXT_STAGE;
  private pageIndex!: DedupIndex;
  private chunkIndex!: DedupIndex;
  /** Host and page of every kept chunk, to tell site boilerplate from cross-site duplicates. */
  private chunkPages = new Map<string, { pageId: string; host: string }>();
  /** Pages already processed: by a settled query, or earlier in this run. */
  private claimed = new Set<string>();
  private extraction?: ExtractionPool;

  settingsOf(ctx: StageContext): Record<string, unknown> {
    return { text: ctx.config.text };
  }

  async setup(ctx: StageContext): Promise<void> {
    const params = minhashParams(ctx.config);
    this.pageIndex = new DedupIndex(params, ctx.config.text.minhashThreshold);
    this.chunkIndex = new DedupIndex(params, ctx.config.text.minhashThreshold);
    this.chunkPages = new Map();
    this.claimed = await settledPages(ctx);
    // Matching is against the whole store, whatever this worker's shard.
    const hosts = new Map<string, string>();
    for await (const page of ctx.store.iterate('pages')) {
      if (!this.claimed.has(page.id)) continue;
      hosts.set(page.id, hostOf(page));
      const fingerprint = storedFingerprint(page);
      if (fingerprint && !page.duplicateOf) this.pageIndex.add(page.id, fingerprint);
    }
    for await (const chunk of ctx.store.iterate('chunks')) {
      if (!hosts.has(chunk.pageId)) continue;
      const fingerprint = storedFingerprint(chunk);
      if (!fingerprint || chunk.duplicateOf) continue;
      this.chunkIndex.add(chunk.id, fingerprint);
      this.chunkPages.set(chunk.id, { pageId: chunk.pageId, host: hosts.get(chunk.pageId) ?? '' });
    }
  }

  async teardown(): Promise<void> {
    await this.extraction?.close();
    this.extraction = undefined;
  }

  async runQuery(query: Query, ctx: StageContext, counts: StageCounts, batch: StoreBatch): Promise<void> {
    const writes = new QueryWrites(ctx.store, batch);
    for (const pageId of await ctx.store.related('query-pages', query.id)) {
      if (this.claimed.has(pageId)) {
        counts.add('pages-shared-with-earlier-query');
        continue;
      }
      const page = await ctx.store.get('pages', pageId);
      if (!page) {
        counts.drop('page-record-missing');
        continue;
      }
      await this.processPage(page, writes, ctx, counts);
      this.claimed.add(pageId);
    }
  }

  private fingerprint(text: string, ctx: StageContext): Fingerprint | undefined {
    const paragraphs = normalizedParagraphs(text);
    if (paragraphs.length === 0) return undefined;
    return { textHash: exactHash(paragraphs.flat()), signature: minhashSignature(paragraphs, minhashParams(ctx.config)) };
  }

  private async processPage(stored: Page, writes: QueryWrites, ctx: StageContext, counts: StageCounts): Promise<void> {
    const html = await ctx.store.getHtml(stored.id);
    let content: ExtractedContent | undefined;
    let warning: string | undefined;
    if (html === undefined) warning = 'no stored HTML';
    else {
      // Started on the first page, so a run with nothing to do starts no thread.
      this.extraction ??= new ExtractionPool(ctx.config.text.extractTimeoutMs);
      const extraction = await this.extraction.extract(html);
      if (extraction.ok) {
        content = extraction.content;
        if (content.text === '') warning = 'no main content found';
      } else warning = extraction.reason;
    }
    const page: Page = {
      ...stored,
      title: content?.title ?? stored.title,
      byline: content?.byline ?? stored.byline,
      lang: content?.lang ?? stored.lang,
      publishedTime: content?.publishedTime ?? stored.publishedTime,
      markdown: content?.markdown ?? '',
      extractor: content?.extractor ?? 'none',
      extractWarning: warning,
      duplicateOf: undefined,
      // Rebuilt by the later pages that duplicate this one, which are processed again after it.
      duplicateUrls: undefined,
    };
    if (warning) counts.drop(`page-${warning.split(':')[0]!.replace(/ /g, '-')}`);
    if (content) counts.add(`extractor:${content.extractor}`);

    const fingerprint = content ? this.fingerprint(content.text, ctx) : undefined;
    page.textHash = fingerprint?.textHash;
    page.minhash = fingerprint ? encodeSignature(fingerprint.signature) : undefined;
    if (fingerprint) {
      const match = this.pageIndex.match(fingerprint, page.id);
      if (match) {
        page.duplicateOf = match.id;
        const kept = await writes.page(match.id);
        if (kept && !(kept.duplicateUrls ?? []).includes(page.url)) {
          writes.putPage({ ...kept, duplicateUrls: [...(kept.duplicateUrls ?? []), page.url] });
        }
        counts.add(`pages-duplicate-${match.kind}`);
      } else {
        this.pageIndex.add(page.id, fingerprint);
        counts.add('pages-kept');
      }
    }
    writes.putPage(page);
    if (content) await this.addChunks(page, content.markdown, writes, ctx, counts);
  }

  private async addChunks(page: Page, markdown: string, writes: QueryWrites, ctx: StageContext, counts: StageCounts): Promise<void> {
    const { store, config } = ctx;
    const occurrenceIds = await store.related('page-occurrences', page.id);
    const occurrences = new Map((await store.getMany('occurrences', occurrenceIds)).flatMap((o) => (o ? [[o.id, o] as const] : [])));
    const host = hostOf(page);
    const texts = chunkMarkdown(markdown, { maxChars: config.text.chunkChars, maxTokens: config.text.chunkTokens });
    // A page chunked again (another chunk size) may now have fewer chunks: the old extra ones go.
    const current = new Set(texts.map((_, index) => chunkIdOf(page.id, index)));
    const staleIds = (await store.related('page-chunks', page.id)).filter((id) => !current.has(id));
    for (const stale of await store.getMany('chunks', staleIds)) {
      if (!stale) continue;
      if (stale.textHash) this.chunkIndex.forget(stale.id, stale.textHash);
      writes.batch.del('chunks', stale.id).unlink('page-chunks', page.id, stale.id);
      counts.add('chunks-removed-stale');
    }
    for (const [index, text] of texts.entries()) {
      const id = chunkIdOf(page.id, index);
      const chunkOccurrences = placeholdersIn(text).map((k) => occurrenceIdOf(page.id, k));
      const missing = chunkOccurrences.filter((occurrenceId) => !occurrences.has(occurrenceId)).length;
      if (missing > 0) counts.drop('placeholder-without-occurrence', missing);
      const chunk: Chunk = {
        id,
        pageId: page.id,
        index,
        text,
        occurrenceIds: chunkOccurrences,
        imageIds: [...new Set(chunkOccurrences.flatMap((occurrenceId) => occurrences.get(occurrenceId)?.imageId ?? []))],
        tokens: countTokens(text),
      };
      const fingerprint = this.fingerprint(text, ctx);
      if (fingerprint) {
        chunk.textHash = fingerprint.textHash;
        chunk.minhash = encodeSignature(fingerprint.signature);
        const match = this.chunkIndex.match(fingerprint, id);
        const matchPage = match && this.chunkPages.get(match.id);
        if (match && matchPage) {
          chunk.duplicateOf = match.id;
          counts.add('chunks-duplicate');
          // Text repeated on another page of the same site (not a copy of the whole page) is boilerplate.
          if (matchPage.host === host && matchPage.pageId !== page.id && !page.duplicateOf) {
            chunk.boilerplate = true;
            counts.add('chunks-boilerplate');
            const kept = await writes.chunk(match.id);
            if (kept && !kept.boilerplate) writes.putChunk({ ...kept, boilerplate: true });
          }
        } else {
          this.chunkIndex.add(id, fingerprint);
          this.chunkPages.set(id, { pageId: page.id, host });
        }
      }
      writes.putChunk(chunk);
      writes.batch.link('page-chunks', page.id, id);
      counts.add('chunks');
      counts.add('placeholders', chunkOccurrences.length);
    }
  }
}

/** The pages of the queries done by an earlier run and not worked on by this one: a settled input. */
async function settledPages(ctx: StageContext): Promise<Set<string>> {
  const done = new Map<string, boolean>();
  const settled = new Set<string>();
  for await (const [queryId, pageId] of ctx.store.links('query-pages')) {
    if (!done.has(queryId)) done.set(queryId, !ctx.working?.has(queryId) && (await ctx.store.isStageDone(PROCESS_TEXT_STAGE, queryId)));
    if (done.get(queryId)) settled.add(pageId);
  }
  return settled;
}

/** One query's writes, all in the runner's batch; reads of a page or chunk see what the query already wrote. */
class QueryWrites {
  private readonly pages = new Map<string, Page>();
  private readonly chunks = new Map<string, Chunk>();

  constructor(
    private readonly store: CorpusStore,
    readonly batch: StoreBatch,
  ) {}

  async page(id: string): Promise<Page | undefined> {
    return this.pages.get(id) ?? (await this.store.get('pages', id));
  }

  async chunk(id: string): Promise<Chunk | undefined> {
    return this.chunks.get(id) ?? (await this.store.get('chunks', id));
  }

  putPage(page: Page): void {
    this.pages.set(page.id, page);
    this.batch.put('pages', page);
  }

  putChunk(chunk: Chunk): void {
    this.chunks.set(chunk.id, chunk);
    this.batch.put('chunks', chunk);
  }
}

export const processTextStage = new ProcessTextStage();
