// The body of a text-embedding thread (see use-lite-pool.ts): a batch of texts in, their vectors
// out. The model loads once per thread, on its first batch.
import { loadUseLiteOnnx, type UseLiteModel } from './use-lite-onnx.js';

let model: Promise<UseLiteModel> | undefined;

export default async function embedBatch(texts: string[]): Promise<Float32Array[]> {
  // One ONNX Runtime thread per session: the pool's threads are the parallelism, and a batch gives the same bits on any of them.
  model ??= loadUseLiteOnnx({ threads: 1 });
  return (await model).embedBatch(texts);
}
