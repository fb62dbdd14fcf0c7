// LevelDB lets one process hold a database, so a viewer that kept the store open would stop every
// build. The viewer instead opens the store for the requests in flight and closes it once it has
// been idle for a moment; a build started meanwhile gets the store, and the viewer then answers
// "in use by a build" until it is free again. Blobs are plain files and are read without the lock.
import path from 'node:path';
import { CorpusStore, StoreOpenError } from '../../storage/index.js';
import { BlobStore } from '../../storage/blobs.js';

/** The store cannot be read now (another process holds it, or it cannot be opened): pages answer 503 with this line. */
export class StoreBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreBusyError';
  }
}

function isLocked(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string } };
  return e?.code === 'LEVEL_LOCKED' || e?.cause?.code === 'LEVEL_LOCKED';
}

export class StoreLease {
  readonly blobs: BlobStore;
  private store?: Promise<CorpusStore>;
  private users = 0;
  private idleTimer?: NodeJS.Timeout;
  private closing?: Promise<void>;

  constructor(
    readonly dir: string,
    private readonly idleMs = 1500,
  ) {
    this.blobs = new BlobStore(path.join(dir, 'blobs'));
  }

  /** Runs `work` with the store open; throws StoreBusyError when another process holds it. */
  async use<T>(work: (store: CorpusStore) => Promise<T>): Promise<T> {
    clearTimeout(this.idleTimer);
    this.users++;
    try {
      await this.closing;
      this.store ??= CorpusStore.open(this.dir, { mustExist: true }).catch((error: unknown) => {
        this.store = undefined;
        if (isLocked(error)) throw new StoreBusyError(`the store ${this.dir} is open in another process (a running build?); LevelDB allows one process at a time, so the viewer reads it again once that process has finished`);
        throw error instanceof StoreOpenError ? new StoreBusyError(error.message) : error;
      });
      return await work(await this.store);
    } finally {
      if (--this.users === 0) this.idleTimer = setTimeout(() => void this.closeNow(), this.idleMs);
    }
  }

  private async closeNow(): Promise<void> {
    if (this.users > 0 || !this.store) return;
    const opened = this.store;
    this.store = undefined;
    this.closing = opened.then((store) => store.close()).catch(() => undefined);
    await this.closing;
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    await this.closeNow();
  }
}
