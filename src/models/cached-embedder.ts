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
    const hits = await Promise.all(hashes.map((hash) => this.cache.get<number[]>(hash)));
    /** Each text missing from the cache is embedded once, however often it occurs in `texts`. */
    const missing = new Map<string, number[]>();
    for (const [i, hit] of hits.entries()) {
      if (hit) vectors[i] = Float32Array.from(hit);
      else missing.set(texts[i]!, [...(missing.get(texts[i]!) ?? []), i]);
    }
    this.meter.record(this.usageKey, { cached: texts.length - [...missing.values()].reduce((n, at) => n + at.length, 0) });
    if (missing.size > 0) {
      const fresh = await this.inner.embedTexts([...missing.keys()]);
      await Promise.all(
        [...missing.values()].map((at, j) => {
          for (const i of at) vectors[i] = fresh[j]!;
          return this.cache.put(hashes[at[0]!]!, this.provider, this.model, Array.from(fresh[j]!));
        }),
      );
    }
    return vectors as Float32Array[];
  }
}
