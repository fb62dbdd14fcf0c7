// Windows of a fingerprint: a rectangle of the image (centre and size as fractions of its sides),
// turned by an angle (in true proportions) and possibly mirrored, resampled bilinearly. A copy that
// was cropped, padded, mirrored or slightly rotated looks, as a whole, like one window of the other
// image: that is what the index matches on and what verification refines.
import { GREY_SIDE, type Fingerprint } from './fingerprint.js';
import type { HashBits } from './hash.js';

export interface Window {
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** Radians, counter-clockwise. */
  angle: number;
  mirror: boolean;
}

export const WHOLE: Window = { cx: 0.5, cy: 0.5, w: 1, h: 1, angle: 0, mirror: false };
export const MIRRORED: Window = { ...WHOLE, mirror: true };

/** Samples `window` of a `side`×`side` image with `channels` interleaved channels into n×n, edges clamped. */
export function sampleWindow(pixels: Uint8Array, side: number, channels: number, aspect: number, window: Window, n: number): Float64Array {
  const out = new Float64Array(n * n * channels);
  const cos = Math.cos(window.angle);
  const sin = Math.sin(window.angle);
  const max = side - 1;
  for (let i = 0; i < n; i++) {
    const v = ((i + 0.5) / n - 0.5) * window.h;
    for (let j = 0; j < n; j++) {
      let u = ((j + 0.5) / n - 0.5) * window.w * aspect;
      if (window.mirror) u = -u;
      const x = Math.min(max, Math.max(0, (window.cx + (u * cos + v * sin) / aspect) * side - 0.5));
      const y = Math.min(max, Math.max(0, (window.cy - u * sin + v * cos) * side - 0.5));
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const x1 = Math.min(max, x0 + 1);
      const y1 = Math.min(max, y0 + 1);
      const fx = x - x0;
      const fy = y - y0;
      for (let c = 0; c < channels; c++) {
        const p00 = pixels[(y0 * side + x0) * channels + c]!;
        const p01 = pixels[(y0 * side + x1) * channels + c]!;
        const p10 = pixels[(y1 * side + x0) * channels + c]!;
        const p11 = pixels[(y1 * side + x1) * channels + c]!;
        out[(i * n + j) * channels + c] = (p00 * (1 - fx) + p01 * fx) * (1 - fy) + (p10 * (1 - fx) + p11 * fx) * fy;
      }
    }
  }
  return out;
}

export function greyWindow(fingerprint: Fingerprint, window: Window, n: number): Float64Array {
  return sampleWindow(fingerprint.grey, GREY_SIDE, 1, fingerprint.aspect, window, n);
}

/** Windows flatter than this carry no structure to hash; indexing them would only match other flat areas. */
const MIN_WINDOW_CONTRAST = 6;
/** Window hashes sample 16×16 of a half-resolution copy: the same 8×8 lowest frequencies as a 32×32 pHash, four times cheaper. */
const HASH_SAMPLES = 16;
const HALF_SIDE = GREY_SIDE / 2;
const FREQUENCIES = 8;
const BASIS: Float64Array[] = Array.from({ length: FREQUENCIES }, (_, u) =>
  Float64Array.from({ length: HASH_SAMPLES }, (_, x) => Math.cos(((2 * x + 1) * u * Math.PI) / (2 * HASH_SAMPLES))),
);

const halves = new WeakMap<Fingerprint, Uint8Array>();
function halfGrey(fingerprint: Fingerprint): Uint8Array {
  let half = halves.get(fingerprint);
  if (!half) {
    half = new Uint8Array(HALF_SIDE * HALF_SIDE);
    const g = fingerprint.grey;
    for (let y = 0; y < HALF_SIDE; y++) {
      for (let x = 0; x < HALF_SIDE; x++) {
        const i = 2 * y * GREY_SIDE + 2 * x;
        half[y * HALF_SIDE + x] = (g[i]! + g[i + 1]! + g[i + GREY_SIDE]! + g[i + GREY_SIDE + 1]! + 2) >> 2;
      }
    }
    halves.set(fingerprint, half);
  }
  return half;
}

