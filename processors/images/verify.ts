// Verification of a candidate pair found by the index: the window of one image that hashed close to
// the other as a whole is refined (shift, scale, turn) to the best grey correlation, then the colours
// of the two aligned pictures are compared, so a look-alike in other colours (a flag, an icon in
// another tint) is no duplicate. A grey copy passes the colour test when its grey levels are the colour one's.
import { COLOUR_SIDE, type Fingerprint } from './fingerprint.js';
import { greyWindow, sampleWindow, WHOLE, type Window } from './window.js';

const COMPARE_SIDE = 24;
const COLOUR_CELLS = 8;
const DEGREES = Math.PI / 180;

function correlation(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    sa += a[i]!;
    sb += b[i]!;
  }
  const ma = sa / n;
  const mb = sb / n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    ab += da * db;
    aa += da * da;
    bb += db * db;
  }
  // Two flat pictures correlate only if they are equally flat; the colour test decides between them.
  if (aa < 1e-6 || bb < 1e-6) return aa < 1e-6 && bb < 1e-6 ? 1 : 0;
  return ab / Math.sqrt(aa * bb);
}

/** Moves tried by the refinement, in turn, each kept while it improves the correlation. */
const MOVES: Array<(w: Window, step: number) => Window> = [
  (w, s) => ({ ...w, cx: w.cx + 0.02 * s }),
  (w, s) => ({ ...w, cy: w.cy + 0.02 * s }),
  (w, s) => ({ ...w, w: w.w * (1 + 0.04 * s) }),
  (w, s) => ({ ...w, h: w.h * (1 + 0.04 * s) }),
  (w, s) => ({ ...w, angle: w.angle + 1 * DEGREES * s }),
];
const REFINE_ROUNDS = 4;

/**
 * Hill-climbs `start` on `other` towards the best correlation with `whole` as a whole. A move may not
 * take the window's proportions out of the copy's (or further out than they were): along stripes the
 * correlation barely changes with width, and a free climb would stretch a flag's window past them.
 */
