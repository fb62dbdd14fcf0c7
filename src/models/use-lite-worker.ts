// The body of a text-embedding thread (see use-lite-pool.ts): a batch of texts in, their vectors
// out. The model loads once per thread, on its first batch.
import { loadUseLite } from './use-lite.js';

let model: ReturnType<typeof loadUseLite> | undefined;

export default async function embedBatch(texts: string[]): Promise<Float32Array[]> {
  model ??= loadUseLite();
  return (await model).embedBatch(texts);
}
