// An in-memory dedup index over kept texts (pages or chunks): exact matches by normalized-text hash,
// near-duplicates by MinHash LSH candidates confirmed by estimated Jaccard. The stage fills it from
// the fingerprints stored on records, so a later run matches against everything already kept.
import { bandKeys, estimatedJaccard, type MinHashParams } from './minhash.js';

export interface Fingerprint {
  textHash: string;
  signature: Uint32Array;
}

export interface DedupMatch {
  id: string;
  kind: 'exact' | 'near';
  similarity: number;
}

export class DedupIndex {
  private readonly byHash = new Map<string, string>();
  private readonly buckets = new Map<string, string[]>();
  private readonly signatures = new Map<string, Uint32Array>();

  constructor(
    private readonly params: MinHashParams,
    private readonly threshold: number,
  ) {}

  get size(): number {
    return this.signatures.size;
  }

  /** The kept text this one duplicates, if any (never `selfId`); the most similar near-duplicate wins. */
  match(fingerprint: Fingerprint, selfId?: string): DedupMatch | undefined {
    const exact = this.byHash.get(fingerprint.textHash);
    if (exact !== undefined && exact !== selfId) return { id: exact, kind: 'exact', similarity: 1 };
    let best: DedupMatch | undefined;
    const seen = new Set<string>();
    for (const key of bandKeys(fingerprint.signature, this.params)) {
      for (const id of this.buckets.get(key) ?? []) {
        if (id === selfId || seen.has(id)) continue;
        seen.add(id);
        const signature = this.signatures.get(id);
        if (!signature) continue;
        const similarity = estimatedJaccard(fingerprint.signature, signature);
        if (similarity >= this.threshold && (!best || similarity > best.similarity)) best = { id, kind: 'near', similarity };
      }
    }
    return best;
  }

  /** A kept text that no longer exists (a chunk removed on re-chunking) stops matching. */
  forget(id: string, textHash: string): void {
    this.signatures.delete(id);
    if (this.byHash.get(textHash) === id) this.byHash.delete(textHash);
  }

  add(id: string, fingerprint: Fingerprint): void {
    if (this.signatures.has(id)) return;
    if (!this.byHash.has(fingerprint.textHash)) this.byHash.set(fingerprint.textHash, id);
    this.signatures.set(id, fingerprint.signature);
    for (const key of bandKeys(fingerprint.signature, this.params)) {
      const bucket = this.buckets.get(key);
      if (bucket) bucket.push(id);
      else this.buckets.set(key, [id]);
    }
  }
}
