// Corpus-wide near-duplicate clustering over fingerprints, one image at a time against an index.
// Every image puts the pHashes of its INDEXED_WINDOWS into one multi-index and those of itself and
// its mirror image into another. A new image asks the first with its whole and mirrored hashes (is
// it a crop, border cut, turn or mirror of an earlier image?) and the second with its windows (is an
// earlier image such a copy of it?). Only those candidates are verified (verify.ts), and verified
// pairs are joined with union-find.
import type { HashBits } from './hash.js';
import { MultiIndex } from './multi-index.js';
import { type Fingerprint } from './fingerprint.js';
import { INDEXED_WINDOWS, MIRRORED, WHOLE, windowHash, type Window } from './window.js';
import { ASPECT_TOLERANCE_START, aspectRatioGap, verifyPair, type Verdict, type VerifyOptions } from './verify.js';
import { UnionFind } from './cluster.js';
import type { Config } from '../../src/core/config.js';

export interface NearDuplicateOptions extends VerifyOptions {
  /** Largest pHash Hamming distance between a whole image and a window of another to verify them. */
  radius: number;
  /** Told every verification's outcome (benchmarks use it to see where the thresholds fall). */
  onVerify?: (whole: number, container: number, verdict: Verdict) => void;
}

export interface NearDuplicateStats {
  /** Pairs of images verified (each pair at most once per window direction). */
  verified: number;
  /** Milliseconds spent hashing windows and querying/updating the index. */
  indexMs: number;
  /** Milliseconds spent verifying candidates. */
  verifyMs: number;
}

/** How many of a candidate image's closest windows are verified before giving up on it. */
const WINDOWS_PER_CANDIDATE = 2;

interface Hit {
  other: number;
  /** The window of `container` that looked like `whole` as a whole. */
  window: Window;
  distance: number;
  /** Which of the two is the whole picture; the other holds the window. */
  whole: number;
  container: number;
  /** How far the window's proportions stray from the whole picture's (aspectRatioGap). */
  aspectGap: number;
}

/**
 * Keeps, per other image, its WINDOWS_PER_CANDIDATE closest hits; among equally close ones those of
 * the copy's proportions, since along a flag's stripes many windows of other widths hash the same.
 */
function bestHits(hits: Hit[]): Hit[][] {
  const byOther = new Map<number, Hit[]>();
  for (const hit of hits) {
    const list = byOther.get(hit.other);
    if (list) list.push(hit);
    else byOther.set(hit.other, [hit]);
  }
  return [...byOther.values()].map((list) => list.sort((a, b) => a.distance - b.distance || a.aspectGap - b.aspectGap).slice(0, WINDOWS_PER_CANDIDATE));
}

/**
 * Clusters fingerprints (undefined ones stay alone) into near-duplicate groups; returns each group's
 * indexes (singletons included) and what the work cost.
 */
export function clusterFingerprints(items: Array<Fingerprint | undefined>, options: NearDuplicateOptions): { clusters: number[][]; stats: NearDuplicateStats } {
  const windowsIndex = new MultiIndex();
  const windowOf: Array<{ item: number; window: Window }> = [];
  const wholesIndex = new MultiIndex();
  const wholeOf: Array<{ item: number; mirror: boolean }> = [];
  const union = new UnionFind(items.length);
  const stats: NearDuplicateStats = { verified: 0, indexMs: 0, verifyMs: 0 };
  for (let i = 0; i < items.length; i++) {
    const fingerprint = items[i];
    if (!fingerprint) continue;
    let start = performance.now();
    const hits: Hit[] = [];
    const own: Array<{ window: Window; bits: HashBits }> = [];
    for (const window of INDEXED_WINDOWS) {
      const bits = windowHash(fingerprint, window);
      if (bits) own.push({ window, bits });
    }
    const wholeBits = windowHash(fingerprint, WHOLE)!;
    const mirrorBits = windowHash(fingerprint, MIRRORED)!;
    for (const [bits, mirror] of [[wholeBits, false], [mirrorBits, true]] as const) {
      for (const { id, distance } of windowsIndex.within(bits, options.radius)) {
        const { item, window } = windowOf[id]!;
        // This image mirrored looks like that window, so this image looks like the window mirrored.
        hits.push({ other: item, window: mirror ? { ...window, mirror: !window.mirror } : window, distance, whole: i, container: item, aspectGap: 0 });
      }
    }
    for (const { window, bits } of own) {
      for (const { id, distance } of wholesIndex.within(bits, options.radius)) {
        const { item, mirror } = wholeOf[id]!;
        hits.push({ other: item, window: mirror ? { ...window, mirror: !window.mirror } : window, distance, whole: item, container: i, aspectGap: 0 });
      }
    }
    for (const { window, bits } of own) {
      windowsIndex.add(windowOf.length, bits);
      windowOf.push({ item: i, window });
    }
    wholesIndex.add(wholeOf.length, wholeBits);
    wholeOf.push({ item: i, mirror: false });
    wholesIndex.add(wholeOf.length, mirrorBits);
    wholeOf.push({ item: i, mirror: true });
    stats.indexMs += performance.now() - start;
    // A window of other proportions than the copy is no crop of it, however alike the stretched hashes.
    for (const hit of hits) hit.aspectGap = aspectRatioGap(items[hit.whole]!, items[hit.container]!, hit.window);
    const plausible = hits.filter((hit) => hit.aspectGap <= ASPECT_TOLERANCE_START);

    start = performance.now();
    for (const candidates of bestHits(plausible)) {
      for (const hit of candidates) {
        if (union.find(hit.other) === union.find(i)) break;
        stats.verified++;
        const verdict = verifyPair(items[hit.whole]!, items[hit.container]!, hit.window, options);
        options.onVerify?.(hit.whole, hit.container, verdict);
        if (verdict.duplicate) union.union(hit.whole, hit.container);
      }
    }
    stats.verifyMs += performance.now() - start;
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < items.length; i++) {
    const root = union.find(i);
    const group = groups.get(root);
    if (group) group.push(i);
    else groups.set(root, [i]);
  }
  return { clusters: [...groups.values()], stats };
}

/** The clustering settings of the `images` config section. */
export function nearDuplicateOptionsFrom(images: Config['images']): NearDuplicateOptions {
  return { radius: images.phashThreshold, minCorrelation: images.dedupMinCorrelation, maxColourDisagreement: images.dedupMaxColourDisagreement };
}
