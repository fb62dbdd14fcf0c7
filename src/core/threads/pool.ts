// A pool of worker threads running one TypeScript module's default export (piscina, through
// ts-thread.js). Used for synchronous work that must not hold the main thread's event loop, or that
// needs every core: a crawl's page parsing, a page's main-content extraction under a time limit,
// the embedded text encoder.
import { Piscina } from 'piscina';

export interface ThreadPoolOptions {
  /** The module whose default export each task runs (a file URL). */
  module: URL;
  threads: number;
  /** How long an idle thread lives (default a minute); a thread that holds a loaded model is kept longer. */
  idleTimeoutMs?: number;
}

/** Piscina over `module`; a thread that cannot start fails the task it was given, the pool itself never throws. */
export function threadPool({ module, threads, idleTimeoutMs = 60_000 }: ThreadPoolOptions): Piscina {
  const pool = new Piscina({
    filename: new URL('./ts-thread.js', import.meta.url).href,
    workerData: { module: module.href },
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: idleTimeoutMs,
  });
  pool.on('error', () => undefined);
  return pool;
}
