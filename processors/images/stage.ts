// The `process-images` stage. Per query: decode and normalize every image its pages and image
// search found (once per image, whatever the number of queries), give every occurrence its context
// from the page markdown, and apply the filters over all of each image's occurrences. After all
// queries: cluster near-duplicates over the whole store from the stored hashes.
import pLimit from 'p-limit';
import type { Config } from '../../src/core/config.js';
import { StageCounts, type Stage, type StageContext } from '../../src/core/stage.js';
import {
  clusterIdOf,
  inShard,
  occurrencesOfQuery,
  sha256Hex,
  type CorpusStore,
  type Image,
  type Occurrence,
  type Query,
  type StoreBatch,
} from '../../storage/index.js';
import { buildOccurrenceContext } from './context.js';
import { chooseRepresentative } from './cluster.js';
import { encodeFingerprint, fingerprintFrom, fingerprintOf } from './fingerprint.js';
import { clusterFingerprints, nearDuplicateOptionsFrom } from './near-dup.js';
import { decodeImage, type DecodeOptions } from './decode.js';
import { filterImage, type FilterSettings, type OccurrenceSignals } from './filters.js';

export const PROCESS_IMAGES_STAGE = 'process-images';
const CLUSTER_WRITE_BATCH = 500;

type ImageSettings = Config['images'];

export function decodeOptionsFrom(images: ImageSettings): DecodeOptions {
  return {
    pixelLimit: images.decodePixelLimit,
    thumbnailSide: images.thumbnailSide,
    thumbnailFormat: images.thumbnailFormat,
    thumbnailQuality: images.thumbnailQuality,
  };
}

export function filterSettingsFrom(images: ImageSettings): FilterSettings {
  return {
    minPixels: images.minPixels,
    maxPixels: images.maxPixels,
    minBytes: images.minBytes,
    maxAspectRatio: images.maxAspectRatio,
    minLayoutScore: images.minLayoutScore,
  };
}

