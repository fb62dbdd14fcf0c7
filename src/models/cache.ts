// The store-backed model response cache: a response is kept under the sha256 of everything that
// went into its request, so re-running a stage with the same inputs costs no model call. The cache
// is only an optimisation: an entry that cannot be read is dropped with a warning and the request
// is made again, and an entry that cannot be written is skipped; neither stops a stage.
import { createHash } from 'node:crypto';
import { log } from '../core/feedback.js';
import type { CorpusStore } from '../../storage/index.js';

/** sha256 hex of a JSON-serializable value (key order as given; callers build requests deterministically). */
export function hashOf(value: unknown): string {
  return createHash('sha256').update(typeof value === 'string' ? value : JSON.stringify(value)).digest('hex');
}

export class ModelCache {
  constructor(private readonly store: CorpusStore) {}

  async get<T>(inputHash: string): Promise<T | undefined> {
    try {
      const entry = await this.store.get('modelCache', inputHash);
      return entry?.response as T | undefined;
    } catch (error) {
      await this.drop(inputHash, error);
      return undefined;
    }
  }

  async put(inputHash: string, provider: string, model: string, response: unknown): Promise<void> {
    try {
      await this.store.put('modelCache', { inputHash, provider, model, response, at: new Date().toISOString() });
    } catch (error) {
      log.warn({ err: (error as Error).message, inputHash }, 'model cache: could not keep a response; the stage goes on without it');
    }
  }

  /** Deletes an unreadable entry (a newer delete hides a damaged older one), so the next read is a plain miss. */
  private async drop(inputHash: string, error: unknown): Promise<void> {
    const deleted = await this.store
      .batch()
      .del('modelCache', inputHash)
      .write()
      .then(() => true, () => false);
    log.warn(
      { err: (error as Error).message, inputHash, deleted },
      'model cache: a damaged entry was dropped and the request is made again (`m2rag doctor --repair` clears every damaged entry)',
    );
  }
}
