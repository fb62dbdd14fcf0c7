// The local ONNX provider for CLIP-family dual encoders (CLIP ViT-B/32, SigLIP, MobileCLIP exports):
// a model directory holds a vision graph (`pixel_values` → `image_embeds`), a text graph
// (`input_ids` + `attention_mask` → `text_embeds`), `tokenizer.json` (+ `tokenizer_config.json`)
// and `preprocessor_config.json`. Images are resized, center-cropped and normalized with sharp as
// the preprocessor config says; texts are tokenized by @huggingface/tokenizers; both run batched.
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import sharp, { type KernelEnum } from 'sharp';
import { UserError } from '../core/errors.js';
import { ModelRequestError } from './errors.js';
import { openSession, ort } from './onnx-session.js';
import { l2Normalize } from './openai.js';
import type { ImageEmbedder } from './types.js';

export const ONNX_PROVIDER = 'onnx';

const VISION_GRAPHS = ['vision_model.onnx', 'onnx/vision_model.onnx'];
const TEXT_GRAPHS = ['text_model.onnx', 'onnx/text_model.onnx'];

/** The subset of Hugging Face's image processor config that CLIP-family models use. */
export interface ImagePreprocessing {
  /** Resize target: shortest edge (aspect kept) or exact height × width. */
  resize: { shortestEdge: number } | { height: number; width: number } | undefined;
  crop: { height: number; width: number } | undefined;
  rescale: number;
  mean: [number, number, number];
  std: [number, number, number];
  kernel: keyof KernelEnum;
}

type SizeSpec = number | { shortest_edge?: number; height?: number; width?: number } | undefined;

const KERNELS: Record<number, keyof KernelEnum> = { 0: 'nearest', 2: 'linear', 3: 'cubic' };

function triple(value: unknown, fallback: [number, number, number]): [number, number, number] {
  if (typeof value === 'number') return [value, value, value];
  if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'number')) return value as [number, number, number];
  return fallback;
}

/** Reads `preprocessor_config.json` (defaults are CLIP's: shortest edge 224, center crop 224, OpenAI mean/std). */
export function preprocessingFrom(config: Record<string, unknown>): ImagePreprocessing {
  const size = (config.size ?? 224) as SizeSpec;
  const cropSize = (config.crop_size ?? size) as SizeSpec;
  let resize: ImagePreprocessing['resize'];
  if (config.do_resize !== false) {
    if (typeof size === 'number') resize = { shortestEdge: size };
    else if (size?.shortest_edge) resize = { shortestEdge: size.shortest_edge };
    else if (size?.height && size.width) resize = { height: size.height, width: size.width };
  }
  let crop: ImagePreprocessing['crop'];
  if (config.do_center_crop !== false && cropSize !== undefined) {
    const side = typeof cropSize === 'number' ? { height: cropSize, width: cropSize } : cropSize;
    if (side.height && side.width) crop = { height: side.height, width: side.width };
    else if (side.shortest_edge) crop = { height: side.shortest_edge, width: side.shortest_edge };
  }
  const normalize = config.do_normalize !== false;
  return {
    resize,
    crop,
    rescale: config.do_rescale === false ? 1 : typeof config.rescale_factor === 'number' ? config.rescale_factor : 1 / 255,
    mean: normalize ? triple(config.image_mean, [0.48145466, 0.4578275, 0.40821073]) : [0, 0, 0],
    std: normalize ? triple(config.image_std, [0.26862954, 0.26130258, 0.27577711]) : [1, 1, 1],
    kernel: KERNELS[Number(config.resample)] ?? 'lanczos3',
  };
}

