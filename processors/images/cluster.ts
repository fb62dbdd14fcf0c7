// Cluster bookkeeping shared by near-duplicate finding (near-dup.ts): union-find over image indexes,
// and the choice of each cluster's representative.

export class UnionFind {
  private readonly parent: Int32Array;

  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }

  find(i: number): number {
    let root = i;
    while (this.parent[root] !== root) root = this.parent[root]!;
    while (this.parent[i] !== root) {
      const next = this.parent[i]!;
      this.parent[i] = root;
      i = next;
    }
    return root;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

export interface RepresentativeCandidate {
  id: string;
  width?: number;
  height?: number;
  bytes: number;
  kept?: boolean;
}

/**
 * The cluster's representative: a member the filters kept if there is one (so a kept cluster never
 * points to a dropped image), then the highest resolution, then the largest file, then the lowest id.
 */
export function chooseRepresentative<T extends RepresentativeCandidate>(members: T[]): T {
  const pixels = (m: T): number => (m.width ?? 0) * (m.height ?? 0);
  return [...members].sort(
    (a, b) => Number(b.kept ?? false) - Number(a.kept ?? false) || pixels(b) - pixels(a) || b.bytes - a.bytes || a.id.localeCompare(b.id),
  )[0]!;
}
