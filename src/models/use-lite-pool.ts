// Universal Sentence Encoder lite on worker threads (piscina), one model per thread, so every core
// runs the single-threaded WASM matmuls. A thread that crashes rejects the batch it held (the caller
// records it as a failure) and piscina starts a fresh one; `close` ends every thread.
import type { Piscina } from 'piscina';
import { threadPool } from '../core/threads/pool.js';

export class UseLitePool {
  private readonly pool: Piscina;

  constructor(threads: number) {
    // Idle threads are kept for the whole command: each holds a loaded model (seconds to load again).
    this.pool = threadPool({ module: new URL('./use-lite-worker.ts', import.meta.url), threads, idleTimeoutMs: 2 ** 31 - 1 });
  }

  get threads(): number {
    return this.pool.threads.length;
  }

  embedBatch(texts: string[]): Promise<Float32Array[]> {
    return this.pool.run(texts) as Promise<Float32Array[]>;
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
