// Near-duplicate clustering over the whole corpus. Candidate pairs come from a BK-tree over the
// pHashes (a metric tree: a radius query visits only the branches the triangle inequality allows),
// so the corpus is never compared all pairs against all pairs. Pairs within the threshold are joined
// with union-find; each cluster then gets one representative.
import { hammingDistance, hashBits, type HashBits } from './hash.js';

interface BkNode {
  index: number;
  bits: HashBits;
  children: Map<number, BkNode>;
}

/** A BK-tree over 64-bit hashes under Hamming distance. */
export class BkTree {
  private root: BkNode | undefined;
  size = 0;

  add(index: number, bits: HashBits): void {
    const node: BkNode = { index, bits, children: new Map() };
    this.size++;
    if (!this.root) {
      this.root = node;
      return;
    }
    let current = this.root;
    for (;;) {
      const distance = hammingDistance(bits, current.bits);
      const child = current.children.get(distance);
      if (!child) {
        current.children.set(distance, node);
        return;
      }
      current = child;
    }
  }

  /** Indexes of every hash within `radius` of `bits`. */
  within(bits: HashBits, radius: number): number[] {
    const found: number[] = [];
    const stack = this.root ? [this.root] : [];
    while (stack.length > 0) {
      const node = stack.pop()!;
      const distance = hammingDistance(bits, node.bits);
      if (distance <= radius) found.push(node.index);
      for (const [edge, child] of node.children) {
        if (edge >= distance - radius && edge <= distance + radius) stack.push(child);
      }
    }
    return found;
  }
}

class UnionFind {
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

export interface HashedItem {
  phash: string;
  dhash: string;
  /** Hashes of the central 90%, when known: a border-cropped copy matches its original through them. */
  centerPhash?: string;
  centerDhash?: string;
}

export interface ClusterOptions {
  /** Largest pHash Hamming distance of a near-duplicate pair. */
  phashThreshold: number;
  /** Largest dHash distance of a pair, a second opinion that keeps unrelated look-alikes apart. */
  dhashThreshold: number;
}

interface HashVariant {
  item: number;
  phash: HashBits;
  dhash: HashBits;
}

function variantsOf(item: HashedItem, index: number): HashVariant[] {
  const variants = [{ item: index, phash: hashBits(item.phash), dhash: hashBits(item.dhash) }];
  if (item.centerPhash && item.centerDhash) variants.push({ item: index, phash: hashBits(item.centerPhash), dhash: hashBits(item.centerDhash) });
  return variants;
}

/**
 * Groups items into near-duplicate clusters: two items are linked when some variant of one (whole
 * image or centre) is within the pHash threshold of some variant of the other and the same two
 * variants are within the dHash threshold; clusters are the connected components of those links.
 * Returns clusters as lists of item indexes (singletons included), each sorted ascending.
 */
export function clusterByHash(items: HashedItem[], options: ClusterOptions): number[][] {
  const tree = new BkTree();
  const variants: HashVariant[] = [];
  const union = new UnionFind(items.length);
  for (let i = 0; i < items.length; i++) {
    const own = variantsOf(items[i]!, i);
    for (const variant of own) {
      for (const v of tree.within(variant.phash, options.phashThreshold)) {
        const other = variants[v]!;
        if (union.find(other.item) !== union.find(i) && hammingDistance(variant.dhash, other.dhash) <= options.dhashThreshold) union.union(i, other.item);
      }
    }
    for (const variant of own) {
      tree.add(variants.length, variant.phash);
      variants.push(variant);
    }
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < items.length; i++) {
    const root = union.find(i);
    const group = groups.get(root);
    if (group) group.push(i);
    else groups.set(root, [i]);
  }
  return [...groups.values()];
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
