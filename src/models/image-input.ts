// Images for a vision model: decoded, resized to fit 512×512 and sent as a base64 JPEG data URL,
// which every OpenAI-compatible server accepts and keeps requests small.
import sharp from 'sharp';
import { ModelRequestError } from './errors.js';

export const VISION_IMAGE_SIDE = 512;

export async function imageDataUrl(bytes: Uint8Array, side = VISION_IMAGE_SIDE): Promise<string> {
  try {
    const jpeg = await sharp(bytes, { animated: false, limitInputPixels: 100_000_000 })
      .rotate()
      .resize(side, side, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 85 })
      .toBuffer();
    return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
  } catch (error) {
    throw new ModelRequestError('invalid-input', `image cannot be decoded (${(error as Error).message})`);
  }
}
