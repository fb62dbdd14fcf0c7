// What the queue holds: jobs per step and state, done and active jobs per worker, and the reasons
// of the jobs that failed for good. Read by `m2rag status` and by `build --queue` while it waits.
import { Queue } from 'bullmq';
import { connectionOf, QUEUE_PREFIX, queueNameOf } from './connection.js';

const STATES = ['waiting', 'waiting-children', 'delayed', 'active', 'completed', 'failed'] as const;

export interface StepStatus {
  step: string;
  counts: Record<(typeof STATES)[number], number>;
  /** Worker name → jobs it finished and jobs it holds now. */
  workers: Record<string, { done: number; active: number }>;
  failed: Array<{ jobId: string; reason: string }>;
}

export async function queueStatus(url: string, steps: readonly string[], options: { details?: boolean } = {}): Promise<StepStatus[]> {
  const statuses: StepStatus[] = [];
  for (const step of steps) {
    const queue = new Queue(queueNameOf(step), { connection: connectionOf(url), prefix: QUEUE_PREFIX });
    try {
      const counts = (await queue.getJobCounts(...STATES)) as StepStatus['counts'];
      const workers: StepStatus['workers'] = {};
      const failed: StepStatus['failed'] = [];
      if (options.details) {
        for (const job of await queue.getJobs(['completed', 'active'])) {
          const name = job.processedBy ?? 'unknown';
          const entry = (workers[name] ??= { done: 0, active: 0 });
          if (job.finishedOn) entry.done++;
          else entry.active++;
        }
        for (const job of await queue.getFailed()) failed.push({ jobId: job.id ?? '?', reason: job.failedReason });
      }
      statuses.push({ step, counts, workers, failed });
    } finally {
      await queue.close();
    }
  }
  return statuses;
}

/** Waits until each of `jobIds` (in the last step's queue) completed or failed, calling `onTick` about once a second. */
export async function waitForJobs(url: string, step: string, jobIds: readonly string[], onTick: () => Promise<void>): Promise<{ completed: number; failed: Array<{ jobId: string; reason: string }> }> {
  const queue = new Queue(queueNameOf(step), { connection: connectionOf(url), prefix: QUEUE_PREFIX });
  try {
    for (;;) {
      let completed = 0;
      const failed: Array<{ jobId: string; reason: string }> = [];
      for (const id of jobIds) {
        const state = await queue.getJobState(id);
        if (state === 'completed') completed++;
        else if (state === 'failed') failed.push({ jobId: id, reason: (await queue.getJob(id))?.failedReason ?? 'unknown' });
      }
      if (completed + failed.length === jobIds.length) return { completed, failed };
      await onTick();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  } finally {
    await queue.close();
  }
}
