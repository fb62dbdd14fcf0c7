// The M2RAG-Bench dev-set layout (the reference's scripts/export_dev_set.py), as zod schemas shared by
// the exporter and the importer: one query a line, {query_id, content, webpages[], aux_images[],
// level}. A webpage is a search result {webpage_id, url, title} with cleaned_webpage_splits[] and
// images[]; a page image's image_id is the k of `<IMAGE_PLACEHOLDER>[k]` on that page. Everything
// m2rag knows beyond the layout rides under one extra key per record, `m2rag`, which the reference
// code never reads.
import { z } from 'zod';

export const EXTRA_KEY = 'm2rag';
/** The file name of the dataset, as the reference's summarize.py expects it (`data/dev_set/dev_set.jsonl`). */
export const DEV_SET_FILE = 'dev_set.jsonl';
/**
 * The level written when a query's level is unknown: 1, the level the reference's summarize configs
 * select (`levels: [1]`). It is marked `level_source: "default"` in the extra key, never as measured.
 */
export const DEFAULT_LEVEL = 1;

export const PLACEHOLDER_PATTERN = /<IMAGE_PLACEHOLDER>\[(\d+)\]/g;

/** The k of every `<IMAGE_PLACEHOLDER>[k]` in a text, sorted, as the reference's cleaner lists them. */
export function placeholderIndices(text: string): number[] {
  return [...text.matchAll(PLACEHOLDER_PATTERN)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

/** A stored score of an element, or null when the element was never scored. */
const ScoreExtra = z
  .object({
    status: z.enum(['ok', 'failed']),
    kept: z.boolean().nullable(),
    reason: z.string().nullable(),
    method: z.string(),
    components: z.record(z.string(), z.number()),
    provider: z.string(),
    model: z.string(),
  })
  .nullable();

const DescriptionExtra = z
  .object({
    id: z.string(),
    method: z.string(),
    provider: z.string(),
    model: z.string(),
    prompt_version: z.string().nullable(),
    /** The occurrence the description was written for (null: for the image as a whole). */
    occurrence_id: z.string().nullable(),
    /** What an embedded description was composed from (alt, figcaption, heading, ocr, context, …). */
    sources: z.array(z.string()).nullable(),
  })
  .nullable();

const ImageExtra = z.object({
  occurrence_id: z.string(),
  /** sha256 of the image bytes (the file name under images/); null when the image was never fetched. */
  image_sha256: z.string().nullable(),
  mime: z.string().nullable(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  filter: z.object({ kept: z.boolean(), reasons: z.array(z.string()), layout_score: z.number().nullable() }).nullable(),
  phash: z.string().nullable(),
  cluster_id: z.string().nullable(),
  representative_id: z.string().nullable(),
  score: ScoreExtra,
  description: DescriptionExtra,
  attributes: z.record(z.string(), z.string()),
  context: z.record(z.string(), z.union([z.string(), z.boolean()])).nullable(),
});

const SplitExtra = z.object({
  chunk_id: z.string(),
  /** Why process-text set the chunk aside (a duplicate or site boilerplate); null when it did not. */
  set_aside: z.enum(['duplicate', 'boilerplate']).nullable(),
  duplicate_of: z.string().nullable(),
  /** null: no score was recorded, and `score` holds 0, as the reference's parser gives for no score. */
  score: ScoreExtra,
});

const PageExtra = z.object({
  page_id: z.string(),
  final_url: z.string(),
  extractor: z.string().nullable(),
  lang: z.string().nullable(),
  duplicate_of: z.string().nullable(),
  /** The search hit that found the page for this query (null: reached without one). */
  search: z.object({ provider: z.string(), rank: z.number().int(), snippet: z.string().nullable() }).nullable(),
});

const LineExtra = z.object({
  /** `query`: the stored level; `default`: none is known and DEFAULT_LEVEL was written. */
  level_source: z.enum(['query', 'default']),
  topic: z.string().nullable(),
});

export const M2ragSplit = z.object({
  split_id: z.number().int(),
  text: z.string(),
  score: z.number(),
  evaluation: z.string().nullable().optional(),
  image_ids: z.array(z.number().int()).optional(),
  m2rag: SplitExtra.optional(),
});

export const M2ragPageImage = z.object({
  split_id: z.number().int().nullable(),
  image_id: z.number().int(),
  image_url: z.string(),
  valid: z.boolean(),
  cached_image_url: z.string().nullable(),
  final_score: z.number().nullable(),
  detailed_image_caption: z.string().nullable(),
  m2rag: ImageExtra.optional(),
});

export const M2ragWebpage = z.object({
  webpage_id: z.number().int(),
  url: z.string(),
  title: z.string().nullable(),
  cleaned_webpage_splits: z.array(M2ragSplit).nullable(),
  images: z.array(M2ragPageImage),
  m2rag: PageExtra.optional(),
});

export const M2ragAuxImage = z.object({
  image_id: z.string().regex(/^aux-\d+$/),
  image_url: z.string(),
  cached_image_url: z.string().nullable(),
  valid: z.boolean(),
  final_score: z.number().nullable(),
  detailed_image_caption: z.string().nullable(),
  m2rag: ImageExtra.optional(),
});

export const M2ragLine = z.object({
  query_id: z.union([z.string().min(1), z.number().int()]),
  content: z.string().min(1),
  webpages: z.array(M2ragWebpage),
  aux_images: z.array(M2ragAuxImage),
  level: z.number().int().min(1).max(3),
  m2rag: LineExtra.optional(),
});

export type M2ragSplit = z.infer<typeof M2ragSplit>;
export type M2ragPageImage = z.infer<typeof M2ragPageImage>;
export type M2ragWebpage = z.infer<typeof M2ragWebpage>;
export type M2ragAuxImage = z.infer<typeof M2ragAuxImage>;
export type M2ragLine = z.infer<typeof M2ragLine>;
export type ImageExtra = z.infer<typeof ImageExtra>;
export type ScoreExtra = z.infer<typeof ScoreExtra>;
