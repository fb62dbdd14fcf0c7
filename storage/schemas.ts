// Record schemas of the corpus store. Every record is validated with these where it enters the
// store (CorpusStore.put / StoreBatch.put); types everywhere else are inferred from them.
import { z } from 'zod';
import { Change, StoreVersion } from './version-schemas.js';

export { Change, StoreVersion };

/** Bump when a stored record's shape changes incompatibly; CorpusStore.open refuses other versions. */
export const SCHEMA_VERSION = 1;

const isoTime = z.string().datetime();

/** Where a model-made value came from, so it can be trusted, compared and cached. */
export const Provenance = z.object({
  provider: z.string(),
  model: z.string(),
  promptVersion: z.string().optional(),
  inputHash: z.string(),
  at: isoTime,
  /** Set on values loaded by `m2rag import`: the file they came from (they were not computed here). */
  importedFrom: z.string().optional(),
});

/** One question the intake filter asked of a query: the reply as read by the reference's parse rule. */
export const IntakeAnswer = z.object({
  question: z.enum(['is-question', 'needs-images', 'topic']),
  /** The integers read from the reply (one for the 0/1 questions, the category indices for `topic`). */
  indices: z.array(z.number().int()),
  reply: z.string().optional(),
  provenance: Provenance,
});

/** The intake filter's verdict on a query (`filter-queries`); a rejected query is skipped by every later stage. */
export const QueryIntake = z.object({
  verdict: z.enum(['accepted', 'rejected']),
  /** Why it was rejected: `not-a-question` or `images-not-helpful`. */
  reason: z.string().optional(),
  /** `llm` (the reference's three questions) or `embedded-heuristic` (no model; conservative). */
  method: z.enum(['llm', 'embedded-heuristic']),
  /** One of the reference's 10 categories, or `Others`; absent for a rejected query. */
  topic: z.string().optional(),
  /** The level this verdict gave (see README "Query intake" for the rule). */
  level: z.number().int().min(1).max(3).optional(),
  answers: z.array(IntakeAnswer),
  at: isoTime,
});

export const Query = z.object({
  id: z.string().min(1),
  query: z.string().min(1),
  topic: z.string().optional(),
  /** M2RAG difficulty level (1–3), when known (query intake or an imported dev set). */
  level: z.number().int().min(1).max(3).optional(),
  /** Seed URLs for the `seeds` search provider. */
  urls: z.array(z.string().url()).optional(),
  intake: QueryIntake.optional(),
  /** The gold facts of a question imported from a benchmark (`m2rag import --format webqa|mmqa`). */
  benchmark: z
    .object({
      dataset: z.enum(['webqa', 'mmqa']),
      /** The question's id in the dataset (WebQA's Guid, MMQA's qid). */
      sourceId: z.string(),
      /** WebQA's question category (color, shape, YesNo, number, text, Others, choose); MMQA's is read from the question. */
      qcate: z.string().optional(),
      /** The answer accuracy is measured against (WebQA: `EM`, else the first of `A`; MMQA: the first answer). */
      answer: z.string(),
      answers: z.array(z.string()),
      /** The gold images (content ids), in the dataset's order; one makes a single-image question. */
      goldImageIds: z.array(z.string()),
    })
    .optional(),
  createdAt: isoTime,
});

export const SearchHit = z.object({
  id: z.string(),
  queryId: z.string(),
  kind: z.enum(['web', 'image']),
  rank: z.number().int().nonnegative(),
  provider: z.string(),
  url: z.string(),
  title: z.string().optional(),
  snippet: z.string().optional(),
  /** For image hits: the page the image was found on. */
  sourcePageUrl: z.string().optional(),
  /** Set once the hit was fetched: the Page (web) or Image (image) it became. */
  pageId: z.string().optional(),
  imageId: z.string().optional(),
});

/** The outcome of one fetch of one URL: nothing fetched is dropped without a recorded reason. */
export const Fetch = z.object({
  id: z.string(),
  url: z.string(),
  kind: z.enum(['page', 'image']),
  outcome: z.enum(['ok', 'failed', 'skipped']),
  httpStatus: z.number().int().optional(),
  reason: z.string().optional(),
  contentType: z.string().optional(),
  finalUrl: z.string().optional(),
  bytes: z.number().int().nonnegative().optional(),
  /** sha256 of the bytes for images, so URL dedupe maps straight to the Image. */
  sha256: z.string().optional(),
  /** The response's validators, sent back by `m2rag refresh` as If-None-Match / If-Modified-Since. */
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  pageId: z.string().optional(),
  attempts: z.number().int().nonnegative().optional(),
  at: isoTime,
});

