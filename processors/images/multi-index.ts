// Multi-index hashing (Norouzi et al.) of 64-bit hashes: four tables keyed by the four 16-bit
// chunks. Two hashes within Hamming distance r agree within ⌊r/4⌋ bits on at least one chunk, so a
// radius query probes, per chunk, only the buckets that close to its own chunk and checks the full
// distance of what it finds there: exact, and without visiting the rest of the index.
import { hammingDistance, type HashBits } from './hash.js';

const CHUNKS = 4;
const BUCKETS = 1 << 16;

function popcount16(n: number): number {
  let count = 0;
  for (let v = n; v; v &= v - 1) count++;
  return count;
}

/** The 16-bit masks of at most k bits, for each k up to 16, built on first use. */
const masksWithin: number[][] = [];
function masks(k: number): number[] {
  let list = masksWithin[k];
  if (!list) {
    list = [];
    for (let m = 0; m < BUCKETS; m++) if (popcount16(m) <= k) list.push(m);
    list.sort((a, b) => popcount16(a) - popcount16(b));
    masksWithin[k] = list;
  }
  return list;
}

function chunkOf(bits: HashBits, c: number): number {
  return c < 2 ? (bits.high >>> (16 * (1 - c))) & 0xffff : (bits.low >>> (16 * (3 - c))) & 0xffff;
}

export class MultiIndex {
  private readonly heads = Array.from({ length: CHUNKS }, () => new Int32Array(BUCKETS).fill(-1));
  private next: Int32Array[] = Array.from({ length: CHUNKS }, () => new Int32Array(1024));
  private high = new Uint32Array(1024);
  private low = new Uint32Array(1024);
  private ids = new Int32Array(1024);
  private seen = new Int32Array(1024);
  private stamp = 0;
  size = 0;

  private grow(): void {
    const capacity = this.high.length * 2;
    const grown = <T extends Int32Array | Uint32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(capacity);
      b.set(a);
      return b;
    };
    this.next = this.next.map(grown);
    this.high = grown(this.high);
    this.low = grown(this.low);
    this.ids = grown(this.ids);
    this.seen = grown(this.seen);
  }

  add(id: number, bits: HashBits): void {
    if (this.size === this.high.length) this.grow();
    const slot = this.size++;
    this.high[slot] = bits.high;
    this.low[slot] = bits.low;
    this.ids[slot] = id;
    for (let c = 0; c < CHUNKS; c++) {
      const key = chunkOf(bits, c);
      this.next[c]![slot] = this.heads[c]![key]!;
      this.heads[c]![key] = slot;
    }
  }

  /** Every added id whose hash is within `radius` of `bits`, with its distance. */
  within(bits: HashBits, radius: number): Array<{ id: number; distance: number }> {
    const found: Array<{ id: number; distance: number }> = [];
    const stamp = ++this.stamp;
    const probe = masks(Math.min(16, Math.floor(radius / CHUNKS)));
    for (let c = 0; c < CHUNKS; c++) {
      const key = chunkOf(bits, c);
      const heads = this.heads[c]!;
      const next = this.next[c]!;
      for (const mask of probe) {
        for (let slot = heads[key ^ mask]!; slot !== -1; slot = next[slot]!) {
          if (this.seen[slot] === stamp) continue;
          this.seen[slot] = stamp;
          const distance = hammingDistance(bits, { high: this.high[slot]!, low: this.low[slot]! });
          if (distance <= radius) found.push({ id: this.ids[slot]!, distance });
        }
      }
    }
    return found;
  }
}
