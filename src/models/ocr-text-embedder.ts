// The embedded image embedder: with no CLIP model configured, an image is represented by the text OCR
// reads in it, embedded as text. Weak for photos, honest about it: its model name says what it is.
import type { ImageEmbedder, OcrEngine, OcrLine, TextEmbedder } from './types.js';

const OCR_MIN_CONFIDENCE = 0.8;
const OCR_MAX_CHARS = 200;

/** Recognized text worth quoting: confident lines, in reading order, capped. */
export function ocrText(lines: OcrLine[]): string {
  const text = lines
    .filter((line) => line.confidence >= OCR_MIN_CONFIDENCE && line.text.replace(/\W/g, '').length >= 2)
    .map((line) => line.text)
    .join(' / ');
  return text.length > OCR_MAX_CHARS ? text.slice(0, OCR_MAX_CHARS).trimEnd() + '…' : text;
}

/** The embedded default: an image is represented by the text OCR reads in it, embedded as text. */
export class OcrTextImageEmbedder implements ImageEmbedder {
  readonly provider: string;
  readonly model: string;
  constructor(
    private readonly ocr: OcrEngine,
    private readonly text: TextEmbedder,
  ) {
    this.provider = 'embedded';
    this.model = `ocr-text(${ocr.model})+${text.model}`;
  }

  get dimensions(): number {
    return this.text.dimensions;
  }

  async embedImages(images: Uint8Array[]): Promise<Float32Array[]> {
    const texts: string[] = [];
    for (const image of images) texts.push(ocrText(await this.ocr.recognize(image)));
    return this.text.embedTexts(texts);
  }

  embedTexts(texts: string[]): Promise<Float32Array[]> {
    return this.text.embedTexts(texts);
  }
}
