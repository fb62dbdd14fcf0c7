// The records of `m2rag refresh`: one numbered version of the store per refresh (the first is the
// store as it stood before any refresh), and one change record per page or image URL a refresh
// found new, changed or removed. Kept beside storage/schemas.ts, which registers them as record kinds.
import { z } from 'zod';

const isoTime = z.string().datetime();

const PageLabels = z.object({ new: z.number().int(), same: z.number().int(), changed: z.number().int(), removed: z.number().int() });
const ImageLabels = z.object({ same: z.number().int(), changed: z.number().int(), added: z.number().int(), removed: z.number().int() });

/**
 * A store version. `pending` while its refresh runs (then it holds the pages known when it began,
 * so a rerun after a crash tells the pages it found apart); `done` once everything landed. Only
 * done versions count. `dataset` maps each file of the M2RAG export made at that version to the
 * blob holding its bytes, so `export --version N` writes it back byte for byte.
 */
export const StoreVersion = z.object({
  id: z.string(),
  number: z.number().int().positive(),
  status: z.enum(['pending', 'done']),
  at: isoTime,
  knownPageIds: z.array(z.string()).optional(),
  /** The pages this refresh sets out to check (all, or those older than `--older-than`). */
  checkPageIds: z.array(z.string()).optional(),
  pages: PageLabels.optional(),
  images: ImageLabels.optional(),
  notModified: z.number().int().nonnegative().optional(),
  modelCalls: z.number().int().nonnegative().optional(),
  dataset: z.record(z.string(), z.string()).optional(),
  /** Why the version holds no dataset (the store could not be exported then). */
  datasetWarning: z.string().optional(),
});

/** What one refresh found for one page or one image URL; the previous text or bytes stay addressable through it. */
export const Change = z.object({
  id: z.string(),
  version: z.number().int().positive(),
  kind: z.enum(['page', 'image']),
  label: z.enum(['new', 'changed', 'removed', 'added']),
  url: z.string(),
  pageId: z.string().optional(),
  /** Pages: the main text before and after (after is absent for a removed page). */
  previousText: z.string().optional(),
  text: z.string().optional(),
  /** Pages: the image URLs on the page before and after. */
  previousImageUrls: z.array(z.string()).optional(),
  imageUrls: z.array(z.string()).optional(),
  /** Images: the blob (sha256) of the bytes before and after; the old blob is never deleted. */
  previousImageId: z.string().optional(),
  imageId: z.string().optional(),
  reason: z.string().optional(),
});

export type StoreVersion = z.infer<typeof StoreVersion>;
export type Change = z.infer<typeof Change>;