/** The first part of a reason (`too-small-file: 5000 < 20480` → `too-small-file`), for counting. */
function reasonKind(reason: string): string {
  return reason.split(':')[0]!;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Decodes an image not decoded yet; returns the updated record, or the same one when nothing was to do. */
async function normalizeStored(store: CorpusStore, image: Image, options: DecodeOptions, thumbnails: Map<string, Buffer>, counts: StageCounts): Promise<Image> {
  const decoded =
    image.decodeError !== undefined ||
    (image.phash !== undefined && image.fingerprint !== undefined && (options.thumbnailSide === 0 || image.thumbnailId !== undefined));
  if (decoded) {
    counts.add('images-already-normalized');
    // A decoded image whose original is gone would export as a file that is absent: say so (doctor --repair fetches it again).
    if (!(await store.hasBlob(image.id))) counts.add('images-blob-missing');
    return image;
  }
  const bytes = await store.getBlob(image.id);
  if (!bytes) {
    counts.add('decode-failed:blob-missing');
    return { ...image, decodeError: 'blob-missing: the image bytes are not in the blob store' };
  }
  const result = await decodeImage(bytes, options);
  if (!result.ok) {
    counts.add(`decode-failed:${reasonKind(result.reason)}`);
    return { ...image, decodeError: result.reason };
  }
  counts.add('images-normalized');
  const updated: Image = {
    ...image,
    width: result.width,
    height: result.height,
    format: result.format,
    phash: result.phash,
    dhash: result.dhash,
  };
  try {
    updated.fingerprint = encodeFingerprint(await fingerprintOf(bytes, options.pixelLimit));
  } catch (error) {
    // The hashes above still stand; the image is only left out of near-duplicate clustering.
    counts.add(`fingerprint-failed:${reasonKind((error as Error).message)}`);
  }
  if (result.frames !== undefined) updated.frames = result.frames;
  if (result.colorSpace !== undefined) updated.colorSpace = result.colorSpace;
  if (result.thumbnail === 'original') updated.thumbnailId = image.id;
  else if (result.thumbnail) {
    updated.thumbnailId = sha256Hex(result.thumbnail);
    thumbnails.set(updated.thumbnailId, result.thumbnail);
  }
  return updated;
}

/** What one query's pages tell about their occurrences: markdown, chunk ids, image counts. */
class PageFacts {
  private readonly cache = new Map<string, Promise<{ markdown?: string; imageCount: number; chunkOf: Map<string, string> }>>();

  constructor(private readonly store: CorpusStore) {}

  of(pageId: string): Promise<{ markdown?: string; imageCount: number; chunkOf: Map<string, string> }> {
    let facts = this.cache.get(pageId);
    if (!facts) {
      facts = this.load(pageId);
      this.cache.set(pageId, facts);
    }
    return facts;
  }

  private async load(pageId: string): Promise<{ markdown?: string; imageCount: number; chunkOf: Map<string, string> }> {
    const [page, occurrenceIds, chunkIds] = await Promise.all([
      this.store.get('pages', pageId),
      this.store.related('page-occurrences', pageId),
      this.store.related('page-chunks', pageId),
    ]);
    const chunkOf = new Map<string, string>();
    for (const chunk of await this.store.getMany('chunks', chunkIds)) {
      for (const occurrenceId of chunk?.occurrenceIds ?? []) if (!chunkOf.has(occurrenceId)) chunkOf.set(occurrenceId, chunk!.id);
    }
    return { markdown: page?.markdown, imageCount: occurrenceIds.length, chunkOf };
  }
}

async function processQuery(query: Query, ctx: StageContext, counts: StageCounts, batch: StoreBatch): Promise<void> {
  const { store, config } = ctx;
  const budget = { tokensAbove: config.images.contextTokensAbove, tokensBelow: config.images.contextTokensBelow };
  const pages = new PageFacts(store);

  // Context for every occurrence; the updated records are what the filters then read.
  const updatedOccurrences = new Map<string, Occurrence>();
  for (const occurrence of await occurrencesOfQuery(store, query.id)) {
    const facts = occurrence.pageId ? await pages.of(occurrence.pageId) : undefined;
    if (occurrence.kind === 'page' && facts?.markdown === undefined) counts.add('occurrences-page-without-markdown');
    const context = buildOccurrenceContext({ occurrence, markdown: facts?.markdown, chunkId: facts?.chunkOf.get(occurrence.id), budget });
    if (context.inMainContent === false) counts.add('occurrences-not-in-main-text');
    if (occurrence.imageId === undefined) counts.add('occurrences-without-image');
    counts.add('occurrences-contextualized');
    const updated = { ...occurrence, context };
    updatedOccurrences.set(occurrence.id, updated);
    if (!sameJson(occurrence.context, context)) batch.put('occurrences', updated);
  }

  const imageIds = [...new Set([...updatedOccurrences.values()].flatMap((o) => (o.imageId ? [o.imageId] : [])))];
  const decodeOptions = decodeOptionsFrom(config.images);
  const settings = filterSettingsFrom(config.images);
  const thumbnails = new Map<string, Buffer>();
  const limit = pLimit(config.images.decodeConcurrency);
  await Promise.all(
    imageIds.map((imageId) =>
      limit(async () => {
        const stored = await store.get('images', imageId);
        if (!stored) {
          counts.drop('image-record-missing');
          return;
        }
        const image = await normalizeStored(store, stored, decodeOptions, thumbnails, counts);
        const occurrenceIds = await store.related('image-occurrences', imageId);
        const occurrences = await store.getMany('occurrences', occurrenceIds.filter((id) => !updatedOccurrences.has(id)));
        const signals: OccurrenceSignals[] = [];
        for (const occurrence of [...occurrences, ...occurrenceIds.map((id) => updatedOccurrences.get(id))]) {
          if (!occurrence) continue;
          const pageImageCount = occurrence.pageId ? (await pages.of(occurrence.pageId)).imageCount : undefined;
          signals.push({ occurrence, pageImageCount });
        }
        const filter = filterImage(image, signals, settings);
        if (filter.kept) counts.add('images-kept');
        for (const reason of filter.reasons) counts.drop(reasonKind(reason));
        const updated = { ...image, filter };
        if (!sameJson(stored, updated)) batch.put('images', updated);
      }),
    ),
  );
  for (const [sha256, bytes] of thumbnails) batch.putBlob(bytes, sha256);
  counts.add('images', imageIds.length);
}

/** Clusters every hashed image in the store; writes cluster fields of the images in this shard that changed. */
async function clusterCorpus(ctx: StageContext): Promise<void> {
  const { store, config, shard, counts } = ctx;
  type Member = Pick<Image, 'id' | 'width' | 'height' | 'bytes' | 'clusterId' | 'representativeId' | 'fingerprint'> & {
    phash: string;
    dhash: string;
    kept?: boolean;
  };
  const members: Member[] = [];
  for await (const image of store.iterate('images')) {
    if (!image.phash || !image.dhash) continue;
    members.push({
      id: image.id,
      width: image.width,
      height: image.height,
      bytes: image.bytes,
      clusterId: image.clusterId,
      representativeId: image.representativeId,
      phash: image.phash,
      dhash: image.dhash,
      fingerprint: image.fingerprint,
      kept: image.filter?.kept,
    });
  }
  const fingerprints = members.map((m) => fingerprintFrom(m.fingerprint));
  counts.add('images-without-fingerprint', fingerprints.filter((f) => !f).length);
  const { clusters, stats } = clusterFingerprints(fingerprints, nearDuplicateOptionsFrom(config.images));
  counts.add('near-duplicate-candidates-verified', stats.verified);
  let batch = store.batch();
  for (const indexes of clusters) {
    const group = indexes.map((i) => members[i]!);
    const representative = chooseRepresentative(group);
    // Named after its lowest image id (a content hash), not its earliest fetch: fetch times follow the
    // crawl's concurrency, and the same images must give the same cluster ids in every build.
    const founder = group.reduce((low, m) => (m.id < low.id ? m : low));
    const clusterId = clusterIdOf(founder.id);
    if (group.length > 1) {
      counts.add('clusters-with-duplicates');
      counts.add('near-duplicates', group.length - 1);
    }
    for (const member of group) {
      if (!inShard(member.id, shard)) continue;
      if (member.clusterId === clusterId && member.representativeId === representative.id) continue;
      const image = await store.get('images', member.id);
      if (!image) continue;
      batch.put('images', { ...image, clusterId, representativeId: representative.id });
      counts.add('cluster-assignments-changed');
      if (batch.size >= CLUSTER_WRITE_BATCH) {
        await batch.write();
        batch = store.batch();
      }
    }
  }
  await batch.write();
  counts.add('images-clustered', members.length);
}

export const processImagesStage: Stage = {
  name: PROCESS_IMAGES_STAGE,
  runQuery: processQuery,
  finish: clusterCorpus,
  settingsOf: (ctx) => ({ images: ctx.config.images }),
};
