// The embedded offline text embedder: Universal Sentence Encoder lite (512 dimensions) on ONNX
// Runtime (use-lite-onnx.ts), in-process, its passes on every core (ONNX Runtime's own threads). Loaded on first use, so
// commands that never embed text never pay for it.
import { availableParallelism } from 'node:os';
import { loadUseLiteOnnx, type UseLiteModel } from './use-lite-onnx.js';
import type { TextEmbedder } from './types.js';
import type { UsageMeter } from './usage.js';

export const EMBEDDED_PROVIDER = 'embedded';

/** Texts per forward pass: larger batches cost more per text (attention over padded rows). */
const BATCH = 16;

/** ONNX Runtime threads by default: one per core, up to 4. */
export const DEFAULT_EMBEDDING_THREADS = Math.min(4, availableParallelism());

export interface UniversalSentenceEncoderOptions {
  /** ONNX Runtime's threads for each pass. */
  threads?: number;
}

export class UniversalSentenceEncoder implements TextEmbedder {
  readonly provider = EMBEDDED_PROVIDER;
  readonly model = 'universal-sentence-encoder-lite';
  readonly dimensions = 512;
  private readonly threads: number;
  private loaded?: Promise<UseLiteModel>;
  /** Passes run one at a time: a session's run is synchronous, and its threads are already every core. */
  private passes: Promise<unknown> = Promise.resolve();

  /** With a meter, each forward pass counts as one request, so stage summaries show the local work too. */
  constructor(
    private readonly meter?: UsageMeter,
    options: UniversalSentenceEncoderOptions = {},
  ) {
    this.threads = options.threads ?? DEFAULT_EMBEDDING_THREADS;
  }

  private embedBatch(texts: string[]): Promise<Float32Array[]> {
    this.loaded ??= loadUseLiteOnnx({ threads: this.threads });
    const pass = this.passes.then(async () => (await this.loaded!).embedBatch(texts));
    this.passes = pass.catch(() => undefined);
    return pass;
  }

  /**
   * Texts are sorted by length before batching, so a batch pads little. The batches do not depend on
   * the thread count, and ONNX Runtime splits a pass's work by output, so neither do the vectors.
   */
  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length || a - b);
    const vectors: Float32Array[] = new Array(texts.length);
    for (let i = 0; i < order.length; i += BATCH) {
      const batch = order.slice(i, i + BATCH);
      const embedded = await this.embedBatch(batch.map((j) => texts[j]!));
      this.meter?.record(`${this.provider}:${this.model}`, { requests: 1 });
      batch.forEach((j, k) => (vectors[j] = embedded[k]!));
    }
    return vectors;
  }

  async dispose(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = undefined;
    (await loaded?.catch(() => undefined))?.dispose();
  }
}
