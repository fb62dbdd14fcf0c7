// Inner-product search over L2-normalized vectors: exact (a scan, the default) or, above a
// configurable size, an approximate HNSW index from usearch (prebuilt native binaries shipped in
// the npm package). Both return the same shape: ids with their inner product, best first.
import { Index, MetricKind, ScalarKind } from 'usearch';
import { dot } from '../../scorers/calibration.js';

export interface VectorHit {
  id: string;
  score: number;
}

export interface VectorIndex {
  readonly kind: 'exact' | 'hnsw';
  readonly size: number;
  search(query: Float32Array, k: number): VectorHit[];
}

class ExactIndex implements VectorIndex {
  readonly kind = 'exact' as const;
  constructor(
    private readonly ids: string[],
    private readonly vectors: Float32Array[],
  ) {}

  get size(): number {
    return this.ids.length;
  }

  search(query: Float32Array, k: number): VectorHit[] {
    const hits = this.ids.map((id, i) => ({ id, score: dot(query, this.vectors[i]!) }));
    hits.sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
    return hits.slice(0, k);
  }
}

class HnswIndex implements VectorIndex {
  readonly kind = 'hnsw' as const;
  private readonly index: Index;

  constructor(
    private readonly ids: string[],
    vectors: Float32Array[],
    dimensions: number,
  ) {
    this.index = new Index({ dimensions, metric: MetricKind.IP, quantization: ScalarKind.F32, connectivity: 16, expansion_add: 128, expansion_search: 64, multi: false });
    ids.forEach((_, i) => this.index.add(BigInt(i), vectors[i]!));
  }

  get size(): number {
    return this.ids.length;
  }

  search(query: Float32Array, k: number): VectorHit[] {
    const found = this.index.search(query, Math.min(k, this.ids.length), 1);
    const hits: VectorHit[] = [];
    // usearch's inner-product distance is 1 − ⟨q, v⟩.
    found.keys.forEach((key, i) => hits.push({ id: this.ids[Number(key)]!, score: 1 - found.distances[i]! }));
    return hits;
  }
}

/** Exact search up to `annAbove` vectors, an HNSW index above. */
export function buildVectorIndex(ids: string[], vectors: Float32Array[], options: { annAbove: number }): VectorIndex {
  const dimensions = vectors[0]?.length ?? 0;
  if (ids.length > options.annAbove && dimensions > 0) return new HnswIndex(ids, vectors, dimensions);
  return new ExactIndex(ids, vectors);
}
