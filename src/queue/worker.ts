// A worker process's side of the queue: one BullMQ worker per step queue, each running the step's
// jobs through the handler the CLI gives it (the same stage code a local build runs). A job whose
// worker dies stalls; once its lock runs out BullMQ hands it to another worker.
import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import { connectionOf, QUEUE_PREFIX, queueNameOf } from './connection.js';
import type { StepJobData, StepJobResult } from './jobs.js';

/** Times a job may stall (its worker died or froze) before it fails for good. */
const MAX_STALLS = 5;

export interface WorkerOptions {
  steps: readonly string[];
  /** Jobs one worker process runs at once, per step. */
  concurrency: number;
  /** How long a job's lock lasts without renewal before the job counts as stalled (M2RAG_QUEUE_LOCK_MS). */
  lockMs: number;
}

export interface RunningWorkers {
  name: string;
  close(): Promise<void>;
}

export function workerName(): string {
  return `${hostname()}:${process.pid}`;
}

export async function startWorkers(url: string, options: WorkerOptions, handle: (data: StepJobData) => Promise<Record<string, number>>): Promise<RunningWorkers> {
  const name = workerName();
  const workers = options.steps.map(
    (step) =>
      new Worker<StepJobData, StepJobResult>(queueNameOf(step), async (job) => ({ worker: name, counts: await handle(job.data) }), {
        connection: connectionOf(url),
        prefix: QUEUE_PREFIX,
        name,
        concurrency: options.concurrency,
        lockDuration: options.lockMs,
        stalledInterval: Math.max(Math.floor(options.lockMs / 2), 500),
        // A model load can hold the event loop past a short lock; such a job is handed on, not failed.
        maxStalledCount: MAX_STALLS,
      }),
  );
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  return { name, close: async () => void (await Promise.all(workers.map((worker) => worker.close()))) };
}
