// The transformed copies the dedup benchmark (and its test) plant among real photos: the edits a
// web image typically goes through between sites. Generated at run time into a temp folder; no
// image is ever committed.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';

export interface Transform {
  /** `<family>/<strength>`, e.g. `crop-offcentre/60%-area-bottom-right`. */
  name: string;
  family: string;
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

function bannerSvg(width: number, height: number): Buffer {
  const band = Math.round(height * 0.12);
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<rect x="0" y="${height - band}" width="${width}" height="${band}" fill="black" fill-opacity="0.55"/>` +
      `<text x="${width / 2}" y="${height - band * 0.3}" font-family="sans-serif" font-size="${Math.round(band * 0.6)}" fill="white" text-anchor="middle">Breaking: local news</text></svg>`,
  );
}

const jpeg = (image: Sharp): Promise<Buffer> => image.jpeg({ quality: 90 }).toBuffer();

async function sizeOf(bytes: Buffer): Promise<{ width: number; height: number }> {
  const { width, height } = await sharp(bytes).metadata();
  return { width: width!, height: height! };
}

/** Keeps `keepW`×`keepH` of the sides, the kept box placed at (ax, ay) ∈ [0,1]² of the free room. */
function crop(family: string, name: string, keepW: number, keepH: number, ax: number, ay: number): Transform {
  return {
    name: `${family}/${name}`,
    family,
    extension: 'jpg',
    apply: async (bytes) => {
      const { width, height } = await sizeOf(bytes);
      const w = Math.round(width * keepW);
      const h = Math.round(height * keepH);
      return jpeg(sharp(bytes).extract({ left: Math.round((width - w) * ax), top: Math.round((height - h) * ay), width: w, height: h }));
    },
  };
}

/** The largest box of `ratio` (long side over short, following the photo's orientation) inside the photo. */
function aspectCrop(name: string, ratio: number, anchor: number): Transform {
  return {
    name: `aspect-crop/${name}`,
    family: 'aspect-crop',
    extension: 'jpg',
    apply: async (bytes) => {
      const { width, height } = await sizeOf(bytes);
      const target = width >= height ? ratio : 1 / ratio;
      let w = width;
      let h = Math.round(width / target);
      if (h > height) {
        h = height;
        w = Math.round(height * target);
      }
      return jpeg(sharp(bytes).extract({ left: Math.round((width - w) * anchor), top: Math.round((height - h) * anchor), width: w, height: h }));
    },
  };
}

function pad(name: string, share: number, colour: string, square: boolean): Transform {
  return {
    name: `padding/${name}`,
    family: 'padding',
    extension: 'jpg',
    apply: async (bytes) => {
      const { width, height } = await sizeOf(bytes);
      const side = Math.max(width, height);
      const x = square ? Math.round((side - width) / 2) : Math.round(width * share);
      const y = square ? Math.round((side - height) / 2) : Math.round(height * share);
      return jpeg(sharp(bytes).extend({ left: x, right: x, top: y, bottom: y, background: colour }));
    },
  };
}

/** Turns by `degrees` and cuts the largest box of the photo's proportions inside the turned picture. */
function rotation(degrees: number): Transform {
  return {
    name: `rotation/${degrees > 0 ? '+' : ''}${degrees}deg`,
    family: 'rotation',
    extension: 'jpg',
    apply: async (bytes) => {
      const { width, height } = await sizeOf(bytes);
      const t = (Math.abs(degrees) * Math.PI) / 180;
      const scale = 1 / (Math.cos(t) + Math.sin(t) * Math.max(width / height, height / width));
      const turned = await sharp(bytes).rotate(degrees, { background: 'white' }).toBuffer({ resolveWithObject: true });
      const w = Math.floor(width * scale);
      const h = Math.floor(height * scale);
      return jpeg(sharp(turned.data).extract({ left: Math.floor((turned.info.width - w) / 2), top: Math.floor((turned.info.height - h) / 2), width: w, height: h }));
    },
  };
}

function simple(family: string, name: string, extension: string, apply: (bytes: Buffer) => Promise<Buffer>): Transform {
  return { name: `${family}/${name}`, family, extension, apply };
}

export const TRANSFORMS: Transform[] = [
  crop('crop-centre', '85%-area', Math.sqrt(0.85), Math.sqrt(0.85), 0.5, 0.5),
  crop('crop-centre', '70%-area', Math.sqrt(0.7), Math.sqrt(0.7), 0.5, 0.5),
  crop('crop-centre', '60%-area', Math.sqrt(0.6), Math.sqrt(0.6), 0.5, 0.5),
  crop('crop-offcentre', '85%-area-top-left', Math.sqrt(0.85), Math.sqrt(0.85), 0, 0),
  crop('crop-offcentre', '70%-area-bottom-right', Math.sqrt(0.7), Math.sqrt(0.7), 1, 1),
  crop('crop-offcentre', '60%-area-top-right', Math.sqrt(0.6), Math.sqrt(0.6), 1, 0),
  crop('crop-offcentre', '60%-area-left-band', 0.6, 1, 0, 0.5),
  crop('crop-offcentre', '60%-area-off-centre', Math.sqrt(0.6), Math.sqrt(0.6), 0.25, 0.7),
  aspectCrop('16:9-centre', 16 / 9, 0.5),
  aspectCrop('16:9-top', 16 / 9, 0),
  aspectCrop('square-centre', 1, 0.5),
  aspectCrop('square-edge', 1, 1),
  pad('white-5%', 0.05, 'white', false),
  pad('black-10%', 0.1, 'black', false),
  pad('white-15%', 0.15, 'white', false),
  pad('letterbox-square', 0, 'black', true),
  simple('mirror', 'horizontal', 'jpg', (bytes) => jpeg(sharp(bytes).flop())),
  simple('mirror', 'horizontal-half-size', 'jpg', async (bytes) => jpeg(sharp(bytes).flop().resize({ width: Math.round((await sizeOf(bytes)).width / 2) }))),
  rotation(3),
  rotation(-3),
  rotation(5),
  rotation(-5),
  simple('resize', '50%', 'jpg', async (bytes) => jpeg(sharp(bytes).resize({ width: Math.round((await sizeOf(bytes)).width / 2) }))),
  simple('resize', '150px-thumbnail', 'jpg', (bytes) => jpeg(sharp(bytes).resize(150, 150, { fit: 'inside' }))),
  simple('recompress', 'jpeg-q40', 'jpg', (bytes) => sharp(bytes).jpeg({ quality: 40 }).toBuffer()),
  simple('recompress', 'jpeg-q15', 'jpg', (bytes) => sharp(bytes).jpeg({ quality: 15 }).toBuffer()),
  simple('format', 'png', 'png', (bytes) => sharp(bytes).png().toBuffer()),
  simple('format', 'webp-q75', 'webp', (bytes) => sharp(bytes).webp({ quality: 75 }).toBuffer()),
  simple('tone', 'grayscale', 'jpg', (bytes) => jpeg(sharp(bytes).greyscale())),
  simple('tone', 'brighter-more-saturated', 'jpg', (bytes) => jpeg(sharp(bytes).modulate({ brightness: 1.2, saturation: 1.3 }))),
  simple('tone', 'contrast-gamma', 'jpg', (bytes) => jpeg(sharp(bytes).linear(1.25, -25).gamma(1.6))),
  simple('overlay', 'watermark-text', 'jpg', async (bytes) => {
    const { width, height } = await sizeOf(bytes);
    return jpeg(sharp(bytes).composite([{ input: overlaySvg(width, height), top: 0, left: 0 }]));
  }),
  simple('overlay', 'caption-banner', 'jpg', async (bytes) => {
    const { width, height } = await sizeOf(bytes);
    return jpeg(sharp(bytes).composite([{ input: bannerSvg(width, height), top: 0, left: 0 }]));
  }),
];

export interface PlantedSet {
  /** Ground truth: file name → the source photo it came from. */
  sourceOf: Map<string, string>;
  /** Copies only: file name → the transform that made it, and → the file of its original. */
  transformOf: Map<string, string>;
  originalOf: Map<string, string>;
  files: number;
}

/**
 * Writes `sources` photos with every transformed copy of each, plus the `distinct` photos untouched,
 * into `dir`; file names say nothing about their source.
 */
export async function writePlantedSet(dir: string, sources: Array<{ name: string; bytes: Buffer }>, distinct: Array<{ name: string; bytes: Buffer }>): Promise<PlantedSet> {
  await mkdir(dir, { recursive: true });
  const sourceOf = new Map<string, string>();
  const transformOf = new Map<string, string>();
  const originalOf = new Map<string, string>();
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
      transformOf.set(name, transform.name);
      originalOf.set(name, original);
    }
  }
  for (const photo of distinct) {
    const name = fileName('jpg');
    await writeFile(path.join(dir, name), photo.bytes);
    sourceOf.set(name, photo.name);
  }
  return { sourceOf, transformOf, originalOf, files: n };
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
