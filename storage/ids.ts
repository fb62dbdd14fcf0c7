// Stable ids: the same input always yields the same id, which is what makes re-runs idempotent.
import { createHash } from 'node:crypto';

/** A short, stable id from the given parts (hex of sha256, 16 chars = 64 bits). */
export function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\x00')).digest('hex').slice(0, 16);
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