export const Page = z.object({
  id: z.string(),
  url: z.string(),
  finalUrl: z.string(),
  canonicalUrl: z.string().optional(),
  httpStatus: z.number().int().optional(),
  contentType: z.string().optional(),
  fetchedAt: isoTime,
  /** Raw HTML size in bytes; the HTML itself is a blob (the store maps the page id to its sha256). */
  htmlBytes: z.number().int().nonnegative(),
  rendered: z.boolean().default(false),
  title: z.string().optional(),
  byline: z.string().optional(),
  lang: z.string().optional(),
  publishedTime: z.string().optional(),
  /** Cleaned main content as markdown with `<IMAGE_PLACEHOLDER>[k]` markers (k = occurrence index). */
  markdown: z.string().optional(),
  extractor: z.string().optional(),
  /** Near-/exact-duplicate marks: the kept page lists its duplicates, the others point to it. */
  duplicateOf: z.string().optional(),
  duplicateUrls: z.array(z.string()).optional(),
  /** Why extraction produced no text (no stored HTML, nothing readable), when it did not. */
  extractWarning: z.string().optional(),
  /** Dedup fingerprints: sha256 of the normalized text, and its MinHash signature (base64 uint32s). */
  textHash: z.string().optional(),
  minhash: z.string().optional(),
  /** The response's validators, sent back by `m2rag refresh` as If-None-Match / If-Modified-Since. */
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  /** Set by `m2rag refresh` on a page gone from the site: kept, never exported from that version on. */
  removed: z.object({ version: z.number().int().positive(), reason: z.string() }).optional(),
});

export const Chunk = z.object({
  id: z.string(),
  pageId: z.string(),
  index: z.number().int().nonnegative(),
  text: z.string(),
  /** Occurrence ids of the placeholders inside this chunk. */
  occurrenceIds: z.array(z.string()),
  /** Image ids (sha256) of those occurrences, where the image was fetched. */
  imageIds: z.array(z.string()),
  tokens: z.number().int().nonnegative().optional(),
  duplicateOf: z.string().optional(),
  boilerplate: z.boolean().optional(),
  /** Dedup fingerprints, as on Page. */
  textHash: z.string().optional(),
  minhash: z.string().optional(),
});

export const ImageFilter = z.object({
  kept: z.boolean(),
  /** Why it was dropped (empty when kept); one entry per failed filter. */
  reasons: z.array(z.string()),
  layoutScore: z.number().optional(),
});

/**
 * An image, content-addressed by the sha256 of its bytes; bytes live once in the blob store. Not
 * strict: records written before still carry the retired `centerPhash`/`centerDhash`, which parsing
 * drops instead of refusing the record.
 */
export const Image = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  /** Type sniffed from the bytes, never trusted from headers. */
  mime: z.string(),
  firstUrl: z.string(),
  fetchedAt: isoTime,
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  format: z.string().optional(),
  /** sha256 of the normalized thumbnail in the blob store. */
  thumbnailId: z.string().optional(),
  decodeError: z.string().optional(),
  filter: ImageFilter.optional(),
  phash: z.string().optional(),
  dhash: z.string().optional(),
  clusterId: z.string().optional(),
  representativeId: z.string().optional(),
  /** 48×48 grey + 12×12 colour picture of the border-trimmed image with its aspect (`<aspect>:<base64>`), for near-duplicate windows. */
  fingerprint: z.string().optional(),
  /** Frames of an animated image (GIF, WebP); only the first is decoded. */
  frames: z.number().int().positive().optional(),
  /** The original's colour space when not sRGB (e.g. `cmyk`); the thumbnail is always sRGB. */
  colorSpace: z.string().optional(),
});

export const OccurrenceContext = z.object({
  alt: z.string().optional(),
  title: z.string().optional(),
  figcaption: z.string().optional(),
  heading: z.string().optional(),
  chunkId: z.string().optional(),
  above: z.string().optional(),
  below: z.string().optional(),
  /** `figcaption` when the page marked the caption up, `adjacent-text` when it is the short line under the image. */
  captionSource: z.enum(['figcaption', 'adjacent-text']).optional(),
  /** Whether the image's placeholder stands in the page's extracted main text (unset when the page has none). */
  inMainContent: z.boolean().optional(),
});

