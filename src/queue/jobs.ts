// The jobs of a queued build: one per query per step, chained with a BullMQ flow so a query's
// `process` job waits for its `crawl` job. Job ids are stable (step and query id), so queueing the
// same build twice adds nothing, and a job BullMQ hands to another worker writes the same records.
import { FlowProducer, type FlowJob } from 'bullmq';
import type { Config } from '../core/config.js';
import type { Query } from '../../storage/index.js';
import { connectionOf, QUEUE_PREFIX, queueNameOf } from './connection.js';

export interface StepJobData {
  step: string;
  /** The steps before this one, in order; a worker whose shard lacks them for the query runs them first. */
  earlier: string[];
  config: Config;
  query: Query;
}

/** What a worker returns for a finished job (kept by BullMQ for `m2rag status`). */
export interface StepJobResult {
  worker: string;
  counts: Record<string, number>;
}

export const JOB_ATTEMPTS = 3;

export function jobIdOf(step: string, queryId: string): string {
  return `${step}.${queryId}`;
}

function flowOf(steps: readonly string[], config: Config, query: Query): FlowJob {
  let flow: FlowJob | undefined;
  steps.forEach((step, i) => {
    const job: FlowJob = {
      name: step,
      queueName: queueNameOf(step),
      data: { step, earlier: steps.slice(0, i), config, query } satisfies StepJobData,
      opts: {
        jobId: jobIdOf(step, query.id),
        attempts: JOB_ATTEMPTS,
        backoff: { type: 'exponential', delay: 1_000 },
        failParentOnFailure: true,
      },
      children: flow ? [flow] : undefined,
    };
    flow = job;
  });
  return flow!;
}

/** Queues every step of every query; returns the id of each query's last job (done once the query is). */
export async function enqueueSteps(url: string, steps: readonly string[], config: Config, queries: readonly Query[]): Promise<string[]> {
  const producer = new FlowProducer({ connection: connectionOf(url), prefix: QUEUE_PREFIX });
  try {
    await producer.addBulk(queries.map((query) => flowOf(steps, config, query)));
  } finally {
    await producer.close();
  }
  return queries.map((query) => jobIdOf(steps.at(-1)!, query.id));
}
