// A pool of worker threads running one TypeScript module's default export (piscina, through
// ts-thread.cjs). Used for synchronous work that must not hold the main thread's event loop, or that
// needs every core: a crawl's page parsing, a page's main-content extraction under a time limit,
// the embedded text encoder.
import pLimit, { type LimitFunction } from 'p-limit';
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
    filename: new URL('./ts-thread.cjs', import.meta.url).href,
    workerData: { module: module.href },
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: idleTimeoutMs,
  });
  pool.on('error', () => undefined);
  return pool;
}

export type TimedResult<T> = { ok: true; value: T } | { ok: false; timedOut: true } | { ok: false; timedOut: false; error: Error };

function isTimeout(error: Error): boolean {
  return error.name === 'AbortError' || error.name === 'TimeoutError' || (error.cause as { name?: string } | undefined)?.name === 'TimeoutError';
}

/**
 * Tasks on worker threads under a time limit, for synchronous work that may run away on some input:
 * a task past the limit has its thread terminated (piscina replaces it) and comes back as timed out.
 * The limit times the work, not a thread's start-up (seconds under tsx): a small `warmUp` task loads
 * each new thread's modules first. Nor does it time a wait for a free thread: tasks are handed over
 * only as threads come free (the clock starts when piscina takes a task, queued or not).
 */
export class TimedThreadPool<In, Out> {
  private readonly pool: Piscina;
  private readonly free: LimitFunction;
  private warm: Promise<unknown>;

  constructor(private readonly options: ThreadPoolOptions & { timeoutMs: number; warmUp: In }) {
    this.pool = threadPool(options);
    this.free = pLimit(options.threads);
    this.warm = this.warmUp();
  }

  private warmUp(): Promise<unknown> {
    return this.pool.run(this.options.warmUp).catch(() => undefined);
  }

  run(input: In): Promise<TimedResult<Out>> {
    return this.free(() => this.runNow(input));
  }

  private async runNow(input: In): Promise<TimedResult<Out>> {
    await this.warm;
    try {
      return { ok: true, value: (await this.pool.run(input, { signal: AbortSignal.timeout(this.options.timeoutMs) })) as Out };
    } catch (error) {
      if (!isTimeout(error as Error)) return { ok: false, timedOut: false, error: error as Error };
      this.warm = this.warmUp();
      return { ok: false, timedOut: true };
    }
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