/** One use of an image: on a page (pageId, index k) or as a query's auxiliary image (queryId). */
export const Occurrence = z.object({
  id: z.string(),
  kind: z.enum(['page', 'auxiliary']),
  pageId: z.string().optional(),
  queryId: z.string().optional(),
  /** Position among the page's image occurrences: the k of `<IMAGE_PLACEHOLDER>[k]`. */
  index: z.number().int().nonnegative(),
  url: z.string(),
  imageId: z.string().optional(),
  /** Where in the DOM the image stood (CSS-like path), so context can be found later. */
  domPath: z.string().optional(),
  attributes: z.record(z.string(), z.string()).default({}),
  context: OccurrenceContext.optional(),
});

export const Description = z.object({
  id: z.string(),
  imageId: z.string(),
  occurrenceId: z.string().optional(),
  status: z.enum(['ok', 'failed']),
  text: z.string().optional(),
  reason: z.string().optional(),
  /** `vision-model` for a model caption, `context-template` for the embedded, model-free describer. */
  method: z.string(),
  provenance: Provenance,
  /** Every occurrence this description stands for (occurrences whose contexts do not differ materially). */
  occurrenceIds: z.array(z.string()).optional(),
  /** What a context-template description was composed from (alt, figcaption, heading, ocr, context, …). */
  sources: z.array(z.string()).optional(),
});

export const Score = z.object({
  id: z.string(),
  queryId: z.string(),
  elementKind: z.enum(['chunk', 'image']),
  elementId: z.string(),
  status: z.enum(['ok', 'failed']),
  reason: z.string().optional(),
  /** Component scores by name (e.g. `llm`, `bm25`, `embedding`, `layout`), each 0–10. */
  components: z.record(z.string(), z.number()),
  finalScore: z.number().optional(),
  kept: z.boolean().optional(),
  method: z.string(),
  provenance: Provenance,
});

export const TokenUsage = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
});

export const Generation = z.object({
  id: z.string(),
  queryId: z.string(),
  strategy: z.string(),
  method: z.string(),
  /** `failed` (with `reason`, an empty output) when the model gave no answer; absent on records written before failures were stored. */
  status: z.enum(['ok', 'failed']).optional(),
  reason: z.string().optional(),
  inputs: z.object({
    chunkIds: z.array(z.string()),
    imageIds: z.array(z.string()),
    prompt: z.string().optional(),
  }),
  output: z.string(),
  /** Images the answer cites, in order. */
  citedImageIds: z.array(z.string()),
  usage: TokenUsage.optional(),
  latencyMs: z.number().nonnegative(),
  provenance: Provenance,
  /** Retrieval and reranking behind the generation: candidates in retrieval order, their rerank relevance. */
  retrieval: z
    .object({
      imageMethod: z.string(),
      rerankMethod: z.string(),
      threshold: z.number(),
      candidates: z.array(
        z.object({
          imageId: z.string(),
          retrievalScore: z.number(),
          relevance: z.number().optional(),
          status: z.enum(['ok', 'failed']),
          reason: z.string().optional(),
        }),
      ),
      retrieveMs: z.number().nonnegative(),
      rerankMs: z.number().nonnegative(),
      rerankRequests: z.number().int().nonnegative(),
    })
    .optional(),
  /** What post-processing removed or the model got wrong (out-of-range and repeated citations, failed steps). */
  counts: z.record(z.string(), z.number()).optional(),
  /**
   * The single-stage prompt over this generation's M2RAG input, whatever was sent (the training
   * set's user turn, as the reference rebuilds it for every summarizer): `llm` with each image as
   * its detailed caption, `mllm` with `<image>` where each image goes, `imageIds` in that order.
   * `sent` is false when no model received it (multi-stage, the extractive fallback).
   */
  singleStagePrompt: z.object({ llm: z.string(), mllm: z.string(), imageIds: z.array(z.string()), sent: z.boolean() }).optional(),
});

