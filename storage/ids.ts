// Stable ids: the same input always yields the same id, which is what makes re-runs idempotent.
// Every record kind's id scheme lives here, so the writer of a record and its readers agree on it.
import { hash } from 'node:crypto';

/** The sha256 (hex) of the given parts: the input hash a derived record is computed from. */
export function inputHashOf(...parts: string[]): string {
  // One-shot: a crawl computes several ids a request, and for short inputs this is 3-4x `createHash`'s speed.
  return hash('sha256', parts.join('\x00'), 'hex');
}

/** A short, stable id from the given parts (hex of sha256, 16 chars = 64 bits). */
export function stableId(...parts: string[]): string {
  return inputHashOf(...parts).slice(0, 16);
}

export function pageIdOf(url: string): string {
  return 'p' + stableId(url);
}

export function queryIdOf(queryText: string): string {
  return 'q' + stableId(normalizeQueryText(queryText));
}

/** Queries that differ only in case and spacing are the same query. */
export function normalizeQueryText(text: string): string {
  return text.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

export function occurrenceIdOf(owner: string, index: number): string {
  return `${owner}:${index}`;
}

export function chunkIdOf(pageId: string, index: number): string {
  return `${pageId}:c${index}`;
}

/** A near-duplicate cluster is named after its founding image (the member with the lowest id). */
export function clusterIdOf(founderImageId: string): string {
  return 'c' + stableId(founderImageId);
}

/**
 * Description ids start with the image id, so all descriptions of an image are one prefix scan
 * away, and are stable in (image, occurrence, method, model): re-running adds nothing.
 */
export function descriptionIdOf(imageId: string, occurrenceId: string | undefined, method: string, model: string): string {
  return `${imageId}:${stableId(imageId, occurrenceId ?? '', method, model)}`;
}

/** One score per element per query. */
export function scoreIdOf(queryId: string, elementKind: 'chunk' | 'image', elementId: string): string {
  return 's' + stableId(queryId, elementKind, elementId);
}

export function generationIdOf(queryId: string, strategy: string, method: string): string {
  return 'g' + stableId(queryId, strategy, method);
}

/** One evaluation of a generation per judge. */
export function evalResultIdOf(generationId: string, judge: string): string {
  return 'e' + stableId(generationId, judge);
}

/** One Fetch record per page URL (and per URL a redirect chain passed through). */
export function pageFetchIdOf(url: string): string {
  return stableId('page', url);
}

/** One Fetch record per image URL. */
export function imageFetchIdOf(url: string): string {
  return stableId('image', url);
}

/** One search hit per query, kind and result URL. */
export function searchHitIdOf(queryId: string, kind: 'web' | 'image', url: string): string {
  return stableId(queryId, kind, url);
}

/** One rating per rater per target: rating again replaces the earlier value. */
export function ratingIdOf(rater: string, targetKind: string, targetId: string, aspect: string): string {
  return 'r' + stableId(rater, targetKind, targetId, aspect);
}
