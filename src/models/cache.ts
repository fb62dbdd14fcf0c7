// The store-backed model response cache: a response is kept under the sha256 of everything that
// went into its request, so re-running a stage with the same inputs costs no model call.
import { createHash } from 'node:crypto';
import type { CorpusStore } from '../../storage/index.js';

/** sha256 hex of a JSON-serializable value (key order as given; callers build requests deterministically). */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(typeof value === 'string' ? value : JSON.stringify(value)).digest('hex');
}

export class ModelCache {
  constructor(private readonly store: CorpusStore) {}

  async get<T>(inputHash: string): Promise<T | undefined> {
    const entry = await this.store.get('modelCache', inputHash);
    return entry?.response as T | undefined;
  }

  async put(inputHash: string, provider: string, model: string, response: unknown): Promise<void> {
    await this.store.put('modelCache', { inputHash, provider, model, response, at: new Date().toISOString() });
  }
}