export const EvalResult = z.object({
  id: z.string(),
  queryId: z.string(),
  generationId: z.string().optional(),
  metrics: z.record(z.string(), z.number()),
  failed: z.record(z.string(), z.number()).default({}),
  /** Why each failed metric has no value, by metric. */
  reasons: z.record(z.string(), z.string()).optional(),
  /** The image metrics of each cited image, judged one image at a time (M2RAG pools them per image); reasons of failed ones. */
  images: z
    .array(z.object({ imageId: z.string(), metrics: z.record(z.string(), z.number()), reasons: z.record(z.string(), z.string()).optional() }))
    .optional(),
  /** How many input images had a final score ≥ 8 (image recall's positives). */
  positiveImages: z.number().int().nonnegative().optional(),
  /** The generation's image retrieval against the relevant images, as counts, so corpus figures can be pooled from stored results. */
  retrieval: z
    .object({
      /** Where relevance came from: a labels file, or the images' final scores (≥ 8). */
      labels: z.enum(['labels-file', 'scores>=8']),
      retrieved: z.number().int().nonnegative(),
      relevant: z.number().int().nonnegative(),
      hits: z.number().int().nonnegative(),
      candidates: z.number().int().nonnegative(),
      candidateHits: z.number().int().nonnegative(),
    })
    .optional(),
  method: z.string(),
  provenance: Provenance,
});

/**
 * One human judgment made in the viewer: an answer's M2RAG metric on its scale (0–10 rubrics,
 * 0–1 for context precision and faithfulness), or an image marked relevant / describes well (1 or 0).
 */
export const Rating = z.object({
  id: z.string(),
  rater: z.string().min(1).max(80),
  at: isoTime,
  target: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('generation'), generationId: z.string(), queryId: z.string(), metric: z.string() }),
    z.object({ kind: z.literal('image'), imageId: z.string(), queryId: z.string(), aspect: z.enum(['relevant', 'describes']) }),
  ]),
  value: z.number(),
});

/** What one stage did for one query; its presence marks the stage done for that query. */
export const StageMarker = z.object({
  stage: z.string(),
  queryId: z.string(),
  doneAt: isoTime,
  counts: z.record(z.string(), z.number()),
});

/** A cached model response, keyed by the hash of everything that went into the request. */
export const ModelCacheEntry = z.object({
  inputHash: z.string(),
  provider: z.string(),
  model: z.string(),
  response: z.unknown(),
  at: isoTime,
});

export const recordSchemas = {
  queries: Query,
  hits: SearchHit,
  fetches: Fetch,
  pages: Page,
  chunks: Chunk,
  images: Image,
  occurrences: Occurrence,
  descriptions: Description,
  scores: Score,
  generations: Generation,
  evalResults: EvalResult,
  stageMarkers: StageMarker,
  modelCache: ModelCacheEntry,
  ratings: Rating,
  versions: StoreVersion,
  changes: Change,
} as const;

export type RecordKind = keyof typeof recordSchemas;
export type RecordOf<K extends RecordKind> = z.infer<(typeof recordSchemas)[K]>;

export type Query = z.infer<typeof Query>;
export type SearchHit = z.infer<typeof SearchHit>;
export type Fetch = z.infer<typeof Fetch>;
export type Page = z.infer<typeof Page>;
export type Chunk = z.infer<typeof Chunk>;
export type Image = z.infer<typeof Image>;
export type ImageFilter = z.infer<typeof ImageFilter>;
export type Occurrence = z.infer<typeof Occurrence>;
export type OccurrenceContext = z.infer<typeof OccurrenceContext>;
export type Description = z.infer<typeof Description>;
export type Score = z.infer<typeof Score>;
export type Generation = z.infer<typeof Generation>;
export type EvalResult = z.infer<typeof EvalResult>;
export type StageMarker = z.infer<typeof StageMarker>;
export type ModelCacheEntry = z.infer<typeof ModelCacheEntry>;
export type Rating = z.infer<typeof Rating>;
export type Provenance = z.infer<typeof Provenance>;
export type QueryIntake = z.infer<typeof QueryIntake>;
export type IntakeAnswer = z.infer<typeof IntakeAnswer>;

/** Secondary indexes: each maps one record's id to related records' ids. */
export const indexNames = [
  'query-hits',
  'query-pages',
  'page-chunks',
  'page-occurrences',
  'image-occurrences',
  'query-occurrences',
] as const;
export type IndexName = (typeof indexNames)[number];
