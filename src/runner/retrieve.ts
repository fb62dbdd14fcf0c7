// Retrieval: one index over the images and one over the chunks the score stage kept (for any
// query), searched by inner product, over the whole corpus or one query's kept pool. Image vectors come from the image embedder (CLIP-family) when one is configured, else
// from the text embedder over each image's description (or, lacking one, its page context).
import type { Config } from '../core/config.js';
import type { Models } from '../models/types.js';
import { buildVectorIndex, type VectorHit, type VectorIndex } from './vector-index.js';
import { extOfMime } from '../../storage/export/m2rag.js';
import { bestDescription, isKeptImage, occurrenceContextText } from '../../storage/views.js';
import type { Chunk, CorpusStore, Description } from '../../storage/index.js';

/** The chunk and image ids the score stage kept for one query. */
export interface KeptElements {
  chunkIds: Set<string>;
  imageIds: Set<string>;
}

/** The score stage's keep decisions, by query. */
export async function keptElementsByQuery(store: CorpusStore): Promise<Map<string, KeptElements>> {
  const kept = new Map<string, KeptElements>();
  for await (const score of store.iterate('scores')) {
    if (!score.kept) continue;
    const entry = kept.get(score.queryId) ?? { chunkIds: new Set<string>(), imageIds: new Set<string>() };
    (score.elementKind === 'chunk' ? entry.chunkIds : entry.imageIds).add(score.elementId);
    kept.set(score.queryId, entry);
  }
  return kept;
}

function keptAnywhere(kept: Map<string, KeptElements>): KeptElements {
  const all: KeptElements = { chunkIds: new Set(), imageIds: new Set() };
  for (const entry of kept.values()) {
    for (const id of entry.chunkIds) all.chunkIds.add(id);
    for (const id of entry.imageIds) all.imageIds.add(id);
  }
  return all;
}

export interface ImageEntry {
  imageId: string;
  ext: string;
  description: string;
  context: string;
  /** Where the description came from: a Description method, or `page-context` when there is none. */
  descriptionMethod: string;
}

export interface RetrievalCorpus {
  images: Map<string, ImageEntry>;
  chunks: Map<string, Chunk>;
  imageIndex: VectorIndex;
  chunkIndex: VectorIndex;
  /** `image-embedding` (CLIP-family) or `description-embedding`. */
  imageMethod: 'image-embedding' | 'description-embedding';
  /** Kept images left out of the image index, by reason. */
  setAside: Record<string, number>;
}

async function embedInBatches(embed: (texts: string[]) => Promise<Float32Array[]>, texts: string[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += 64) out.push(...(await embed(texts.slice(i, i + 64))));
  return out;
}

export async function buildRetrievalCorpus(
  store: CorpusStore,
  models: Models,
  config: Config,
  descriptions: Map<string, Description[]>,
  keptByQuery: Map<string, KeptElements>,
): Promise<RetrievalCorpus> {
  const kept = keptAnywhere(keptByQuery);
  const setAside: Record<string, number> = {};
  const images = new Map<string, ImageEntry>();
  const imageBytes: Uint8Array[] = [];
  for await (const image of store.iterate('images')) {
    if (!isKeptImage(image) || !kept.imageIds.has(image.id)) continue;
    const occurrences = (await store.getMany('occurrences', await store.related('image-occurrences', image.id))).filter((o) => o !== undefined).sort((a, b) => a.id.localeCompare(b.id));
    const description = bestDescription(descriptions.get(image.id), occurrences.map((o) => o.id));
    const context = occurrences.map(occurrenceContextText).find((t) => t !== '') ?? '';
    if (models.imageEmbedder) {
      const bytes = await store.imageBytes(image, { prefer: 'thumbnail' });
      if (!bytes) {
        setAside['bytes-missing'] = (setAside['bytes-missing'] ?? 0) + 1;
        continue;
      }
      imageBytes.push(bytes);
    } else if (!description?.text && !context) {
      setAside['no-description-or-context'] = (setAside['no-description-or-context'] ?? 0) + 1;
      continue;
    }
    images.set(image.id, {
      imageId: image.id,
      ext: extOfMime(image.mime),
      description: description?.text ?? '',
      context,
      descriptionMethod: description?.method ?? 'page-context',
    });
  }
  const entries = [...images.values()];
  const imageVectors = models.imageEmbedder
    ? await models.imageEmbedder.embedImages(imageBytes)
    : await embedInBatches((t) => models.textEmbedder.embedTexts(t), entries.map((e) => e.description || e.context));

  const chunks = new Map<string, Chunk>();
  for await (const chunk of store.iterate('chunks')) {
    if (chunk.duplicateOf || chunk.boilerplate || !kept.chunkIds.has(chunk.id)) continue;
    chunks.set(chunk.id, chunk);
  }
  const chunkList = [...chunks.values()];
  const chunkVectors = await embedInBatches((t) => models.textEmbedder.embedTexts(t), chunkList.map((c) => c.text));
  const ann = { annAbove: config.run.annAbove };
  return {
    images,
    chunks,
    imageIndex: buildVectorIndex(entries.map((e) => e.imageId), imageVectors, ann),
    chunkIndex: buildVectorIndex(chunkList.map((c) => c.id), chunkVectors, ann),
    imageMethod: models.imageEmbedder ? 'image-embedding' : 'description-embedding',
    setAside,
  };
}

export interface Retrieved {
  images: VectorHit[];
  chunks: VectorHit[];
  latencyMs: number;
}

/** The top hits among `pool` (all of the index when no pool is given). */
function searchIn(index: VectorIndex, vector: Float32Array, k: number, pool: Set<string> | undefined): VectorHit[] {
  if (!pool) return index.search(vector, k);
  return index.search(vector, index.size).filter((hit) => pool.has(hit.id)).slice(0, k);
}

export async function retrieve(
  corpus: RetrievalCorpus,
  models: Models,
  queryText: string,
  options: { topK: number; chunks: number; pool?: KeptElements },
): Promise<Retrieved> {
  const started = performance.now();
  const [textVector] = await models.textEmbedder.embedTexts([queryText]);
  const imageQuery = models.imageEmbedder ? (await models.imageEmbedder.embedTexts([queryText]))[0]! : textVector!;
  return {
    images: searchIn(corpus.imageIndex, imageQuery, options.topK, options.pool?.imageIds),
    chunks: searchIn(corpus.chunkIndex, textVector!, options.chunks, options.pool?.chunkIds),
    latencyMs: performance.now() - started,
  };
}