export function refineWindow(whole: Fingerprint, other: Fingerprint, start: Window): { window: Window; correlation: number } {
  const target = greyWindow(whole, WHOLE, COMPARE_SIDE);
  let best = start;
  let bestScore = correlation(target, greyWindow(other, start, COMPARE_SIDE));
  for (let round = 0; round < REFINE_ROUNDS; round++) {
    let improved = false;
    for (const move of MOVES) {
      for (const step of [1, -1]) {
        const candidate = move(best, step);
        const gap = aspectRatioGap(whole, other, candidate);
        if (gap > ASPECT_TOLERANCE_REFINED && gap > aspectRatioGap(whole, other, best)) continue;
        const score = correlation(target, greyWindow(other, candidate, COMPARE_SIDE));
        if (score > bestScore) {
          best = candidate;
          bestScore = score;
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  return { window: best, correlation: bestScore };
}

function chroma(rgb: Float64Array): Float64Array {
  const out = new Float64Array((rgb.length / 3) * 2);
  for (let i = 0; i < rgb.length / 3; i++) {
    const r = rgb[3 * i]!;
    const g = rgb[3 * i + 1]!;
    const b = rgb[3 * i + 2]!;
    out[2 * i] = r - g;
    out[2 * i + 1] = (r + g) / 2 - b;
  }
  return out;
}

/** Mean chroma magnitude below which a picture counts as grey. */
const GREY_CHROMA = 6;

/** Chroma above which a cell of the colour picture counts as coloured for the grey-copy test. */
const COLOURED_CELL_CHROMA = 20;
/** Grey-level gap (0-255) that nine in ten coloured cells must stay within in a grey copy. */
const MAX_GREY_CONVERSION_GAP = 38;

function luminance(rgb: Float64Array, cell: number): number {
  return 0.299 * rgb[3 * cell]! + 0.587 * rgb[3 * cell + 1]! + 0.114 * rgb[3 * cell + 2]!;
}

/**
 * The 90th percentile of the grey-level gap over the cells where either picture has colour. A grey
 * copy keeps the luminance of each coloured area; a grey icon beside a coloured one of the same
 * shape (an empty star beside a full one) differs exactly there, by a wide margin, whatever the
 * scale. A mean over the whole picture would dilute that gap with the shared background (measured:
 * 12.8 for the stars enlarged twice, against 13.8 for a grey copy with a tone shift; this figure is
 * 49 or more for the stars at every scale and at most 27 for the grey copies).
 */
function greyConversionGap(a: Float64Array, b: Float64Array, chromaA: Float64Array, chromaB: Float64Array): number {
  const gaps: number[] = [];
  for (let cell = 0; cell < chromaA.length / 2; cell++) {
    const coloured = Math.max(Math.hypot(chromaA[2 * cell]!, chromaA[2 * cell + 1]!), Math.hypot(chromaB[2 * cell]!, chromaB[2 * cell + 1]!));
    if (coloured > COLOURED_CELL_CHROMA) gaps.push(Math.abs(luminance(a, cell) - luminance(b, cell)));
  }
  if (gaps.length === 0) return 0;
  gaps.sort((x, y) => x - y);
  return gaps[Math.floor(gaps.length * 0.9)]!;
}

/**
 * Share of colour cells whose chroma disagrees between `whole` and the `window` of `other`; 0 when
 * both are grey, and 0 or 1 when only one is (as its grey levels match the other's or not). A cell disagrees when its chroma vectors lie farther apart than a fixed
 * margin plus a share of their size, so a saturation change still agrees, red against green does not.
 */
export function colourDisagreement(whole: Fingerprint, other: Fingerprint, window: Window): number {
  const rgbA = sampleWindow(whole.colour, COLOUR_SIDE, 3, whole.aspect, WHOLE, COLOUR_CELLS);
  const rgbB = sampleWindow(other.colour, COLOUR_SIDE, 3, other.aspect, window, COLOUR_CELLS);
  const a = chroma(rgbA);
  const b = chroma(rgbB);
  const cells = a.length / 2;
  let sizeA = 0;
  let sizeB = 0;
  for (let i = 0; i < cells; i++) {
    sizeA += Math.hypot(a[2 * i]!, a[2 * i + 1]!);
    sizeB += Math.hypot(b[2 * i]!, b[2 * i + 1]!);
  }
  const greyA = sizeA / cells < GREY_CHROMA;
  const greyB = sizeB / cells < GREY_CHROMA;
  if (greyA && greyB) return 0;
  if (greyA || greyB) return greyConversionGap(rgbA, rgbB, a, b) <= MAX_GREY_CONVERSION_GAP ? 0 : 1;
  let disagreeing = 0;
  for (let i = 0; i < cells; i++) {
    const da = Math.hypot(a[2 * i]!, a[2 * i + 1]!);
    const db = Math.hypot(b[2 * i]!, b[2 * i + 1]!);
    const distance = Math.hypot(a[2 * i]! - b[2 * i]!, a[2 * i + 1]! - b[2 * i + 1]!);
    if (distance > 40 + 0.35 * ((da + db) / 2)) disagreeing++;
  }
  return disagreeing / cells;
}

export interface VerifyOptions {
  /** Smallest grey correlation of the aligned pictures. */
  minCorrelation: number;
  /** Largest share of colour cells that may disagree (overlays, watermarks). */
  maxColourDisagreement: number;
}

/** How far (as a ratio) a copy's proportions may stray from the window's: crops and turns keep them. */
export const ASPECT_TOLERANCE_START = 1.2;
const ASPECT_TOLERANCE_REFINED = 1.08;

export function aspectRatioGap(whole: Fingerprint, other: Fingerprint, window: Window): number {
  const windowAspect = (window.w * other.aspect) / window.h;
  return Math.max(windowAspect / whole.aspect, whole.aspect / windowAspect);
}

export interface Verdict {
  duplicate: boolean;
  correlation: number;
  colourDisagreement: number;
}

/**
 * Whether `whole` is a copy of the `start` window of `other`: the window must have the copy's
 * proportions, and after refinement the grey correlation and the colours must agree.
 */
export function verifyPair(whole: Fingerprint, other: Fingerprint, start: Window, options: VerifyOptions): Verdict {
  if (aspectRatioGap(whole, other, start) > ASPECT_TOLERANCE_START) return { duplicate: false, correlation: NaN, colourDisagreement: NaN };
  const refined = refineWindow(whole, other, start);
  if (refined.correlation < options.minCorrelation || aspectRatioGap(whole, other, refined.window) > ASPECT_TOLERANCE_REFINED) {
    return { duplicate: false, correlation: refined.correlation, colourDisagreement: NaN };
  }
  const disagreement = colourDisagreement(whole, other, refined.window);
  return { duplicate: disagreement <= options.maxColourDisagreement, correlation: refined.correlation, colourDisagreement: disagreement };
}
