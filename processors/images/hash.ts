// Perceptual hashes over decoded greyscale pixels: a 64-bit DCT hash (pHash) and a 64-bit
// difference hash (dHash), as 16-char hex strings, and the Hamming distance between two hashes.

/** Side of the greyscale square the pHash is computed from. */
export const PHASH_INPUT_SIDE = 32;
const PHASH_FREQUENCIES = 8;

/** cos((2x+1)uπ/2N) for the 8 lowest frequencies u and the 32 positions x. */
const DCT_BASIS: Float64Array[] = Array.from({ length: PHASH_FREQUENCIES }, (_, u) => {
  const row = new Float64Array(PHASH_INPUT_SIDE);
  for (let x = 0; x < PHASH_INPUT_SIDE; x++) row[x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * PHASH_INPUT_SIDE));
  return row;
});

function bitsToHex(bits: boolean[]): string {
  let hex = '';
  for (let i = 0; i < bits.length; i += 4) {
    hex += ((Number(bits[i]) << 3) | (Number(bits[i + 1]) << 2) | (Number(bits[i + 2]) << 1) | Number(bits[i + 3])).toString(16);
  }
  return hex;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 0 ? (sorted[mid - 1]! + sorted[mid]!) / 2 : sorted[mid]!;
}

/**
 * pHash: the 8×8 lowest frequencies of the 2-D DCT of a 32×32 greyscale image, each bit set when
 * its coefficient is above their median (the construction of the `imagehash` library).
 */
export function phashOf(grey32: ArrayLike<number>): string {
  const side = PHASH_INPUT_SIDE;
  if (grey32.length !== side * side) throw new Error(`phash needs ${side}×${side} greyscale pixels, got ${grey32.length} values`);
  // Separable DCT: rows first (only the 8 frequencies kept), then columns.
  const rowPass = new Float64Array(side * PHASH_FREQUENCIES);
  for (let y = 0; y < side; y++) {
    for (let v = 0; v < PHASH_FREQUENCIES; v++) {
      const basis = DCT_BASIS[v]!;
      let sum = 0;
      for (let x = 0; x < side; x++) sum += basis[x]! * grey32[y * side + x]!;
      rowPass[y * PHASH_FREQUENCIES + v] = sum;
    }
  }
  const coefficients: number[] = [];
  for (let u = 0; u < PHASH_FREQUENCIES; u++) {
    const basis = DCT_BASIS[u]!;
    for (let v = 0; v < PHASH_FREQUENCIES; v++) {
      let sum = 0;
      for (let y = 0; y < side; y++) sum += basis[y]! * rowPass[y * PHASH_FREQUENCIES + v]!;
      coefficients.push(sum);
    }
  }
  const threshold = median(coefficients);
  return bitsToHex(coefficients.map((c) => c > threshold));
}

/** A rectangle of a source image, in (fractional) pixels. */
export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Area-average resampling of `region` of a greyscale image (`width` pixels a row) to
 * `toWidth`×`toHeight`: each output pixel averages the source pixels it covers, weighted by coverage.
 */
export function resampleGrey(pixels: ArrayLike<number>, width: number, region: Region, toWidth: number, toHeight: number): Float64Array {
  const out = new Float64Array(toWidth * toHeight);
  const scaleX = region.width / toWidth;
  const scaleY = region.height / toHeight;
  for (let ty = 0; ty < toHeight; ty++) {
    const y0 = region.top + ty * scaleY;
    const y1 = y0 + scaleY;
    for (let tx = 0; tx < toWidth; tx++) {
      const x0 = region.left + tx * scaleX;
      const x1 = x0 + scaleX;
      let sum = 0;
      let area = 0;
      for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
          const w = wy * (Math.min(x + 1, x1) - Math.max(x, x0));
          sum += w * pixels[y * width + x]!;
          area += w;
        }
      }
      out[ty * toWidth + tx] = sum / area;
    }
  }
  return out;
}

/** dHash: a 9×8 greyscale version of the image, each bit set when a pixel is brighter than its right neighbour. */
export function dhashOf(grey32: ArrayLike<number>): string {
  const small = resampleGrey(grey32, PHASH_INPUT_SIDE, { left: 0, top: 0, width: PHASH_INPUT_SIDE, height: PHASH_INPUT_SIDE }, 9, 8);
  const bits: boolean[] = [];
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) bits.push(small[y * 9 + x]! > small[y * 9 + x + 1]!);
  }
  return bitsToHex(bits);
}

function popcount32(n: number): number {
  let v = n - ((n >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** A 64-bit hash as two 32-bit halves, for fast distance computations. */
export interface HashBits {
  high: number;
  low: number;
}

export function hashBits(hex: string): HashBits {
  if (!/^[0-9a-f]{16}$/.test(hex)) throw new Error(`not a 64-bit hex hash: ${hex}`);
  return { high: Number.parseInt(hex.slice(0, 8), 16), low: Number.parseInt(hex.slice(8), 16) };
}

export function hammingDistance(a: HashBits, b: HashBits): number {
  return popcount32((a.high ^ b.high) >>> 0) + popcount32((a.low ^ b.low) >>> 0);
}

/**
 * Side of the greyscale square decoded for hashing, resampled down to the pHash input. Kept at 64 so
 * the stored hashes of images decoded before stay comparable with new ones.
 */
export const HASH_SOURCE_SIDE = 64;

export interface ImageHashes {
  phash: string;
  dhash: string;
}

/**
 * pHash and dHash of the whole image, from 64×64 greyscale pixels. Stored as a record of the decoded
 * picture; near-duplicate clustering uses the fingerprint's window hashes instead (near-dup.ts).
 */
export function imageHashesOf(grey64: Uint8Array): ImageHashes {
  const side = HASH_SOURCE_SIDE;
  if (grey64.length !== side * side) throw new Error(`hashing needs ${side}×${side} greyscale pixels, got ${grey64.length} values`);
  const whole = resampleGrey(grey64, side, { left: 0, top: 0, width: side, height: side }, PHASH_INPUT_SIDE, PHASH_INPUT_SIDE);
  return { phash: phashOf(whole), dhash: dhashOf(whole) };
}
