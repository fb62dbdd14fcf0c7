// Safe decoding and normalization of untrusted image bytes with sharp (libvips): the header is read
// first and images whose pixel count exceeds the limit are refused before any pixel is decoded
// (decompression bombs); EXIF orientation is applied; animated images give their first frame; CMYK
// and other colour spaces become sRGB; SVG is rasterized by libvips' own librsvg, which runs no
// script and loads no external reference for in-memory input.
import sharp, { type Metadata, type Sharp } from 'sharp';
import { HASH_SOURCE_SIDE, imageHashesOf, type ImageHashes } from './hash.js';

export interface DecodeOptions {
  /** Largest width × height decoded; bigger images are refused as decompression bombs. */
  pixelLimit: number;
  /** Longest side of the thumbnail; 0 makes no thumbnail (hashing only). */
  thumbnailSide: number;
  thumbnailFormat: 'jpeg' | 'webp';
  thumbnailQuality: number;
}

export interface DecodedImage extends ImageHashes {
  ok: true;
  /** Size as displayed, after EXIF orientation. */
  width: number;
  height: number;
  format: string;
  /** Frames of an animated image (only the first is used). */
  frames?: number;
  /** The colour space of the original when it was not sRGB (it is converted for the thumbnail). */
  colorSpace?: string;
  /**
   * The normalized thumbnail; `original` when the original bytes already are one (an sRGB
   * JPEG no larger than the thumbnail side, upright), so the same blob serves both.
   */
  thumbnail?: Buffer | 'original';
}

export interface DecodeFailure {
  ok: false;
  /** `<kind>: <detail>`, kind one of unsupported-format, pixel-limit, truncated, corrupt. */
  reason: string;
}

export type DecodeResult = DecodedImage | DecodeFailure;

const TRANSPOSING_ORIENTATIONS = new Set([5, 6, 7, 8]);
const WHITE = { r: 255, g: 255, b: 255 };

function failureOf(error: unknown): DecodeFailure {
  const message = (error as Error).message ?? String(error);
  const detail = message.split('\n')[0]!.trim();
  if (/unsupported image format/i.test(message)) return { ok: false, reason: `unsupported-format: ${detail}` };
  if (/pixel limit/i.test(message)) return { ok: false, reason: `pixel-limit: ${detail}` };
  if (/premature end|truncated|unexpected end|end of (file|input|stream)|not enough data/i.test(message)) {
    return { ok: false, reason: `truncated: ${detail}` };
  }
  return { ok: false, reason: `corrupt: ${detail}` };
}

function formatOf(meta: Metadata): string {
  if (meta.format === 'heif') return meta.compression === 'av1' ? 'avif' : 'heif';
  return meta.format ?? 'unknown';
}

function canServeAsThumbnail(meta: Metadata, options: DecodeOptions): boolean {
  return (
    options.thumbnailFormat === 'jpeg' &&
    meta.format === 'jpeg' &&
    Math.max(meta.width ?? Infinity, meta.height ?? Infinity) <= options.thumbnailSide &&
    (meta.orientation === undefined || meta.orientation === 1) &&
    (meta.space === 'srgb' || meta.space === 'b-w') &&
    !meta.hasProfile
  );
}

function decoder(bytes: Uint8Array, options: DecodeOptions): Sharp {
  // failOn 'truncated': tolerate the harmless warnings many web JPEGs carry, refuse cut-off files.
  return sharp(bytes, { limitInputPixels: options.pixelLimit, pages: 1, failOn: 'truncated' });
}

/** 64×64 greyscale pixels of the upright image on white, decoded with shrink-on-load. */
async function hashPixels(bytes: Uint8Array, options: DecodeOptions): Promise<Uint8Array> {
  const { data, info } = await decoder(bytes, options)
    .rotate()
    .flatten({ background: WHITE })
    .greyscale()
    .resize(HASH_SOURCE_SIDE, HASH_SOURCE_SIDE, { fit: 'fill', fastShrinkOnLoad: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels === 1) return data;
  // Some inputs keep extra bands after greyscale conversion; the first band is the luminance.
  const grey = new Uint8Array(HASH_SOURCE_SIDE * HASH_SOURCE_SIDE);
  for (let i = 0; i < grey.length; i++) grey[i] = data[i * info.channels]!;
  return grey;
}

async function makeThumbnail(bytes: Uint8Array, options: DecodeOptions): Promise<Buffer> {
  const side = options.thumbnailSide;
  const pipeline = decoder(bytes, options)
    .rotate()
    .resize({ width: side, height: side, fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb');
  if (options.thumbnailFormat === 'webp') return pipeline.webp({ quality: options.thumbnailQuality }).toBuffer();
  return pipeline.flatten({ background: WHITE }).jpeg({ quality: options.thumbnailQuality }).toBuffer();
}

/** Decodes, measures, hashes and (optionally) thumbnails one image; never throws on bad bytes. */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<DecodeResult> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    return failureOf(error);
  }
  if (!meta.width || !meta.height) return { ok: false, reason: `corrupt: ${meta.format ?? 'image'} header has no size` };
  const pixels = meta.width * meta.height;
  if (pixels > options.pixelLimit) {
    return {
      ok: false,
      reason: `pixel-limit: ${meta.width}×${meta.height} = ${pixels} pixels exceeds the decode limit of ${options.pixelLimit} (decompression bomb?)`,
    };
  }
  const transposed = meta.orientation !== undefined && TRANSPOSING_ORIENTATIONS.has(meta.orientation);
  try {
    const grey = await hashPixels(bytes, options);
    let thumbnail: DecodedImage['thumbnail'];
    if (options.thumbnailSide > 0) {
      thumbnail = canServeAsThumbnail(meta, options) ? 'original' : await makeThumbnail(bytes, options);
    }
    return {
      ok: true,
      width: transposed ? meta.height : meta.width,
      height: transposed ? meta.width : meta.height,
      format: formatOf(meta),
      ...(meta.pages !== undefined && meta.pages > 1 ? { frames: meta.pages } : {}),
      ...(meta.space && meta.space !== 'srgb' ? { colorSpace: meta.space } : {}),
      ...imageHashesOf(grey),
      thumbnail,
    };
  } catch (error) {
    return failureOf(error);
  }
}
