// final_score per element and the M2RAG keep/drop selection: a threshold on the final score, then
// caps (top chunks a page, top images a page, top auxiliary images, top images overall). Every
// dropped element gets the reason it was dropped.
import type { Config } from '../src/core/config.js';

export interface Candidate {
  id: string;
  /** The page an element belongs to; undefined for auxiliary images. */
  pageId?: string;
  /** undefined when the element's judgment failed: never kept, never ranked as 0. */
  finalScore?: number;
}

export interface Selection {
  kept: boolean;
  reason?: string;
}

function byScoreThenId(a: Candidate, b: Candidate): number {
  return (b.finalScore ?? -1) - (a.finalScore ?? -1) || a.id.localeCompare(b.id);
}

/** Applies threshold then per-group caps; returns a decision for every candidate. */
function selectWithCaps(candidates: Candidate[], minScore: number, capPerGroup: (c: Candidate) => number, groupOf: (c: Candidate) => string): Map<string, Selection> {
  const decisions = new Map<string, Selection>();
  const taken = new Map<string, number>();
  for (const candidate of [...candidates].sort(byScoreThenId)) {
    if (candidate.finalScore === undefined) {
      decisions.set(candidate.id, { kept: false, reason: 'judgment-failed' });
      continue;
    }
    if (candidate.finalScore < minScore) {
      decisions.set(candidate.id, { kept: false, reason: 'below-threshold' });
      continue;
    }
    const group = groupOf(candidate);
    const n = taken.get(group) ?? 0;
    if (n >= capPerGroup(candidate)) {
      decisions.set(candidate.id, { kept: false, reason: candidate.pageId === undefined ? 'auxiliary-cap' : 'page-cap' });
      continue;
    }
    taken.set(group, n + 1);
    decisions.set(candidate.id, { kept: true });
  }
  return decisions;
}

export function selectChunks(chunks: Candidate[], config: Config['score']): Map<string, Selection> {
  return selectWithCaps(chunks, config.minChunkScore, () => config.chunksPerPage, (c) => c.pageId ?? '');
}

/** Page images: top `imagesPerPage` a page; auxiliary: top `keepAuxImages`; then top `imagesOverall` of all kept. */
export function selectImages(images: Candidate[], config: Config['score']): Map<string, Selection> {
  const decisions = selectWithCaps(
    images,
    config.minImageScore,
    (c) => (c.pageId === undefined ? config.keepAuxImages : config.imagesPerPage),
    (c) => c.pageId ?? '\x00auxiliary',
  );
  const kept = images.filter((c) => decisions.get(c.id)?.kept).sort(byScoreThenId);
  for (const candidate of kept.slice(config.imagesOverall)) decisions.set(candidate.id, { kept: false, reason: 'overall-cap' });
  return decisions;
}

/** Embedded image final score: layout weighs 20%, the query-dependent similarities 80% (their mean). */
export function embeddedImageScore(layout: number | undefined, similarities: number[]): number {
  const similarity = similarities.length > 0 ? similarities.reduce((a, b) => a + b, 0) / similarities.length : 0;
  return layout === undefined ? similarity : 0.2 * layout + 0.8 * similarity;
}

/** Embedded text final score: the mean of the calibrated BM25 and embedding scores. */
export function embeddedTextScore(bm25: number, embedding: number): number {
  return 0.5 * bm25 + 0.5 * embedding;
}
