// Caches any text embedder's vectors in the store, one entry per text, so re-running a stage or a
// `run` over the same chunks and descriptions embeds only what is new.
import { hashOf, type ModelCache } from './cache.js';
import type { TextEmbedder } from './types.js';
import type { UsageMeter } from './usage.js';

export class CachedTextEmbedder implements TextEmbedder {
  readonly provider: string;
  readonly model: string;
  private readonly usageKey: string;

  /** `identity` tells apart two embedders with the same provider and model name (e.g. the endpoint URL). */
  constructor(
    private readonly inner: TextEmbedder,
    private readonly cache: ModelCache,
    private readonly meter: UsageMeter,
    private readonly identity = '',
  ) {
    this.provider = inner.provider;
    this.model = inner.model;
    this.usageKey = `${inner.provider}:${inner.model}`;
  }

  get dimensions(): number {
    return this.inner.dimensions;
  }

  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    const vectors: Array<Float32Array | undefined> = new Array(texts.length);
    const hashes = texts.map((text) => hashOf({ provider: this.provider, model: this.model, identity: this.identity, kind: 'text-embedding', text }));
    const missing: number[] = [];
    for (const [i, hash] of hashes.entries()) {
      const hit = await this.cache.get<number[]>(hash);
      if (hit) vectors[i] = Float32Array.from(hit);
      else missing.push(i);
    }
    this.meter.record(this.usageKey, { cached: texts.length - missing.length });
    if (missing.length > 0) {
      const fresh = await this.inner.embedTexts(missing.map((i) => texts[i]!));
      for (const [j, i] of missing.entries()) {
        vectors[i] = fresh[j]!;
        await this.cache.put(hashes[i]!, this.provider, this.model, Array.from(fresh[j]!));
      }
    }
    return vectors as Float32Array[];
  }
}
