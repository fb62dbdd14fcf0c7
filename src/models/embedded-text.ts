// The embedded offline text embedder: Universal Sentence Encoder lite (512 dimensions) on ONNX
// Runtime (use-lite-onnx.ts), on worker threads when the machine has more than one core (a session's
// run is synchronous: threads keep the event loop free and use every core). Loaded on first use, so
// commands that never embed text never pay for it.
import { availableParallelism } from 'node:os';
import { loadUseLiteOnnx, type UseLiteModel } from './use-lite-onnx.js';
import { UseLitePool } from './use-lite-pool.js';
import type { TextEmbedder } from './types.js';
import type { UsageMeter } from './usage.js';

export const EMBEDDED_PROVIDER = 'embedded';

/** Texts per forward pass: small enough that a query's texts spread over every thread, large enough to amortise a pass. */
const BATCH = 16;

/** Threads by default: one per core, up to 4 (each holds its own ~30 MB model). */
export const DEFAULT_EMBEDDING_THREADS = Math.min(4, availableParallelism());

export interface UniversalSentenceEncoderOptions {
  /** 1 embeds in-process; more starts that many worker threads, each with its own model. */
  threads?: number;
}

export class UniversalSentenceEncoder implements TextEmbedder {
  readonly provider = EMBEDDED_PROVIDER;
  readonly model = 'universal-sentence-encoder-lite';
  readonly dimensions = 512;
  private readonly threads: number;
  private inProcess?: Promise<UseLiteModel>;
  private pool?: UseLitePool;
  /** In-process passes run one at a time, on one session. */
  private inProcessQueue: Promise<unknown> = Promise.resolve();

  /** With a meter, each forward pass counts as one request, so stage summaries show the local work too. */
  constructor(
    private readonly meter?: UsageMeter,
    options: UniversalSentenceEncoderOptions = {},
  ) {
    this.threads = options.threads ?? DEFAULT_EMBEDDING_THREADS;
  }

  private embedBatch(texts: string[]): Promise<Float32Array[]> {
    if (this.threads > 1) {
      this.pool ??= new UseLitePool(this.threads);
      return this.pool.embedBatch(texts);
    }
    this.inProcess ??= loadUseLiteOnnx({ threads: 1 });
    const pass = this.inProcessQueue.then(async () => (await this.inProcess!).embedBatch(texts));
    this.inProcessQueue = pass.catch(() => undefined);
    return pass;
  }

  /**
   * Texts are sorted by length before batching, so a batch pads little; the batches run on every
   * thread at once. The batches do not depend on the thread count, so neither do the vectors.
   */
  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const order = texts.map((_, i) => i).sort((a, b) => texts[a]!.length - texts[b]!.length || a - b);
    const batches: number[][] = [];
    for (let i = 0; i < order.length; i += BATCH) batches.push(order.slice(i, i + BATCH));
    const vectors: Float32Array[] = new Array(texts.length);
    await Promise.all(
      batches.map(async (batch) => {
        const embedded = await this.embedBatch(batch.map((i) => texts[i]!));
        this.meter?.record(`${this.provider}:${this.model}`, { requests: 1 });
        batch.forEach((i, j) => (vectors[i] = embedded[j]!));
      }),
    );
    return vectors;
  }

  async dispose(): Promise<void> {
    const pool = this.pool;
    const inProcess = this.inProcess;
    this.pool = undefined;
    this.inProcess = undefined;
    await pool?.close();
    (await inProcess?.catch(() => undefined))?.dispose();
  }
}
