// The `process-text` stage: for each query's pages, extract the main content to markdown with image
// placeholders, chunk it, and mark exact and near-duplicate pages and chunks against everything
// already kept in the store (fingerprints are stored on the records and loaded at setup, so dedup
// is incremental across runs). Pages are processed again when their query is; stable ids and marks
// that exclude the page itself make that idempotent.
import type { Config } from '../../src/core/config.js';
import { StageCounts, type Stage, type StageContext } from '../../src/core/stage.js';
import { countTokens } from '../../src/core/text/tokens.js';
import { chunkIdOf, occurrenceIdOf, type Chunk, type Page, type Query, type StoreBatch } from '../../storage/index.js';
import { chunkMarkdown } from './chunk.js';
import { DedupIndex, type Fingerprint } from './dedup-index.js';
import { extractMainContent, type ExtractedContent } from './extract.js';
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

export class ProcessTextStage implements Stage {
  readonly name = 'process-text';
  private pageIndex!: DedupIndex;
  private chunkIndex!: DedupIndex;
  /** Host and page of every kept chunk, to tell site boilerplate from cross-site duplicates. */
  private chunkPages = new Map<string, { pageId: string; host: string }>();
  private processedThisRun = new Set<string>();

  settingsOf(ctx: StageContext): Record<string, unknown> {
    return { text: ctx.config.text };
  }

  async setup(ctx: StageContext): Promise<void> {
    const params = minhashParams(ctx.config);
    this.pageIndex = new DedupIndex(params, ctx.config.text.minhashThreshold);
    this.chunkIndex = new DedupIndex(params, ctx.config.text.minhashThreshold);
    this.chunkPages = new Map();
    this.processedThisRun = new Set();
    // Matching is against the whole store, whatever this worker's shard.
    const hosts = new Map<string, string>();
    for await (const page of ctx.store.iterate('pages')) {
      hosts.set(page.id, hostOf(page));
      const fingerprint = storedFingerprint(page);
      if (fingerprint && !page.duplicateOf) this.pageIndex.add(page.id, fingerprint);
    }
    for await (const chunk of ctx.store.iterate('chunks')) {
      const fingerprint = storedFingerprint(chunk);
      if (!fingerprint || chunk.duplicateOf) continue;
      this.chunkIndex.add(chunk.id, fingerprint);
      this.chunkPages.set(chunk.id, { pageId: chunk.pageId, host: hosts.get(chunk.pageId) ?? '' });
    }
  }

  async runQuery(query: Query, ctx: StageContext, counts: StageCounts): Promise<void> {
    for (const pageId of await ctx.store.related('query-pages', query.id)) {
      if (this.processedThisRun.has(pageId)) {
        counts.add('pages-shared-with-earlier-query');
        continue;
      }
      const page = await ctx.store.get('pages', pageId);
      if (!page) {
        counts.drop('page-record-missing');
        continue;
      }
      await this.processPage(page, ctx, counts);
      this.processedThisRun.add(pageId);
    }
  }

  private fingerprint(text: string, ctx: StageContext): Fingerprint | undefined {
    const paragraphs = normalizedParagraphs(text);
    if (paragraphs.length === 0) return undefined;
    return { textHash: exactHash(paragraphs.flat()), signature: minhashSignature(paragraphs, minhashParams(ctx.config)) };
  }

  private async processPage(stored: Page, ctx: StageContext, counts: StageCounts): Promise<void> {
    const { store } = ctx;
    const html = await store.getHtml(stored.id);
    let content: ExtractedContent | undefined;
    let warning: string | undefined;
    if (html === undefined) warning = 'no stored HTML';
    else {
      try {
        content = extractMainContent(html);
        if (content.text === '') warning = 'no main content found';
      } catch (error) {
        warning = `extraction failed: ${(error as Error).message}`;
      }
    }
    const batch = store.batch();
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
        const kept = await store.get('pages', match.id);
        if (kept && !(kept.duplicateUrls ?? []).includes(page.url)) {
          batch.put('pages', { ...kept, duplicateUrls: [...(kept.duplicateUrls ?? []), page.url] });
        }
        counts.add(`pages-duplicate-${match.kind}`);
      } else {
        this.pageIndex.add(page.id, fingerprint);
        counts.add('pages-kept');
      }
    }
    batch.put('pages', page);
    if (content) await this.addChunks(page, content.markdown, batch, ctx, counts);
    await batch.write();
  }

  private async addChunks(page: Page, markdown: string, batch: StoreBatch, ctx: StageContext, counts: StageCounts): Promise<void> {
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
      batch.del('chunks', stale.id).unlink('page-chunks', page.id, stale.id);
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
            const kept = await store.get('chunks', match.id);
            if (kept && !kept.boilerplate) batch.put('chunks', { ...kept, boilerplate: true });
          }
        } else {
          this.chunkIndex.add(id, fingerprint);
          this.chunkPages.set(id, { pageId: page.id, host });
        }
      }
      batch.put('chunks', chunk).link('page-chunks', page.id, id);
      counts.add('chunks');
      counts.add('placeholders', chunkOccurrences.length);
    }
  }
}

export const processTextStage = new ProcessTextStage();