/** One image → CHW float32 pixels as the model expects them. */
export async function preprocessImage(bytes: Uint8Array, p: ImagePreprocessing): Promise<{ pixels: Float32Array; height: number; width: number }> {
  let pipeline = sharp(bytes, { limitInputPixels: 100_000_000, animated: false }).rotate().flatten({ background: '#ffffff' }).toColourspace('srgb');
  const meta = await sharp(bytes, { animated: false }).metadata();
  const orientedSwap = (meta.orientation ?? 1) >= 5;
  const srcWidth = (orientedSwap ? meta.height : meta.width) ?? 1;
  const srcHeight = (orientedSwap ? meta.width : meta.height) ?? 1;
  let width = srcWidth;
  let height = srcHeight;
  if (p.resize && 'shortestEdge' in p.resize) {
    const scale = p.resize.shortestEdge / Math.min(srcWidth, srcHeight);
    width = Math.max(1, Math.round(srcWidth * scale));
    height = Math.max(1, Math.round(srcHeight * scale));
  } else if (p.resize) {
    width = p.resize.width;
    height = p.resize.height;
  }
  pipeline = pipeline.resize(width, height, { fit: 'fill', kernel: p.kernel });
  if (p.crop) {
    // Center crop; pad with black when the image is smaller than the crop (as Hugging Face does).
    const raw = await pipeline.removeAlpha().raw().toBuffer();
    const cropped = sharp(raw, { raw: { width, height, channels: 3 } });
    const padX = Math.max(0, p.crop.width - width);
    const padY = Math.max(0, p.crop.height - height);
    const extended = padX || padY
      ? sharp(await cropped.extend({ left: padX >> 1, right: padX - (padX >> 1), top: padY >> 1, bottom: padY - (padY >> 1), background: '#000000' }).raw().toBuffer(), {
          raw: { width: width + padX, height: height + padY, channels: 3 },
        })
      : cropped;
    const left = Math.max(0, Math.floor((width + padX - p.crop.width) / 2));
    const top = Math.max(0, Math.floor((height + padY - p.crop.height) / 2));
    pipeline = extended.extract({ left, top, width: p.crop.width, height: p.crop.height });
    width = p.crop.width;
    height = p.crop.height;
  }
  const rgb = await pipeline.removeAlpha().raw().toBuffer();
  const plane = width * height;
  const pixels = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) pixels[c * plane + i] = (rgb[i * 3 + c]! * p.rescale - p.mean[c]!) / p.std[c]!;
  }
  return { pixels, height, width };
}

async function firstExisting(dir: string, candidates: string[]): Promise<string | undefined> {
  for (const candidate of candidates) {
    const file = path.join(dir, candidate);
    try {
      await access(file);
      return file;
    } catch {
      // try the next layout
    }
  }
  return undefined;
}

async function readJson(file: string, required: boolean): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UserError(`${file}: cannot read (${(error as Error).message.split('\n')[0]})`);
  }
}

function outputName(session: ort.InferenceSession, preferred: string): string {
  return session.outputNames.includes(preferred) ? preferred : session.outputNames[0]!;
}

export interface OnnxClipOptions {
  threads: number;
  batchSize: number;
}

export class OnnxClipEncoder implements ImageEmbedder {
  readonly provider = ONNX_PROVIDER;
  dimensions = 0;

  private constructor(
    readonly model: string,
    private readonly vision: ort.InferenceSession,
    private readonly text: ort.InferenceSession,
    private readonly tokenizer: Tokenizer,
    private readonly preprocessing: ImagePreprocessing,
    private readonly textLength: { max: number; fixed: boolean; padId: number },
    private readonly batchSize: number,
  ) {}

  /** Opens a model directory; a missing file is the user's mistake and says which file. */
  static async open(dir: string, options: OnnxClipOptions): Promise<OnnxClipEncoder> {
    const visionFile = await firstExisting(dir, VISION_GRAPHS);
    const textFile = await firstExisting(dir, TEXT_GRAPHS);
    if (!visionFile || !textFile) {
      throw new UserError(`${dir}: not a CLIP-family ONNX export (needs ${VISION_GRAPHS.join(' or ')} and ${TEXT_GRAPHS.join(' or ')}; try \`m2rag models pull\`)`);
    }
    const [tokenizerJson, tokenizerConfig, preprocessorConfig, modelConfig] = await Promise.all([
      readJson(path.join(dir, 'tokenizer.json'), true),
      readJson(path.join(dir, 'tokenizer_config.json'), false),
      readJson(path.join(dir, 'preprocessor_config.json'), false),
      readJson(path.join(dir, 'config.json'), false),
    ]);
    const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    const padding = tokenizerJson.padding as { pad_id?: number; strategy?: { Fixed?: number } } | null | undefined;
    const configuredMax = Number(tokenizerConfig.model_max_length);
    const fixedLength = padding?.strategy?.Fixed;
    const max = fixedLength ?? (Number.isFinite(configuredMax) && configuredMax > 0 && configuredMax < 100_000 ? configuredMax : 77);
    const padToken = typeof tokenizerConfig.pad_token === 'string' ? tokenizerConfig.pad_token : undefined;
    const padId = padding?.pad_id ?? (padToken ? tokenizer.token_to_id(padToken) : undefined) ?? 0;
    // SigLIP was trained on texts padded to the full length; CLIP pools at the end token, so longest is enough.
    const fixed = fixedLength !== undefined || String(modelConfig.model_type ?? '').includes('siglip');
    const [vision, text] = await Promise.all([openSession(visionFile, options.threads), openSession(textFile, options.threads)]);
    return new OnnxClipEncoder(path.basename(path.resolve(dir)), vision, text, tokenizer, preprocessingFrom(preprocessorConfig), { max, fixed, padId }, options.batchSize);
  }

