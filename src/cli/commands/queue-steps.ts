// `--queue redis://…` on the commands of map steps (`build`, `crawl`): instead of running here, the
// command queues one job per query per step for `m2rag worker`s and, unless --no-wait, shows progress
// until every query's last job has ended. The corpus-wide steps are left to `m2rag merge`.
import type { Command } from 'commander';
import type { Config } from '../../core/config.js';
import { StageFailedError, UserError } from '../../core/errors.js';
import { readQueriesFile } from '../../core/queries.js';
import { MAP_STEPS, REDUCE_STEPS } from '../../queue/steps.js';

/** The flags `--queue` adds; `queries` and `worldSize` come from the command's own options. */
export interface QueueFlags {
  queue?: string;
  wait: boolean;
}

export function addQueueOptions(command: Command): Command {
  return command
    .option('--queue <url>', 'queue the work as jobs on this Redis server (redis://host:port) for `m2rag worker`s instead of running it here')
    .option('--no-wait', 'with --queue: return once the jobs are queued');
}

/** Queues `steps` (map steps; `filter` only when the config enables it) for every query of the queries file. */
export async function queueSteps(
  options: { queries: string; worldSize: number; queue: string; wait: boolean },
  config: () => Promise<Config>,
  requested: readonly (typeof MAP_STEPS)[number][],
): Promise<void> {
  if (options.worldSize > 1) {
    throw new UserError(`--world-size cannot be combined with --queue: the workers share the queued jobs, and ${REDUCE_STEPS.join(', ')} (text dedup, image clustering) cannot be sharded: \`m2rag merge\` runs them once`);
  }
  const checked = await config();
  const steps = requested.filter((step) => step !== 'filter' || checked.filter.enabled);
  const { queries } = await readQueriesFile(options.queries);
  const createdAt = new Date(0).toISOString();
  const records = queries.map((q) => ({ id: q.id, query: q.query, topic: q.topic, urls: q.urls, createdAt }));
  // BullMQ and its Redis client load only for a queued build.
  const [{ enqueueSteps }, { queueStatus, waitForJobs }] = await Promise.all([import('../../queue/jobs.js'), import('../../queue/status.js')]);
  const lastJobs = await enqueueSteps(options.queue, steps, checked, records);
  process.stderr.write(`queued ${records.length} queries × ${steps.length} steps (${steps.join(' → ')}) on ${options.queue}\n`);
  if (!options.wait) return;
  const { failed } = await waitForJobs(options.queue, steps.at(-1)!, lastJobs, async () => {
    const line = (await queueStatus(options.queue, steps)).map(({ step, counts }) => `${step} ${counts.completed}/${lastJobs.length}${counts.failed ? ` (${counts.failed} failed)` : ''}`);
    process.stderr.write(`progress: ${line.join(', ')}\n`);
  });
  if (failed.length > 0) {
    throw new StageFailedError(`${failed.length} of ${lastJobs.length} queries failed for good (first: ${failed[0]!.jobId}: ${failed[0]!.reason}); see \`m2rag status --queue ${options.queue}\``);
  }
  process.stderr.write(`done: ${lastJobs.length} queries crawled by the workers; \`m2rag merge --out <store> <shard>…\` merges their shards and runs ${REDUCE_STEPS.join(' → ')} once over the whole\n`);
}
