// Text fingerprints for dedup: the sha256 of the normalized text (exact duplicates) and a MinHash
// signature over word shingles with LSH band keys (near-duplicates). Each of the bands × rows hash
// functions is a 32-bit mix of the shingle's FNV-1a hash with its own seed.
import { createHash } from 'node:crypto';
import { PLACEHOLDER_PATTERN } from '../../src/core/markup/placeholder.js';

export interface MinHashParams {
  bands: number;
  rows: number;
  shingleWords: number;
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Lower case, NFKC, no placeholders, no punctuation or markup: what two copies of a text share. */
export function normalizedWords(text: string): string[] {
  return text.replace(PLACEHOLDER_PATTERN, ' ').normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

export function exactHash(words: string[]): string {
  return createHash('sha256').update(words.join(' ')).digest('hex');
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** murmur3's 32-bit finalizer: a good avalanche mix, cheap in JavaScript. */
function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

const seedCache = new Map<number, Uint32Array>();

function seedsFor(count: number): Uint32Array {
  let seeds = seedCache.get(count);
  if (!seeds) {
    seeds = new Uint32Array(count);
    for (let i = 0; i < count; i++) seeds[i] = mix(0x9e3779b9 ^ Math.imul(i + 1, 0x27d4eb2d));
    seedCache.set(count, seeds);
  }
  return seeds;
}

/** The normalized words of each paragraph (line) of the text, empty paragraphs left out. */
export function normalizedParagraphs(text: string): string[][] {
  return text.split(/\n+/).map(normalizedWords).filter((words) => words.length > 0);
}

/**
 * The MinHash signature of the text's word shingles. Shingles stay inside a paragraph (a paragraph
 * shorter than one shingle is one shingle), so reordering paragraphs leaves the signature unchanged.
 */
export function minhashSignature(paragraphs: string[][], params: MinHashParams): Uint32Array {
  const count = params.bands * params.rows;
  const seeds = seedsFor(count);
  const signature = new Uint32Array(count).fill(0xffffffff);
  const n = params.shingleWords;
  for (const words of paragraphs) {
    for (let i = 0; i < Math.max(1, words.length - n + 1); i++) {
      const base = fnv1a(words.slice(i, i + n).join(' '));
      for (let j = 0; j < count; j++) {
        const value = mix(base ^ seeds[j]!);
        if (value < signature[j]!) signature[j] = value;
      }
    }
  }
  return signature;
}

/** Share of equal positions: an unbiased estimate of the Jaccard similarity of the shingle sets. */
export function estimatedJaccard(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/** One key per band: texts sharing any band key are near-duplicate candidates. */
export function bandKeys(signature: Uint32Array, params: MinHashParams): string[] {
  const keys: string[] = [];
  for (let band = 0; band < params.bands; band++) {
    const rows = signature.subarray(band * params.rows, (band + 1) * params.rows);
    keys.push(`${band}:${Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength).toString('base64')}`);
  }
  return keys;
}

export function encodeSignature(signature: Uint32Array): string {
  return Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('base64');
}

export function decodeSignature(encoded: string): Uint32Array {
  const bytes = Buffer.from(encoded, 'base64');
  const copy = new Uint8Array(bytes);
  return new Uint32Array(copy.buffer, 0, copy.byteLength / 4);
}