  async embedImages(images: Uint8Array[]): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    for (let start = 0; start < images.length; start += this.batchSize) {
      const batch = images.slice(start, start + this.batchSize);
      const prepared = await Promise.all(
        batch.map(async (bytes, i) => {
          try {
            return await preprocessImage(bytes, this.preprocessing);
          } catch (error) {
            throw new ModelRequestError('invalid-input', `image ${start + i} cannot be decoded (${(error as Error).message})`);
          }
        }),
      );
      const { height, width } = prepared[0]!;
      const input = new Float32Array(prepared.length * 3 * height * width);
      prepared.forEach((image, i) => input.set(image.pixels, i * image.pixels.length));
      const inputName = this.vision.inputNames.includes('pixel_values') ? 'pixel_values' : this.vision.inputNames[0]!;
      const output = await this.vision.run({ [inputName]: new ort.Tensor('float32', input, [prepared.length, 3, height, width]) });
      vectors.push(...this.rows(output[outputName(this.vision, 'image_embeds')]!));
    }
    return vectors;
  }

  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      const encoded = texts.slice(start, start + this.batchSize).map((text) => this.tokenizer.encode(text));
      const length = this.textLength.fixed ? this.textLength.max : Math.min(this.textLength.max, Math.max(1, ...encoded.map((e) => e.ids.length)));
      const ids = new BigInt64Array(encoded.length * length).fill(BigInt(this.textLength.padId));
      const mask = new BigInt64Array(encoded.length * length);
      encoded.forEach((e, row) => {
        const kept: number[] = e.ids.slice(0, length);
        // A truncated text keeps its end token, which CLIP pools at.
        if (e.ids.length > length) kept[length - 1] = e.ids[e.ids.length - 1]!;
        kept.forEach((id: number, col: number) => {
          ids[row * length + col] = BigInt(id);
          mask[row * length + col] = 1n;
        });
      });
      const feeds: Record<string, ort.Tensor> = {};
      const dims = [encoded.length, length];
      for (const name of this.text.inputNames) {
        const values = name === 'attention_mask' ? mask : ids;
        const type = (this.text.inputMetadata.find((m) => m.name === name) as { type?: string } | undefined)?.type;
        feeds[name] = type === 'int32' ? new ort.Tensor('int32', Int32Array.from(values, Number), dims) : new ort.Tensor('int64', values, dims);
      }
      const output = await this.text.run(feeds);
      vectors.push(...this.rows(output[outputName(this.text, 'text_embeds')]!));
    }
    return vectors;
  }

  private rows(tensor: ort.Tensor): Float32Array[] {
    if (tensor.dims.length !== 2) throw new ModelRequestError('malformed', `expected [batch, dim] embeddings, the graph gave shape [${tensor.dims.join(', ')}]`);
    const [count, dim] = tensor.dims as [number, number];
    this.dimensions = dim;
    const data = tensor.data as Float32Array;
    return Array.from({ length: count }, (_, i) => l2Normalize(data.slice(i * dim, (i + 1) * dim)));
  }

  async dispose(): Promise<void> {
    await Promise.all([this.vision.release(), this.text.release()]);
  }
}
