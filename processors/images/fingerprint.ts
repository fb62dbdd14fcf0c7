// A small picture of each image kept for near-duplicate finding: 48×48 greyscale plus 12×12 colour
// of the upright image on white (stretched to a square), and its true aspect ratio. Windows of it
// (sub-rectangles, possibly rotated or mirrored) are resampled and hashed by window.ts; the colour
// part lets verification keep apart images that differ only in colour (flags, icons, logos).
import sharp from 'sharp';

export const GREY_SIDE = 48;
export const COLOUR_SIDE = 12;
const COLOUR_BLOCK = GREY_SIDE / COLOUR_SIDE;
const WHITE = { r: 255, g: 255, b: 255 };

export interface Fingerprint {
  /** Width over height of the upright image: rotations are done in true proportions. */
  aspect: number;
  /** GREY_SIDE² luminance values, rows top to bottom. */
  grey: Uint8Array;
  /** COLOUR_SIDE² RGB triplets. */
  colour: Uint8Array;
}

/** Fingerprint of already decoded RGB pixels (GREY_SIDE × GREY_SIDE, 3 channels). */
export function fingerprintOfPixels(rgb: Uint8Array, aspect: number): Fingerprint {
  const grey = new Uint8Array(GREY_SIDE * GREY_SIDE);
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round(0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!);
  const colour = new Uint8Array(COLOUR_SIDE * COLOUR_SIDE * 3);
  for (let cy = 0; cy < COLOUR_SIDE; cy++) {
    for (let cx = 0; cx < COLOUR_SIDE; cx++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let y = 0; y < COLOUR_BLOCK; y++) {
          for (let x = 0; x < COLOUR_BLOCK; x++) sum += rgb[3 * ((cy * COLOUR_BLOCK + y) * GREY_SIDE + cx * COLOUR_BLOCK + x) + c]!;
        }
        colour[3 * (cy * COLOUR_SIDE + cx) + c] = Math.round(sum / (COLOUR_BLOCK * COLOUR_BLOCK));
      }
    }
  }
  return { aspect, grey, colour };
}

/** Side the image is first shrunk to (shrink-on-load) before its border is trimmed. */
const TRIM_SOURCE_SIDE = 96;
/** How far (0-255) a pixel may differ from the corner colour and still belong to a border. */
const TRIM_THRESHOLD = 12;

interface Raw {
  data: Buffer;
  info: { width: number; height: number; channels: number };
}

/** Largest spread (0-255) between a border colour's channels: padding is white, black or grey. */
const MAX_BORDER_CHROMA = 24;

/** Cuts a uniform border (padding, letterbox bars); the whole picture when there is none or all is border. */
async function trimmed(raw: Raw): Promise<Raw> {
  // A border runs round the whole picture: corners of different colours (a flag's stripes) are content.
  const { width, height, channels } = raw.info;
  const corners = [0, width - 1, (height - 1) * width, height * width - 1].map((p) => p * channels);
  for (const corner of corners) {
    for (let c = 0; c < Math.min(3, channels); c++) if (Math.abs(raw.data[corner + c]! - raw.data[c]!) > TRIM_THRESHOLD) return raw;
  }
  // A coloured frame is content (Austria's red stripes): cutting it would leave only the white band,
  // and a recoloured flag would leave the same band. Padding added to a copy is neutral.
  const corner = Array.from(raw.data.subarray(0, Math.min(3, channels)));
  if (Math.max(...corner) - Math.min(...corner) > MAX_BORDER_CHROMA) return raw;
  const input = { raw: { width: raw.info.width, height: raw.info.height, channels: raw.info.channels as 3 } };
  try {
    const cut = await sharp(raw.data, input).trim({ threshold: TRIM_THRESHOLD }).raw().toBuffer({ resolveWithObject: true });
    // A sliver left over is noise in a flat picture, not its content.
    if (cut.info.width < 4 || cut.info.height < 4) return raw;
    return cut;
  } catch {
    return raw;
  }
}

/**
 * Decodes bytes (limited to `pixelLimit` pixels) into a fingerprint of the upright picture without
 * its uniform border, so a padded copy fingerprints like its original; throws on undecodable input.
 */
export async function fingerprintOf(bytes: Uint8Array, pixelLimit: number): Promise<Fingerprint> {
  const decoded = await sharp(bytes, { limitInputPixels: pixelLimit, pages: 1, failOn: 'truncated' })
    .rotate()
    .flatten({ background: WHITE })
    .toColourspace('srgb')
    .removeAlpha()
    .resize(TRIM_SOURCE_SIDE, TRIM_SOURCE_SIDE, { fit: 'inside', withoutEnlargement: true, fastShrinkOnLoad: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const picture = await trimmed(decoded);
  const { data, info } = await sharp(picture.data, { raw: { width: picture.info.width, height: picture.info.height, channels: picture.info.channels as 3 } })
    .resize(GREY_SIDE, GREY_SIDE, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  let rgb: Uint8Array = data;
  if (info.channels !== 3) {
    rgb = new Uint8Array(GREY_SIDE * GREY_SIDE * 3);
    for (let i = 0; i < GREY_SIDE * GREY_SIDE; i++) {
      for (let c = 0; c < 3; c++) rgb[3 * i + c] = data[i * info.channels + (info.channels >= 3 ? c : 0)]!;
    }
  }
  return fingerprintOfPixels(rgb, picture.info.width / picture.info.height);
}

/** `<aspect>:<base64 of grey then colour>`, the form stored on an Image record. */
export function encodeFingerprint(fingerprint: Fingerprint): string {
  return `${fingerprint.aspect.toFixed(4)}:${Buffer.concat([fingerprint.grey, fingerprint.colour]).toString('base64')}`;
}

export function decodeFingerprint(text: string): Fingerprint {
  const [aspect, payload] = text.split(':');
  const bytes = Buffer.from(payload ?? '', 'base64');
  const greyLength = GREY_SIDE * GREY_SIDE;
  if (bytes.length !== greyLength + COLOUR_SIDE * COLOUR_SIDE * 3 || !(Number(aspect) > 0)) throw new Error('not an image fingerprint');
  return { aspect: Number(aspect), grey: new Uint8Array(bytes.subarray(0, greyLength)), colour: new Uint8Array(bytes.subarray(greyLength)) };
}

/** A stored fingerprint, or undefined when the text is not one (a damaged record is left unclustered). */
export function fingerprintFrom(text: string | undefined): Fingerprint | undefined {
  if (text === undefined) return undefined;
  try {
    return decodeFingerprint(text);
  } catch {
    return undefined;
  }
}