function standardDeviation(values: Float64Array): number {
  let sum = 0;
  let squares = 0;
  for (const v of values) {
    sum += v;
    squares += v * v;
  }
  const mean = sum / values.length;
  return Math.sqrt(Math.max(0, squares / values.length - mean * mean));
}

/**
 * 64-bit DCT hash of a window (bits set where the 8×8 lowest-frequency coefficients exceed their
 * median), or undefined when a part of the image is too flat to say anything.
 */
export function windowHash(fingerprint: Fingerprint, window: Window): HashBits | undefined {
  const pixels = sampleWindow(halfGrey(fingerprint), HALF_SIDE, 1, fingerprint.aspect, window, HASH_SAMPLES);
  const whole = window.w === 1 && window.h === 1 && window.angle === 0;
  if (!whole && standardDeviation(pixels) < MIN_WINDOW_CONTRAST) return undefined;
  const rows = new Float64Array(HASH_SAMPLES * FREQUENCIES);
  for (let y = 0; y < HASH_SAMPLES; y++) {
    for (let v = 0; v < FREQUENCIES; v++) {
      const basis = BASIS[v]!;
      let sum = 0;
      for (let x = 0; x < HASH_SAMPLES; x++) sum += basis[x]! * pixels[y * HASH_SAMPLES + x]!;
      rows[y * FREQUENCIES + v] = sum;
    }
  }
  const coefficients = new Float64Array(FREQUENCIES * FREQUENCIES);
  for (let u = 0; u < FREQUENCIES; u++) {
    const basis = BASIS[u]!;
    for (let v = 0; v < FREQUENCIES; v++) {
      let sum = 0;
      for (let y = 0; y < HASH_SAMPLES; y++) sum += basis[y]! * rows[y * FREQUENCIES + v]!;
      coefficients[u * FREQUENCIES + v] = sum;
    }
  }
  const sorted = Float64Array.from(coefficients).sort();
  const median = (sorted[31]! + sorted[32]!) / 2;
  let high = 0;
  let low = 0;
  for (let i = 0; i < 32; i++) {
    high = (high << 1) | (coefficients[i]! > median ? 1 : 0);
    low = (low << 1) | (coefficients[32 + i]! > median ? 1 : 0);
  }
  return { high: high >>> 0, low: low >>> 0 };
}

/** Window sides (fractions of the image side): crops keeping down to ~56% of a side, as 16:9 from a square. */
const SIDES = [1, 0.87, 0.75, 0.65, 0.56];
/** Smallest share of the area a window keeps: crops up to ~45% of the area. */
const MIN_AREA = 0.48;
/** Largest gap between neighbouring window centres, as a fraction of the image side. */
const POSITION_STEP = 0.07;
const DEGREES = Math.PI / 180;

function positions(size: number): number[] {
  const room = 1 - size;
  const count = room < 1e-9 ? 1 : Math.ceil(room / POSITION_STEP - 1e-9) + 1;
  return Array.from({ length: count }, (_, k) => size / 2 + (count === 1 ? 0 : (room * k) / (count - 1)));
}

/**
 * The windows indexed for every image: every crop rectangle of the grid (any position, any aspect
 * among SIDES, at least MIN_AREA) plus centred rotations by ±2.5° and ±4.5°, cut to the rectangle
 * that stays inside the turned image.
 */
export const INDEXED_WINDOWS: Window[] = (() => {
  const windows: Window[] = [];
  for (const w of SIDES) {
    for (const h of SIDES) {
      if (w * h < MIN_AREA) continue;
      for (const cx of positions(w)) for (const cy of positions(h)) windows.push({ cx, cy, w, h, angle: 0, mirror: false });
    }
  }
  for (const [degrees, side] of [[2.5, 0.94], [4.5, 0.9]] as const) {
    for (const sign of [1, -1]) windows.push({ cx: 0.5, cy: 0.5, w: side, h: side, angle: sign * degrees * DEGREES, mirror: false });
  }
  return windows;
})();
