// LevelDB lets one process hold a database, so a viewer that kept the store to itself would stop
// every build. The viewer opens the store for the requests in flight and closes it once it has been
// idle for a moment. A build that starts while the viewer holds it goes through the viewer
// (storage/shared-store.ts), and then the viewer keeps the store open, even idle, until every such
// guest has gone; a viewer that opened the store as a build's guest opens it again when the build
// ends. Blobs are plain files and are read without the store.
import path from 'node:path';
import { CorpusStore, guestsOf, StoreOpenError } from '../../storage/index.js';
import { BlobStore } from '../../storage/blobs.js';

/** The store cannot be read now (another process holds it without sharing it, or it cannot be opened): pages answer 503 with this line. */
export class StoreBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreBusyError';
  }
}

/** What a read gets when the process this viewer read the store through closed it or went away (an open iterator is closed with the store). */
const HOLDER_LEFT = new Set(['LEVEL_CONNECTION_LOST', 'LEVEL_DATABASE_NOT_OPEN', 'LEVEL_ITERATOR_NOT_OPEN']);

/** The holder left: open the store again and read once more. */
function holderLeft(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string } };
  return [e?.code, e?.cause?.code].some((code) => code !== undefined && HOLDER_LEFT.has(code));
}

const GUEST_POLL_MS = 200;

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

  /** Runs `work` with the store open (once more on a fresh one if the holder it went through left); throws StoreBusyError when it cannot be opened. */
  async use<T>(work: (store: CorpusStore) => Promise<T>): Promise<T> {
    clearTimeout(this.idleTimer);
    this.users++;
    try {
      try {
        return await work(await this.open());
      } catch (error) {
        if (!holderLeft(error)) throw error;
        this.forget();
        return await work(await this.open());
      }
    } finally {
      if (--this.users === 0) this.idleTimer = setTimeout(() => void this.closeNow(), this.idleMs);
    }
  }

  /** Processes (a build, `stats`) that read or write the store through this viewer now. */
  guests(): number {
    return guestsOf(this.dir);
  }

  private async open(): Promise<CorpusStore> {
    await this.closing;
    this.store ??= CorpusStore.open(this.dir, { mustExist: true }).catch((error: unknown) => {
      this.store = undefined;
      throw error instanceof StoreOpenError ? new StoreBusyError(error.message) : error;
    });
    return this.store;
  }

  /** Drops a store whose holder left (closing it only releases the dead connection). */
  private forget(): void {
    const lost = this.store;
    this.store = undefined;
    void lost?.then((store) => store.close()).catch(() => undefined);
  }

  private async closeNow(): Promise<void> {
    if (this.users > 0 || !this.store) return;
    // A build going through this viewer would be cut off: stay open until it has gone.
    if (this.guests() > 0) {
      this.idleTimer = setTimeout(() => void this.closeNow(), this.idleMs);
      return;
    }
    const opened = this.store;
    this.store = undefined;
    this.closing = opened.then((store) => store.close()).catch(() => undefined);
    await this.closing;
  }

  /** Closes the store once no other process goes through it; `onWait` hears once how many still do. */
  async close(onWait?: (guests: number) => void): Promise<void> {
    clearTimeout(this.idleTimer);
    if (this.guests() > 0) onWait?.(this.guests());
    while (this.guests() > 0) await new Promise((resolve) => setTimeout(resolve, GUEST_POLL_MS));
    await this.closeNow();
  }
}
