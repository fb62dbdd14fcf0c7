// What the viewer and `m2rag show` read from the store: the query list with its counts and metrics,
// one query in full (pages, chunks with scores, images with descriptions and clusters, answers with
// their eval results), and ratings. Everything is read through the store's small API and the shared
// views, so the viewer means by "kept" what the stages mean.
import {
  descriptionsOf,
  isKeptImage,
  occurrencesOfQuery,
  type CorpusStore,
  type Chunk,
  type Description,
  type EvalResult,
  type Generation,
  type Image,
  type Occurrence,
  type Page,
  type Query,
  type Rating,
  type Score,
} from '../../storage/index.js';

export interface QueryRow {
  query: Query;
  pages: number;
  keptChunks: number;
  keptImages: number;
  answers: number;
  /** Mean of each metric over the query's evaluated answers. */
  metrics: Record<string, number>;
}

/** Per-query lookups built in one pass over the scores, generations and eval results. */
export interface StoreIndex {
  scoresByQuery: Map<string, Score[]>;
  generationsByQuery: Map<string, Generation[]>;
  evalsByGeneration: Map<string, EvalResult[]>;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export async function indexStore(store: CorpusStore): Promise<StoreIndex> {
  const index: StoreIndex = { scoresByQuery: new Map(), generationsByQuery: new Map(), evalsByGeneration: new Map() };
  for await (const score of store.iterate('scores')) push(index.scoresByQuery, score.queryId, score);
  for await (const generation of store.iterate('generations')) push(index.generationsByQuery, generation.queryId, generation);
  for await (const result of store.iterate('evalResults')) if (result.generationId) push(index.evalsByGeneration, result.generationId, result);
  return index;
}

export function meanMetrics(results: EvalResult[]): Record<string, number> {
  const sums: Record<string, { sum: number; n: number }> = {};
  for (const result of results) {
    for (const [name, value] of Object.entries(result.metrics)) {
      const s = (sums[name] ??= { sum: 0, n: 0 });
      s.sum += value;
      s.n++;
    }
  }
  return Object.fromEntries(Object.entries(sums).map(([name, s]) => [name, s.sum / s.n]));
}

export async function listQueries(store: CorpusStore, index: StoreIndex): Promise<QueryRow[]> {
  const rows: QueryRow[] = [];
  for await (const query of store.iterate('queries')) {
    const scores = index.scoresByQuery.get(query.id) ?? [];
    const generations = index.generationsByQuery.get(query.id) ?? [];
    rows.push({
      query,
      pages: (await store.related('query-pages', query.id)).length,
      keptChunks: scores.filter((s) => s.elementKind === 'chunk' && s.kept).length,
      keptImages: scores.filter((s) => s.elementKind === 'image' && s.kept).length,
      answers: generations.filter((g) => g.status !== 'failed').length,
      metrics: meanMetrics(generations.flatMap((g) => index.evalsByGeneration.get(g.id) ?? [])),
    });
  }
  return rows;
}

/** A query by id, or else by its text (case- and space-insensitive). */
export async function findQuery(store: CorpusStore, idOrText: string): Promise<Query | undefined> {
  const byId = await store.get('queries', idOrText);
  if (byId) return byId;
  const wanted = idOrText.trim().replace(/\s+/g, ' ').toLowerCase();
  for await (const query of store.iterate('queries')) if (query.query.trim().replace(/\s+/g, ' ').toLowerCase() === wanted) return query;
  return undefined;
}

export interface ChunkView {
  chunk: Chunk;
  score?: Score;
  /** Why the chunk is not among the kept ones, when it is not. */
  dropped?: string;
}

export interface PageView {
  page: Page;
  chunks: ChunkView[];
  occurrences: Occurrence[];
}

export interface ImageView {
  image: Image;
  occurrences: Occurrence[];
  descriptions: Description[];
  score?: Score;
  /** The other members of its near-duplicate cluster. */
  clusterMembers: string[];
  dropped?: string;
}

export interface AnswerView {
  generation: Generation;
  evals: EvalResult[];
}

export interface QueryDetail {
  query: Query;
  pages: PageView[];
  images: ImageView[];
  auxiliary: ImageView[];
  answers: AnswerView[];
}

function chunkDropReason(chunk: Chunk, score: Score | undefined): string | undefined {
  if (chunk.duplicateOf) return `duplicate of ${chunk.duplicateOf}`;
  if (chunk.boilerplate) return 'boilerplate';
  if (!score) return 'not scored';
  if (score.status === 'failed') return `score failed: ${score.reason ?? 'no reason recorded'}`;
  if (!score.kept) return `score ${score.finalScore ?? '—'} below the keep threshold`;
  return undefined;
}

function imageDropReason(image: Image | undefined, score: Score | undefined): string | undefined {
  if (!image) return 'not fetched';
  if (image.decodeError) return `decode error: ${image.decodeError}`;
  if (!image.filter) return 'not processed';
  if (!image.filter.kept) return image.filter.reasons.join(', ') || 'filtered';
  if (!isKeptImage(image)) return `near-duplicate of ${image.representativeId}`;
  if (!score) return 'not scored';
  if (score.status === 'failed') return `score failed: ${score.reason ?? 'no reason recorded'}`;
  if (!score.kept) return `score ${score.finalScore ?? '—'} below the keep threshold`;
  return undefined;
}

async function clusters(store: CorpusStore, clusterIds: Set<string>): Promise<Map<string, string[]>> {
  const members = new Map<string, string[]>();
  if (clusterIds.size === 0) return members;
  for await (const image of store.iterate('images')) if (image.clusterId && clusterIds.has(image.clusterId)) push(members, image.clusterId, image.id);
  return members;
}

export async function queryDetail(store: CorpusStore, index: StoreIndex, query: Query): Promise<QueryDetail> {
  const scores = index.scoresByQuery.get(query.id) ?? [];
  const scoreOf = new Map(scores.map((s) => [`${s.elementKind}:${s.elementId}`, s]));
  const pages: PageView[] = [];
  for (const page of await store.getMany('pages', (await store.related('query-pages', query.id)).sort())) {
    if (!page) continue;
    const chunks = (await store.getMany('chunks', await store.related('page-chunks', page.id)))
      .filter((c): c is Chunk => c !== undefined)
      .sort((a, b) => a.index - b.index)
      .map((chunk) => {
        const score = scoreOf.get(`chunk:${chunk.id}`);
        return { chunk, score, dropped: chunkDropReason(chunk, score) };
      });
    const occurrences = (await store.getMany('occurrences', await store.related('page-occurrences', page.id))).filter((o): o is Occurrence => o !== undefined);
    pages.push({ page, chunks, occurrences });
  }

  const byImage = new Map<string, Occurrence[]>();
  for (const occurrence of await occurrencesOfQuery(store, query.id)) if (occurrence.imageId) push(byImage, occurrence.imageId, occurrence);
  const ids = [...byImage.keys()].sort();
  const records = await store.getMany('images', ids);
  const members = await clusters(store, new Set(records.map((r) => r?.clusterId).filter((c): c is string => c !== undefined)));
  const images: ImageView[] = [];
  const auxiliary: ImageView[] = [];
  for (const [i, id] of ids.entries()) {
    const image = records[i];
    if (!image) continue;
    const occurrences = byImage.get(id)!;
    const score = scoreOf.get(`image:${id}`);
    const view: ImageView = {
      image,
      occurrences,
      descriptions: await descriptionsOf(store, id),
      score,
      clusterMembers: image.clusterId ? (members.get(image.clusterId) ?? []).filter((m) => m !== id) : [],
      dropped: imageDropReason(image, score),
    };
    (occurrences.some((o) => o.kind === 'page') ? images : auxiliary).push(view);
  }

  const answers = (index.generationsByQuery.get(query.id) ?? [])
    .sort((a, b) => a.strategy.localeCompare(b.strategy) || a.id.localeCompare(b.id))
    .map((generation) => ({ generation, evals: index.evalsByGeneration.get(generation.id) ?? [] }));
  return { query, pages, images, auxiliary, answers };
}

/** Every stored rating, oldest first. */
export async function listRatings(store: CorpusStore): Promise<Rating[]> {
  const ratings: Rating[] = [];
  for await (const rating of store.iterate('ratings')) ratings.push(rating);
  return ratings.sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id));
}
