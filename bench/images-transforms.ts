// The transformed copies the dedup benchmark (and its test) plant among real photos: the edits a
// web image typically goes through between sites. Generated at run time into a temp folder; no
// image is ever committed.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

export interface Transform {
  name: string;
  extension: string;
  apply(bytes: Buffer): Promise<Buffer>;
}

function overlaySvg(width: number, height: number): Buffer {
  const size = Math.max(10, Math.round(height * 0.06));
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<text x="${width - size * 0.5}" y="${height - size * 0.6}" font-family="sans-serif" font-size="${size}" font-weight="bold" ` +
      `fill="white" stroke="black" stroke-width="1" text-anchor="end">© m2rag photo</text></svg>`,
  );
}

export const TRANSFORMS: Transform[] = [
  {
    name: 'resize-50',
    extension: 'jpg',
    apply: async (bytes) => {
      const { width } = await sharp(bytes).metadata();
      return sharp(bytes).resize({ width: Math.round(width! / 2) }).jpeg({ quality: 90 }).toBuffer();
    },
  },
  { name: 'jpeg-q40', extension: 'jpg', apply: (bytes) => sharp(bytes).jpeg({ quality: 40 }).toBuffer() },
  {
    name: 'crop-5',
    extension: 'jpg',
    apply: async (bytes) => {
      const { width, height } = await sharp(bytes).metadata();
      const dx = Math.round(width! * 0.05);
      const dy = Math.round(height! * 0.05);
      return sharp(bytes).extract({ left: dx, top: dy, width: width! - 2 * dx, height: height! - 2 * dy }).jpeg({ quality: 90 }).toBuffer();
    },
  },
  {
    name: 'text-overlay',
    extension: 'jpg',
    apply: async (bytes) => {
      const { width, height } = await sharp(bytes).metadata();
      return sharp(bytes).composite([{ input: overlaySvg(width!, height!), top: 0, left: 0 }]).jpeg({ quality: 90 }).toBuffer();
    },
  },
  { name: 'png', extension: 'png', apply: (bytes) => sharp(bytes).png().toBuffer() },
];

export interface PlantedSet {
  /** Ground truth: file name → the source photo it came from. */
  sourceOf: Map<string, string>;
  files: number;
}

/**
 * Writes `sources` photos with every transformed copy of each, plus the `distinct` photos untouched,
 * into `dir`; file names say nothing about their source.
 */
export async function writePlantedSet(dir: string, sources: Array<{ name: string; bytes: Buffer }>, distinct: Array<{ name: string; bytes: Buffer }>): Promise<PlantedSet> {
  await mkdir(dir, { recursive: true });
  const sourceOf = new Map<string, string>();
  let n = 0;
  const fileName = (extension: string): string => `img-${String(n++).padStart(5, '0')}.${extension}`;
  for (const source of sources) {
    const original = fileName('jpg');
    await writeFile(path.join(dir, original), source.bytes);
    sourceOf.set(original, source.name);
    for (const transform of TRANSFORMS) {
      const name = fileName(transform.extension);
      await writeFile(path.join(dir, name), await transform.apply(source.bytes));
      sourceOf.set(name, source.name);
    }
  }
  for (const photo of distinct) {
    const name = fileName('jpg');
    await writeFile(path.join(dir, name), photo.bytes);
    sourceOf.set(name, photo.name);
  }
  return { sourceOf, files: n };
}

export interface PairScores {
  precision: number;
  recall: number;
  truePairs: number;
  predictedPairs: number;
  correctPairs: number;
}

const pairsIn = (n: number): number => (n * (n - 1)) / 2;

/** Pairwise precision and recall of predicted clusters against the planted ground truth. */
export function scoreClusters(clusters: string[][], sourceOf: Map<string, string>): PairScores {
  const groupSizes = new Map<string, number>();
  for (const source of sourceOf.values()) groupSizes.set(source, (groupSizes.get(source) ?? 0) + 1);
  const truePairs = [...groupSizes.values()].reduce((sum, n) => sum + pairsIn(n), 0);
  let predictedPairs = 0;
  let correctPairs = 0;
  for (const cluster of clusters) {
    predictedPairs += pairsIn(cluster.length);
    const bySource = new Map<string, number>();
    for (const file of cluster) bySource.set(sourceOf.get(file)!, (bySource.get(sourceOf.get(file)!) ?? 0) + 1);
    for (const n of bySource.values()) correctPairs += pairsIn(n);
  }
  return {
    precision: predictedPairs === 0 ? 1 : correctPairs / predictedPairs,
    recall: truePairs === 0 ? 1 : correctPairs / truePairs,
    truePairs,
    predictedPairs,
    correctPairs,
  };
}
